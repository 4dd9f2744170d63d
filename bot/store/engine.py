"""Engines and transactions: SQLite tuned for several processes, PostgreSQL with pre-ping, and every
database failure turned into a StoreError with a message for people."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from config.errors import StoreError, StoreUnavailable

SQLITE_BUSY_TIMEOUT_MS = 15_000
CONNECT_TIMEOUT_S = 5
WRITE_OPTION = "stdbot_write"
_PASSWORD = re.compile(r"(//[^:/@]*:)[^@]*@")


def parse_url(url: str) -> URL:
    try:
        return make_url(url)
    except (ArgumentError, ValueError) as exc:
        shown = _PASSWORD.sub(r"\1***@", url)
        raise StoreUnavailable(f"数据库地址无效 / invalid database URL {shown!r}: {exc}") from None


def describe(url: URL) -> str:
    """The URL without its password, for messages."""
    return url.render_as_string(hide_password=True)


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def sqlite_file(url: URL) -> str | None:
    """The database file of a SQLite URL, None for an in-memory database."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return database


def create_store_engine(url: URL, *, echo: bool = False) -> Engine:
    """An engine for `url`: SQLite gets WAL, a busy timeout, foreign keys and explicit BEGIN
    (IMMEDIATE for writes, so concurrent writers queue instead of failing); PostgreSQL gets pre-ping
    (survives a server restart) and a connect timeout."""
    try:
        if is_sqlite(url):
            return _sqlite_engine(url, echo=echo)
        connect_args: dict[str, Any] = {}
        if url.get_driver_name() == "psycopg" and "connect_timeout" not in url.query:
            connect_args["connect_timeout"] = CONNECT_TIMEOUT_S
        return create_engine(url, echo=echo, pool_pre_ping=True, connect_args=connect_args)
    except ArgumentError as exc:  # includes NoSuchModuleError: unknown dialect or driver
        raise StoreUnavailable(f"数据库地址无效 / invalid database URL {describe(url)}: {exc}") from None
    except ImportError as exc:
        message = f"数据库驱动未安装 / database driver not installed for {describe(url)}: {exc}"
        raise StoreUnavailable(message) from None


def _sqlite_engine(url: URL, *, echo: bool) -> Engine:
    in_memory = sqlite_file(url) is None
    engine = create_engine(
        url,
        echo=echo,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        **({"poolclass": StaticPool} if in_memory else {}),
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver must not BEGIN on its own; see _begin
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


class Transactions:
    """Opens sessions that commit on success, roll back on any error and translate database errors."""

    def __init__(self, engine: Engine, url: URL) -> None:
        self._url = url
        # An in-memory SQLite database is one connection shared by all threads: they take turns.
        shared = is_sqlite(url) and sqlite_file(url) is None
        self._one_at_a_time: AbstractContextManager[Any] = threading.Lock() if shared else nullcontext()
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._write = sessionmaker(engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False)

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self._session(self._write) as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._session(self._read) as session:
            yield session

    @contextmanager
    def _session(self, factory: sessionmaker[Session]) -> Iterator[Session]:
        with self._one_at_a_time:
            session = factory()
            try:
                yield session
                session.commit()
            except BaseException as exc:
                _rollback_quietly(session)
                if isinstance(exc, SQLAlchemyError):
                    raise translate(exc, self._url) from None
                raise
            finally:
                session.close()


def _rollback_quietly(session: Session) -> None:
    with suppress(SQLAlchemyError):  # the connection is gone; the server discards the transaction with it
        session.rollback()


def translate(exc: SQLAlchemyError, url: URL) -> StoreError:
    """A StoreError for a SQLAlchemy error: StoreUnavailable when the database cannot be used."""
    reason = _reason(exc)
    if isinstance(exc, OperationalError | InterfaceError | DisconnectionError | PoolTimeoutError):
        if "no such table" in reason:
            return StoreError(
                f"数据库尚未初始化，请先执行迁移 / database schema missing, run the migrations: {reason}"
            )
        return StoreUnavailable(f"数据库不可用 / database unavailable ({describe(url)}): {reason}")
    if isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) == "42P01":
        return StoreError(
            f"数据库尚未初始化，请先执行迁移 / database schema missing, run the migrations: {reason}"
        )
    if isinstance(exc, IntegrityError):
        return StoreError(f"数据不一致 / integrity error: {reason}")
    return StoreError(f"数据库错误 / database error: {reason}")


def _reason(exc: SQLAlchemyError) -> str:
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    lines = [line.strip() for line in str(orig).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(orig).__name__
