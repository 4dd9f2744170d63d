"""Reading one uploaded file as a build would, in a process of its own:
`python -m ingest.probe [--memory-mb N] FILE` prints {"chunks": n, "records": n} or {"error": "…"} as
JSON and exits 0 (read) or 1 (refused). With --memory-mb the process limits its own address space first,
and the caller limits its time, so a file that would exhaust the server only ends this process."""

from __future__ import annotations

import argparse
import json
import resource
import sys
from pathlib import Path

from ingest.collect import collect


def probe(path: Path) -> dict[str, object]:
    """What a build would make of `path`: its chunks and records, or why it cannot be read."""
    [report] = collect([path]).files or [None]
    if report is None:
        return {"error": "没有读到任何内容 / nothing was read"}
    if report.error is not None:
        return {"error": report.error}
    if report.skipped is not None:
        return {"error": report.skipped}
    return {"chunks": report.chunks, "records": report.records}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest.probe")
    parser.add_argument("--memory-mb", type=int, default=None)
    parser.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    if args.memory_mb is not None:
        size = args.memory_mb << 20
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
    try:
        result = probe(args.file)
    except MemoryError:
        result = {
            "error": f"读取时超出内存限制（{args.memory_mb} MB）/ reading it exceeded {args.memory_mb} MB"
        }
    print(json.dumps(result, ensure_ascii=False))
    return 1 if "error" in result else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
