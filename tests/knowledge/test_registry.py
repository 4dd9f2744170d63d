from __future__ import annotations

import json
from multiprocessing import get_context
from pathlib import Path

import pytest

from config.errors import KnowledgeBaseError
from knowledge.registry import Registry, VersionInfo


def _info(version: int) -> VersionInfo:
    return VersionInfo(version, f"stdbot_kb_v{version}", "2026-11-21T00:00:00+00:00", "use", 10, 2, ("a.md",))


def test_add_activate_and_rollback(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    assert registry.read().active is None
    first, second = registry.reserve(), registry.reserve()
    assert (first, second) == (1, 2)
    registry.add(_info(first), activate=True)
    registry.add(_info(second), activate=True)
    assert registry.read().active == 2
    assert registry.rollback().active == 1
    with pytest.raises(KnowledgeBaseError, match="回滚"):
        registry.rollback()
    assert registry.activate(2).active == 2
    assert registry.read().history == (1,)


def test_not_activated_build_leaves_active_alone(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    registry.add(_info(registry.reserve()), activate=True)
    registry.add(_info(registry.reserve()), activate=False)
    state = registry.read()
    assert state.active == 1
    assert [v.version for v in state.versions] == [1, 2]


def test_activate_unknown_version_is_refused(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    registry.add(_info(registry.reserve()), activate=True)
    with pytest.raises(KnowledgeBaseError, match="7"):
        registry.activate(7)
    assert registry.read().active == 1


def test_corrupt_registry_is_reported(tmp_path: Path) -> None:
    (tmp_path / "registry.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="registry"):
        Registry(tmp_path).read()


def test_written_file_is_complete_json(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    registry.add(_info(registry.reserve()), activate=True)
    data = json.loads((tmp_path / "registry.json").read_text(encoding="utf-8"))
    assert data["active"] == 1 and data["versions"][0]["sources"] == ["a.md"]
    assert not (tmp_path / "registry.tmp").exists()


def _reserve(path: str) -> int:
    return Registry(Path(path)).reserve()


def test_concurrent_reservations_never_share_a_number(tmp_path: Path) -> None:
    with get_context("spawn").Pool(4) as pool:
        numbers = pool.map(_reserve, [str(tmp_path)] * 12)
    assert sorted(numbers) == list(range(1, 13))
