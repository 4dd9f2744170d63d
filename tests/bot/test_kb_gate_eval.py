"""The admin release gate on several golden files: a question set and a dialogue file measured together
under one fingerprint, and a candidate held back by a lower dialogue pass rate although its hit@5 is
not lower."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from bot.service.kb_jobs import KnowledgeJobs
from bot.store import Store
from config.errors import ReloadRefused
from config.settings import Settings
from ingest.build import build_knowledge_base
from knowledge.embeddings import UniversalSentenceEncoder
from knowledge.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
QUESTIONS = [{"id": "q1", "question": "对标达标是干什么的", "relevant": [{"faq": "什么是对标达标？"}]}]
DIALOGUES = [
    {
        "id": "d1",
        "note": "a catalogue answer: only a version built with the catalogue passes",
        "turns": [{"user": "GB/T 19001-2016 还有效吗", "contains": ["现行"], "mode": "catalog"}],
    }
]


def write_jsonl(path: Path, rows: Sequence[Mapping[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


@pytest.fixture
def jobs(tmp_path: Path, migrated_sqlite_file: Path) -> Iterator[KnowledgeJobs]:
    if not (SAMPLE / "faq.csv").is_file():
        pytest.skip("data/sample is missing")
    golden = [write_jsonl(tmp_path / "q.jsonl", QUESTIONS), write_jsonl(tmp_path / "d.jsonl", DIALOGUES)]
    settings = Settings.model_validate(
        {"data_dir": tmp_path / "var", "embedding": {"backend": "use"}, "kb": {"golden_set": golden}}
    )
    embeddings = UniversalSentenceEncoder()
    build_knowledge_base([SAMPLE], settings, embeddings=embeddings)  # v1, active
    build_knowledge_base([SAMPLE / "faq.csv"], settings, activate=False, embeddings=embeddings)  # v2
    shutil.copyfile(migrated_sqlite_file, tmp_path / "stdbot.db")
    store = Store(f"sqlite:///{tmp_path / 'stdbot.db'}")
    yield KnowledgeJobs(settings, store, lambda: embeddings)
    store.close()


def test_a_lower_dialogue_pass_rate_holds_the_candidate_back(jobs: KnowledgeJobs) -> None:
    golden = jobs.golden_set()
    assert golden is not None
    assert golden.fingerprint.startswith("q.jsonl@") and "+d.jsonl@" in golden.fingerprint
    jobs.start_evaluation("staff:boss", 2)
    status = jobs.wait(120)
    assert status is not None and status.state == "done", status
    measured = jobs.measured(golden)
    assert set(measured) == {1, 2}
    assert measured[2]["hit@5"] == measured[1]["hit@5"] == 1.0
    assert (measured[1]["dialogue_pass"], measured[2]["dialogue_pass"]) == (1.0, 0.0)
    decision = jobs.decide(2)
    assert not decision.allowed and decision.reason == "worse" and decision.metric == "dialogue_pass"
    with pytest.raises(ReloadRefused, match="dialogue_pass"):
        jobs.activate("staff:boss", 2, insist=False)
    assert Registry(jobs.settings.data_dir).read().active == 1
    jobs.activate("staff:boss", 2, insist=True)
    assert Registry(jobs.settings.data_dir).read().active == 2
