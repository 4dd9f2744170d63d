"""The declarative base every table shares: constraint names and UTC timestamps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import MetaData, event
from sqlalchemy.orm import DeclarativeBase

from bot.store.columns import UTCDateTime, as_utc

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}  # noqa: RUF012  (SQLAlchemy reads it off the class)


def _utc_on_set(_target: Any, value: datetime | None, _old: Any, _initiator: Any) -> datetime | None:
    return as_utc(value)


def normalise_timestamps() -> None:
    """Every timestamp assigned to a row is stored as UTC, so records read back from the same session
    (not only from the database) are in UTC too. Called once, after every table is defined."""
    for mapper in Base.registry.mappers:
        for prop in mapper.column_attrs:
            if isinstance(prop.columns[0].type, UTCDateTime):
                event.listen(getattr(mapper.class_, prop.key), "set", _utc_on_set, retval=True)
