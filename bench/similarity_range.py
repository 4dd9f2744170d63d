"""Where an embedding model's question-to-passage cosines sit: for each golden question, the
similarity of its right passage, of the best wrong passage, and for escalation questions (nothing in
the knowledge base answers them) of the best passage at all. Calibrates `similarity_range`, the
span the confidence formula ramps the top passage's similarity over.

    python bench/similarity_range.py DATA_DIR GOLDEN... [--backend e5|use|minilm]

DATA_DIR is a data directory built with `stdbot ingest` by the same embedder. Use tuned sets only
(tests/golden/sample.jsonl, bench/golden/corpus.jsonl), never the held-out ones.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from retrieval import embedding_settings  # noqa: E402

from config.settings import EmbeddingSettings, RetrievalSettings, Settings  # noqa: E402
from knowledge.evaluation import load_golden  # noqa: E402
from knowledge.kb import open_knowledge_base  # noqa: E402

QUANTILES = (0.10, 0.25, 0.50, 0.75, 0.90)


def similarities(data_dir: Path, goldens: list[Path], backend: str) -> dict[str, list[float]]:
    """Cosines of right passages, best wrong passages and escalations' best passages."""
    plain = {"standard_boost": 0.0, "source_boost": 0.0, "authority_boost": 0.0, "local_penalty": 0.0}
    settings = Settings(
        data_dir=data_dir,
        embedding=EmbeddingSettings(**embedding_settings(backend)),
        retrieval=RetrievalSettings(bm25_weight=0, dense_weight=1, candidates=200, **plain),
    )
    retriever = open_knowledge_base(settings).retriever
    titles = frozenset(c.source for c in retriever.chunks)
    found: dict[str, list[float]] = {"right": [], "best wrong": [], "escalation best": []}
    for golden in goldens:
        for question in load_golden(golden):
            hits = retriever.search(question.question, 200)
            if not hits:
                continue
            if not question.relevant:
                found["escalation best"].append(hits[0].dense_similarity or 0.0)
                continue
            right = [h for h in hits if any(r.matches(h, titles) for r in question.relevant)]
            wrong = [h for h in hits if h not in right]
            if right:
                found["right"].append(right[0].dense_similarity or 0.0)
            if wrong:
                found["best wrong"].append(wrong[0].dense_similarity or 0.0)
    return found


def _quantiles(values: list[float]) -> list[float]:
    cuts = statistics.quantiles(values, n=20, method="inclusive")
    return [cuts[round(q * 20) - 1] for q in QUANTILES]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("golden", type=Path, nargs="+")
    parser.add_argument("--backend", default="e5", choices=("e5", "use", "minilm"))
    args = parser.parse_args()
    found: dict[str, Any] = similarities(args.data_dir, args.golden, args.backend)
    print(f"| {args.backend} | n | " + " | ".join(f"p{round(q * 100)}" for q in QUANTILES) + " |")
    print("|---|---|" + "---|" * len(QUANTILES))
    for name, values in found.items():
        if len(values) >= 2:
            cells = " | ".join(f"{v:.3f}" for v in _quantiles(values))
            print(f"| {name} | {len(values)} | {cells} |")


if __name__ == "__main__":
    main()
