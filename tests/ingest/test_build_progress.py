"""Builds report embedding progress and share a build cache across data directories."""

from __future__ import annotations

from pathlib import Path

from config.settings import EmbeddingSettings, Settings
from ingest.build import build_knowledge_base
from knowledge.embeddings import UniversalSentenceEncoder


def _sources(root: Path) -> Path:
    folder = root / "sources"
    folder.mkdir()
    rows = "".join(f"第{i}个问题是什么,这是第{i}个回答。\n" for i in range(1, 80))
    (folder / "faq.csv").write_text("问题,答案\n" + rows, encoding="utf-8")
    return folder


def test_progress_counts_every_chunk_and_a_shared_cache_skips_embedding(tmp_path: Path) -> None:
    folder = _sources(tmp_path)
    embeddings = UniversalSentenceEncoder()
    shared = EmbeddingSettings(backend="use", cache_dir=tmp_path / "cache")
    seen: list[tuple[int, int]] = []

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "embed":
            seen.append((done, total))

    first = build_knowledge_base(
        [folder],
        Settings(data_dir=tmp_path / "a", embedding=shared),
        embeddings=embeddings,
        progress=progress,
    )
    assert first.embedded == first.chunks == 79
    done = [d for d, _ in seen]
    assert len(done) >= 3 and done == sorted(done) and done[-1] == 79
    assert {t for _, t in seen} == {79}

    seen.clear()
    second = build_knowledge_base(
        [folder],
        Settings(data_dir=tmp_path / "b", embedding=shared),
        embeddings=embeddings,
        progress=progress,
    )
    assert second.cached == 79 and second.embedded == 0
    assert seen[:2] == [(0, 79), (79, 79)]  # the cached vectors count at once
    assert (tmp_path / "cache" / "build_cache.sqlite").is_file()
    assert not (tmp_path / "b" / "build_cache.sqlite").exists()
