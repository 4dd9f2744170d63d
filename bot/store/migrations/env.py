"""Alembic environment: Store.migrate() passes an open connection in `config.attributes["connection"]`;
the `alembic` command line may instead set `sqlalchemy.url`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from bot.store.models import Base
from config.errors import StoreError

VERSION_TABLE = "alembic_version"


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    connection = context.config.attributes.get("connection")
    if isinstance(connection, Connection):
        run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise StoreError("迁移缺少数据库地址 / migrations need sqlalchemy.url or an open connection")
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            run(connection)
    finally:
        engine.dispose()


main()
