"""One conversation at a time, across threads and worker processes.

`ConversationLocks(store_url).hold(key)` takes an in-process lock for the key, then a lock every process
sees: a PostgreSQL advisory lock on a dedicated connection, or for SQLite an `flock` on one of a fixed
number of lock files next to the database (keys share files by hash, so unrelated conversations may
briefly wait for each other, never run together with their own). A PostgreSQL lock that cannot be taken
because the database is away raises StoreUnavailable, like the store."""

from __future__ import annotations

import fcntl
import logging
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.store.engine import CONNECT_TIMEOUT_S, translate
from config.errors import SettingsError

log = logging.getLogger(__name__)

LOCK_BUCKETS = 256
# The first key of PostgreSQL's two-key advisory locks: keeps stdbot's locks apart from other users'.
PG_NAMESPACE = 0x5D_B0_7C
_PG_LOCK = text("SELECT pg_advisory_lock(:namespace, hashtext(:key))")
_PG_UNLOCK = text("SELECT pg_advisory_unlock(:namespace, hashtext(:key))")


class _KeyedLocks:
    """A threading lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        with self._guard:
            return len(self._locks)


class _BucketFlocks:
    """`flock`s on a fixed set of bucket files, taken once per process: threads of this process queue on a
    re-entrant lock per bucket, and the thread holding a bucket may take another key of it again (nested
    locks whose keys share a file must not wait for their own process)."""

    def __init__(self, lock_dir: Path) -> None:
        self.lock_dir = lock_dir
        self._guard = threading.Lock()
        self._buckets: dict[int, threading.RLock] = {}
        self._depth: dict[int, int] = {}
        self._files: dict[int, IO[bytes]] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        bucket = zlib.crc32(key.encode("utf-8")) % LOCK_BUCKETS
        with self._guard:
            lock = self._buckets.setdefault(bucket, threading.RLock())
        with lock:
            if self._depth.get(bucket, 0) == 0:
                handle = (self.lock_dir / f"{bucket:03d}.lock").open("a+b")
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX)
                except BaseException:
                    handle.close()
                    raise
                self._files[bucket] = handle
            self._depth[bucket] = self._depth.get(bucket, 0) + 1
            try:
                yield
            finally:
                self._depth[bucket] -= 1
                if self._depth[bucket] == 0:
                    held = self._files.pop(bucket)
                    fcntl.flock(held, fcntl.LOCK_UN)
                    held.close()


class ConversationLocks:
    """Serialises work on one conversation key across threads and processes sharing a store."""

    def __init__(self, store_url: str | URL, *, lock_dir: Path | None = None, pool_size: int = 5) -> None:
        url = make_url(store_url)
        self._local = _KeyedLocks()
        self._engine: Engine | None = None
        self._lock_dir: Path | None = None
        self._flocks: _BucketFlocks | None = None
        if url.get_backend_name() == "postgresql":
            psycopg = url.get_driver_name() == "psycopg"
            connect_args = {"connect_timeout": CONNECT_TIMEOUT_S} if psycopg else {}
            self._engine = create_engine(
                url, pool_size=pool_size, max_overflow=20, pool_pre_ping=True, connect_args=connect_args
            )
        elif url.get_backend_name() == "sqlite":
            database = url.database
            if lock_dir is not None:
                self._lock_dir = lock_dir
            elif database and database != ":memory:" and not database.startswith("file:"):
                self._lock_dir = Path(database).resolve().parent / "locks"
            # an in-memory database lives in one process: the thread locks are enough
        else:
            raise SettingsError(f"不支持的数据库 / unsupported database for locks: {url.get_backend_name()}")
        if self._lock_dir is not None:
            self._lock_dir.mkdir(parents=True, exist_ok=True)
            self._flocks = _BucketFlocks(self._lock_dir)

    @property
    def kind(self) -> str:
        """ "postgresql", "flock" or "thread": what holds across processes."""
        return "postgresql" if self._engine else "flock" if self._lock_dir else "thread"

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        """Run the block while no other thread or process holds `key`."""
        with self._local.hold(key):
            if self._engine is not None:
                with self._advisory(self._engine, key):
                    yield
            elif self._flocks is not None:
                with self._flocks.hold(key):
                    yield
            else:
                yield

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    @staticmethod
    @contextmanager
    def _advisory(engine: Engine, key: str) -> Iterator[None]:
        params = {"namespace": PG_NAMESPACE, "key": key}
        with _advisory_connection(engine, params) as connection:
            try:
                yield
            finally:
                try:
                    connection.execute(_PG_UNLOCK, params)
                    connection.commit()
                except Exception as exc:  # the session, and its advisory locks, end with the connection
                    log.warning(
                        "释放会话锁失败，断开连接 / advisory unlock failed, dropping connection: %s", exc
                    )
                    connection.invalidate()


def _advisory_connection(engine: Engine, params: dict[str, object]) -> Connection:
    """A connection holding the advisory lock; StoreUnavailable when the database cannot be reached."""
    try:
        connection = engine.connect()
    except SQLAlchemyError as exc:
        raise translate(exc, engine.url) from None
    try:
        connection.execute(_PG_LOCK, params)
        connection.commit()
    except SQLAlchemyError as exc:
        connection.invalidate()
        connection.close()
        raise translate(exc, engine.url) from None
    return connection
