"""`python -m ingest.current` tells `make run` whether the active version fits the configured model."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import EmbeddingSettings, Settings
from ingest.build import build_knowledge_base
from ingest.current import active_is_current, main
from knowledge.embeddings import UniversalSentenceEncoder


def test_a_version_built_with_another_model_is_not_current(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "sources"
    folder.mkdir()
    (folder / "faq.csv").write_text("问题,答案\n企业标准要公开吗,要。\n", encoding="utf-8")
    data_dir = tmp_path / "var"
    use = Settings(data_dir=data_dir, embedding=EmbeddingSettings(backend="use"))
    assert not active_is_current(use)
    build_knowledge_base([folder], use, embeddings=UniversalSentenceEncoder())
    assert active_is_current(use)
    assert not active_is_current(Settings(data_dir=data_dir, embedding=EmbeddingSettings(backend="e5")))
    monkeypatch.setenv("STDBOT_EMBEDDING__BACKEND", "e5")
    assert main(["--data-dir", str(data_dir)]) == 1
    monkeypatch.setenv("STDBOT_EMBEDDING__BACKEND", "use")
    assert main(["--data-dir", str(data_dir)]) == 0
    assert main(["--data-dir", str(tmp_path / "empty")]) == 1
