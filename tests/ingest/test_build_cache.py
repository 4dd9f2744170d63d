from __future__ import annotations

from pathlib import Path

import numpy as np

from ingest.build_cache import BuildCache


class CountingEmbedder:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return np.array([[len(t), ord(t[0]), 1.0] for t in texts], dtype=np.float32)


def test_second_run_embeds_only_new_texts(tmp_path: Path) -> None:
    embed = CountingEmbedder()
    cache = BuildCache(tmp_path / "cache.sqlite")
    first, cached = cache.embed("m", ["甲", "乙乙", "甲"], embed)
    assert cached == 0 and first.shape == (3, 3)
    assert first[0].tolist() == first[2].tolist()
    cache.close()

    cache = BuildCache(tmp_path / "cache.sqlite")
    second, cached = cache.embed("m", ["乙乙", "丙丙丙", "甲"], embed)
    assert cached == 2
    assert embed.calls[-1] == ["丙丙丙"]
    assert second[0].tolist() == first[1].tolist() and second[2].tolist() == first[0].tolist()


def test_model_is_part_of_the_key(tmp_path: Path) -> None:
    embed = CountingEmbedder()
    cache = BuildCache(tmp_path / "cache.sqlite")
    cache.embed("model-a", ["甲"], embed)
    _, cached = cache.embed("model-b", ["甲"], embed)
    assert cached == 0 and len(embed.calls) == 2


def test_tokens_are_cached_per_tokenizer(tmp_path: Path) -> None:
    calls: list[str] = []

    def tokenize(text: str) -> list[str]:
        calls.append(text)
        return list(text)

    cache = BuildCache(tmp_path / "cache.sqlite")
    assert cache.tokens("t1", ["甲乙", "丙"], tokenize) == [["甲", "乙"], ["丙"]]
    cache.close()
    cache = BuildCache(tmp_path / "cache.sqlite")
    assert cache.tokens("t1", ["丙", "丁"], tokenize) == [["丙"], ["丁"]]
    assert calls == ["甲乙", "丙", "丁"]
    cache.tokens("t2", ["丙"], tokenize)
    assert calls[-1] == "丙"
