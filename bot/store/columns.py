"""Column helpers of the store: UTC timestamps on every database and citations as JSON text."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, TypeDecorator

from knowledge.types import Citation


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database (SQLite keeps no offset, so store UTC there)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        value = as_utc(value)
        if value is None or dialect.name != "sqlite":
            return value
        return value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return as_utc(value)


def as_utc(value: datetime | None) -> datetime | None:
    """The same instant in UTC; a naive value is taken to be UTC already."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def citations_to_json(citations: Sequence[Citation]) -> str:
    return json.dumps([c.to_json() for c in citations], ensure_ascii=False)


def citations_from_json(raw: str) -> tuple[Citation, ...]:
    items: list[dict[str, Any]] = json.loads(raw or "[]")
    return tuple(
        Citation(
            source=item["source"],
            kind=item["kind"],
            clause=tuple(item.get("clause", ())),
            standard=item.get("standard"),
            score=float(item.get("score", 0.0)),
            text=item.get("text", ""),
        )
        for item in items
    )


def suggestions_to_json(suggestions: Sequence[str]) -> str:
    return json.dumps(list(suggestions), ensure_ascii=False)


def suggestions_from_json(raw: str | None) -> tuple[str, ...]:
    items = json.loads(raw or "[]")
    return tuple(str(item) for item in items) if isinstance(items, list) else ()
