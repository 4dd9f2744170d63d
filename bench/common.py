"""What the latency benchmarks share: a free port, percentiles, the sample golden set's questions."""

from __future__ import annotations

import json
import socket
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "sample.jsonl"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p95 and n in milliseconds (NaN for no values)."""
    if not values:
        return {"p50_ms": float("nan"), "p95_ms": float("nan"), "n": 0.0}
    ordered = sorted(values)
    return {
        "p50_ms": statistics.median(ordered),
        "p95_ms": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
        "n": float(len(ordered)),
    }


def sample_questions() -> list[str]:
    """The answerable single-turn questions of the sample golden set."""
    lines = [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [q["question"] for q in lines if q.get("expect") == "answer" and not q.get("conversation")]
