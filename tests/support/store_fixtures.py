"""Store fixtures (a plugin of tests/conftest.py): every store test runs on a SQLite file and on a
PostgreSQL database of its own.

PostgreSQL is reached through STDBOT_TEST_POSTGRES_URL (default: the local server, user postgres, trust
auth). Without a server the PostgreSQL cases are skipped, unless STDBOT_REQUIRE_POSTGRES=1 (CI), which
turns the skip into a failure."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from bot.store import Store
from bot.store.models import Base

ADMIN_URL = os.environ.get(
    "STDBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", "postgresql"]


class PostgresServer:
    """Creates and drops throw-away databases on a PostgreSQL server."""

    def __init__(self, admin: Engine) -> None:
        self._admin = admin

    def create_database(self) -> str:
        name = f"stdbot_test_{secrets.token_hex(6)}"
        with self._admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    def drop_database(self, url: str) -> None:
        name = make_url(url).database
        with self._admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        admin.dispose()
        reason = str(exc).strip().splitlines()[0]
        message = f"PostgreSQL not reachable at {ADMIN_URL}: {reason}"
        if os.environ.get("STDBOT_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"STDBOT_REQUIRE_POSTGRES=1 but {message}")
        pytest.skip(message)
    yield PostgresServer(admin)
    admin.dispose()


@pytest.fixture(scope="module")
def migrated_postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """One migrated database per test module; each test starts from empty tables."""
    url = postgres_server.create_database()
    store = Store(url)
    store.migrate()
    store.close()
    yield url
    postgres_server.drop_database(url)


def _empty_postgres_tables(url: str) -> None:
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):  # DELETE: far quicker than TRUNCATE here
            connection.execute(table.delete())
    engine.dispose()


@pytest.fixture(scope="module")
def migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies (quicker than migrating every time)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "stdbot.db"
    store = Store(f"sqlite:///{path}")
    store.migrate()
    store.close()  # the last connection checkpoints the WAL into the file
    return path


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The URL of a migrated database whose tables are empty."""
    if backend == "sqlite":
        path = tmp_path / "stdbot.db"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite_file"), path)
        return f"sqlite:///{path}"
    url = str(request.getfixturevalue("migrated_postgres_url"))
    _empty_postgres_tables(url)
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    store = Store(store_url)
    yield store
    store.close()


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of a database with no tables at all (for migration tests)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database()
    yield url
    server.drop_database(url)
