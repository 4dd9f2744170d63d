"""The registry of knowledge-base versions: which builds exist and which one is active.

One small JSON file, replaced atomically under a file lock, so every process sees either the old
state or the new one, never half of it.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from config.errors import KnowledgeBaseError

REGISTRY_FILE = "registry.json"


@dataclass(frozen=True)
class VersionInfo:
    """One build of the knowledge base."""

    version: int
    collection: str
    created_at: str
    embedding: str
    chunks: int
    records: int
    sources: tuple[str, ...] = ()
    metrics: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VersionInfo:
        return cls(
            version=int(data["version"]),
            collection=data["collection"],
            created_at=data["created_at"],
            embedding=data["embedding"],
            chunks=int(data["chunks"]),
            records=int(data["records"]),
            sources=tuple(data.get("sources", ())),
            metrics={k: float(v) for k, v in data.get("metrics", {}).items()},
        )


@dataclass(frozen=True)
class RegistryState:
    active: int | None
    history: tuple[int, ...]
    versions: tuple[VersionInfo, ...]

    def get(self, version: int) -> VersionInfo:
        for info in self.versions:
            if info.version == version:
                return info
        raise KnowledgeBaseError(f"知识库版本不存在 / no such knowledge-base version: {version}")

    @property
    def active_info(self) -> VersionInfo | None:
        return None if self.active is None else self.get(self.active)


EMPTY = RegistryState(active=None, history=(), versions=())


class Registry:
    """Reads and atomically rewrites `<data_dir>/registry.json`."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / REGISTRY_FILE

    def version_dir(self, version: int) -> Path:
        return self.data_dir / "versions" / f"v{version}"

    def read(self) -> RegistryState:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return EMPTY
        except (OSError, ValueError) as exc:
            raise KnowledgeBaseError(
                f"知识库版本登记文件损坏 / registry unreadable: {self.path}: {exc}"
            ) from None
        return RegistryState(
            active=raw.get("active"),
            history=tuple(raw.get("history", ())),
            versions=tuple(VersionInfo.from_dict(v) for v in raw.get("versions", ())),
        )

    def stamp(self) -> tuple[int, int, int]:
        """Changes whenever the registry is rewritten (each rewrite is a new file, so a new inode even
        within one timestamp tick); cheap to poll."""
        try:
            status = self.path.stat()
        except FileNotFoundError:
            return (0, 0, 0)
        return (status.st_ino, status.st_mtime_ns, status.st_size)

    @contextmanager
    def _locked(self) -> Iterator[RegistryState]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / "registry.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield self.read()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _write(self, state: RegistryState) -> None:
        data = {
            "active": state.active,
            "history": list(state.history),
            "versions": [asdict(v) | {"sources": list(v.sources)} for v in state.versions],
        }
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
        os.replace(tmp, self.path)

    def reserve(self) -> int:
        """The number of the next build; its folder is created so no other build takes it."""
        with self._locked() as state:
            taken = [v.version for v in state.versions]
            folder_root = self.data_dir / "versions"
            if folder_root.exists():
                taken += [int(p.name[1:]) for p in folder_root.iterdir() if p.name[1:].isdigit()]
            version = max(taken, default=0) + 1
            self.version_dir(version).mkdir(parents=True)
            return version

    def add(self, info: VersionInfo, *, activate: bool) -> RegistryState:
        with self._locked() as state:
            versions = (*[v for v in state.versions if v.version != info.version], info)
            new = replace(state, versions=versions)
            if activate:
                new = _activated(new, info.version)
            self._write(new)
            return new

    def activate(self, version: int) -> RegistryState:
        with self._locked() as state:
            state.get(version)
            new = _activated(state, version)
            self._write(new)
            return new

    def rollback(self) -> RegistryState:
        """Make the previously active version active again."""
        with self._locked() as state:
            if not state.history:
                raise KnowledgeBaseError("没有可回滚的上一个版本 / no earlier active version to roll back to")
            previous = state.history[-1]
            new = RegistryState(active=previous, history=state.history[:-1], versions=state.versions)
            self._write(new)
            return new


def _activated(state: RegistryState, version: int) -> RegistryState:
    if state.active == version:
        return state
    history = state.history if state.active is None else (*state.history, state.active)
    return RegistryState(active=version, history=history[-50:], versions=state.versions)
