"""The knowledge-base holder swaps in a newly activated version, rolls back, and survives a bad version."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.service.kb_holder import KnowledgeAnswerSource, KnowledgeBaseHolder
from config.errors import KnowledgeBaseError
from config.settings import Settings
from ingest.build import build_knowledge_base
from knowledge.embeddings import UniversalSentenceEncoder
from knowledge.registry import Registry
from knowledge.version_files import CHUNKS_FILE

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
V2_QUESTION = "热线的第二版知识库有什么新内容？"
V2_FAQ = f"问题,答案,依据,分类\n{V2_QUESTION},第二版知识库新增了热线夜间值班安排。,,测试\n"
CHECK_S = 5.0


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def embeddings() -> UniversalSentenceEncoder:
    return UniversalSentenceEncoder()


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory, embeddings: UniversalSentenceEncoder) -> Path:
    """v1 from data/sample, v2 from one other FAQ, v3 like v2 but with its files damaged."""
    if not (SAMPLE / "faq.csv").is_file():
        pytest.skip("data/sample is missing")
    data_dir = tmp_path_factory.mktemp("holder") / "var"
    settings = Settings(data_dir=data_dir)
    other = tmp_path_factory.mktemp("v2") / "faq.csv"
    other.write_text(V2_FAQ, encoding="utf-8")
    assert build_knowledge_base([SAMPLE], settings, embeddings=embeddings).version == 1
    assert build_knowledge_base([other], settings, activate=False, embeddings=embeddings).version == 2
    assert build_knowledge_base([other], settings, activate=False, embeddings=embeddings).version == 3
    (Registry(data_dir).version_dir(3) / CHUNKS_FILE).unlink()
    return data_dir


@pytest.fixture
def data_dir(versions: Path) -> Iterator[Path]:
    """The module's knowledge base with v1 active at the start of each test."""
    Registry(versions).activate(1)
    yield versions


def holder_for(data_dir: Path, embeddings: UniversalSentenceEncoder, clock: Clock) -> KnowledgeBaseHolder:
    return KnowledgeBaseHolder(
        Settings(data_dir=data_dir), reload_check_s=CHECK_S, embeddings=embeddings, clock=clock
    )


def test_a_new_active_version_is_served_within_the_check_interval_and_rollback_returns(
    data_dir: Path, embeddings: UniversalSentenceEncoder
) -> None:
    clock = Clock()
    holder = holder_for(data_dir, embeddings, clock)
    source = KnowledgeAnswerSource(holder)
    assert holder.current()[0].version == 1
    assert "夜间值班" not in source.answer(V2_QUESTION, "c1").text

    Registry(data_dir).activate(2)
    clock.now += CHECK_S / 2
    assert holder.current()[0].version == 1  # not re-checked before the interval is up
    clock.now += CHECK_S / 2
    assert holder.current()[0].version == 2
    assert "夜间值班" in source.answer(V2_QUESTION, "c1").text

    Registry(data_dir).rollback()
    clock.now += CHECK_S
    assert holder.version == 2
    assert holder.current()[0].version == 1
    answer = source.answer("企业标准要公开吗", "c2")
    assert "《中华人民共和国标准化法》第二十七条" in [c.label for c in answer.citations]


def test_answers_in_flight_keep_their_version_and_memory_is_shared(
    data_dir: Path, embeddings: UniversalSentenceEncoder
) -> None:
    clock = Clock()
    holder = holder_for(data_dir, embeddings, clock)
    kb1, answerer1 = holder.current()
    answerer1.ask("企业标准要公开吗", conversation="c")
    Registry(data_dir).activate(2)
    clock.now += CHECK_S
    kb2, answerer2 = holder.current()
    assert (kb1.version, kb2.version) == (1, 2)
    assert answerer1.kb is kb1  # the old pair is untouched and still answers from v1
    assert answerer1.ask("企业标准要公开吗").mode == "faq"
    assert answerer2.memory is answerer1.memory is holder.memory
    assert answerer2.memory.previous("c") == "企业标准要公开吗"


def test_a_version_that_cannot_be_opened_keeps_the_old_one(
    data_dir: Path, embeddings: UniversalSentenceEncoder, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    holder = holder_for(data_dir, embeddings, clock)
    assert holder.current()[0].version == 1
    Registry(data_dir).activate(3)
    clock.now += CHECK_S
    with caplog.at_level(logging.ERROR, logger="bot.service.kb_holder"):
        kb, answerer = holder.current()
    assert kb.version == 1 and answerer.ask("企业标准要公开吗").mode == "faq"
    assert "reload failed" in caplog.text
    Registry(data_dir).activate(2)  # fixed by activating a good version: picked up at the next check
    clock.now += CHECK_S
    assert holder.current()[0].version == 2


def test_check_looks_now(data_dir: Path, embeddings: UniversalSentenceEncoder) -> None:
    holder = holder_for(data_dir, embeddings, Clock())
    assert holder.current()[0].version == 1
    Registry(data_dir).activate(2)
    assert holder.check() == 2


def test_swaps_under_concurrent_readers_are_consistent(
    data_dir: Path, embeddings: UniversalSentenceEncoder
) -> None:
    holder = KnowledgeBaseHolder(Settings(data_dir=data_dir), reload_check_s=0.0, embeddings=embeddings)
    seen: set[int] = set()
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                kb, answerer = holder.current()
                assert answerer.kb is kb
                seen.add(kb.version)
            except BaseException as exc:
                errors.append(exc)
                return

    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    registry = Registry(data_dir)
    for version in (2, 1, 2):
        registry.activate(version)
        deadline = time.monotonic() + 10
        while holder.version != version and time.monotonic() < deadline:
            time.sleep(0.01)
        assert holder.version == version
    stop.set()
    for reader in readers:
        reader.join(10)
    assert not errors
    assert seen == {1, 2}


def test_without_a_knowledge_base_current_raises_until_one_is_built(
    tmp_path: Path, embeddings: UniversalSentenceEncoder
) -> None:
    holder = KnowledgeBaseHolder(Settings(data_dir=tmp_path), embeddings=embeddings, clock=Clock())
    with pytest.raises(KnowledgeBaseError):
        holder.current()
    assert not holder.loaded and holder.version is None
    faq = tmp_path / "faq.csv"
    faq.write_text(V2_FAQ, encoding="utf-8")
    build_knowledge_base([faq], Settings(data_dir=tmp_path), embeddings=embeddings)
    assert holder.current()[0].version == 1 and holder.loaded
