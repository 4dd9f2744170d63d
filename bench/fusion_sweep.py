"""Hybrid retrieval quality over a grid of `[retrieval]` fusion weights, on one built data directory.

    python bench/fusion_sweep.py DATA_DIR GOLDEN [--backend e5] [--dense 0.4 0.6 1.0] [--rrf-k 20 60]

Tune on the tuned set only (bench/golden/corpus.jsonl); report held-out sets once, at the end, with
bench/retrieval.py.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from retrieval import embedding_settings  # noqa: E402

from config.settings import EmbeddingSettings, RetrievalSettings, Settings  # noqa: E402
from knowledge.evaluation import load_golden  # noqa: E402
from knowledge.kb import open_knowledge_base  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("golden", type=Path)
    parser.add_argument("--backend", default="e5", choices=("e5", "use", "minilm"))
    parser.add_argument("--dense", type=float, nargs="+", default=[0.4, 0.6, 0.8, 1.0, 1.3])
    parser.add_argument("--rrf-k", type=int, nargs="+", default=[20])
    args = parser.parse_args()
    settings = Settings(
        data_dir=args.data_dir, embedding=EmbeddingSettings(**embedding_settings(args.backend))
    )
    retriever = open_knowledge_base(settings).retriever
    titles = frozenset(c.source for c in retriever.chunks)
    questions = [q for q in load_golden(args.golden) if q.relevant]
    print("| dense_weight | rrf_k | hit@1 | hit@5 | MRR |\n|---|---|---|---|---|")
    for dense, rrf_k in itertools.product(args.dense, args.rrf_k):
        retriever.settings = RetrievalSettings(dense_weight=dense, rrf_k=rrf_k)
        ranks: list[int | None] = []
        for q in questions:
            hits = retriever.search(q.question, 10)
            match = (i for i, h in enumerate(hits, 1) if any(r.matches(h, titles) for r in q.relevant))
            ranks.append(next(match, None))
        n = len(questions)
        hit1 = sum(1 for r in ranks if r == 1) / n
        hit5 = sum(1 for r in ranks if r is not None and r <= 5) / n
        mrr = sum(1 / r for r in ranks if r is not None) / n
        print(f"| {dense} | {rrf_k} | {hit1:.3f} | {hit5:.3f} | {mrr:.3f} |")


if __name__ == "__main__":
    main()
