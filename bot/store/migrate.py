"""Bring the schema to the newest revision, once, even when several processes start together."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from bot.store.engine import WRITE_OPTION, is_sqlite, sqlite_file, translate
from config.errors import StoreError, StoreUnavailable

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# pg_advisory_lock key: any constant bigint, the same in every stdbot process ("stdbot" in ASCII).
ADVISORY_LOCK_KEY = 0x737464626F74


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    return config


def migrate(engine: Engine, url: URL) -> None:
    """`alembic upgrade head` under a lock: an advisory lock on PostgreSQL, a file lock beside a SQLite
    file. A process that waited finds the schema current and changes nothing."""
    config = alembic_config()
    try:
        with (
            _file_lock(url),
            engine.execution_options(**{WRITE_OPTION: True}).connect() as connection,
            _advisory_lock(connection),
        ):
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        raise translate(exc, url) from None
    except CommandError as exc:
        raise StoreError(
            f"数据库结构无法升级（可能由更新版本的 stdbot 创建）/ cannot migrate the database schema: {exc}"
        ) from None


@contextmanager
def _advisory_lock(connection: Connection) -> Iterator[None]:
    if connection.dialect.name != "postgresql":
        yield
        return
    connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    connection.commit()  # the lock belongs to the session and outlives this transaction
    try:
        yield
    finally:
        connection.rollback()
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
        connection.commit()


@contextmanager
def _file_lock(url: URL) -> Iterator[None]:
    database = sqlite_file(url) if is_sqlite(url) else None
    if database is None:
        yield
        return
    lock_path = Path(database).with_name(Path(database).name + ".migrate.lock")
    try:
        handle = lock_path.open("a")
    except OSError as exc:
        raise StoreUnavailable(
            f"无法创建迁移锁文件 / cannot create the migration lock {lock_path}: {exc}"
        ) from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
