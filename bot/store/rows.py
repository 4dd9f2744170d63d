"""Small helpers the repositories share: fetch-or-fail, race-safe insert, argument checks."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.store.models import (
    Base,
    ConversationRow,
    DeliveryRow,
    FaqDraftRow,
    HandoffRow,
    MessageRow,
    StaffRow,
)
from config.errors import StoreError

R = TypeVar("R", bound=Base)

_NAMES: dict[type[Base], tuple[str, str]] = {
    ConversationRow: ("会话", "conversation"),
    MessageRow: ("消息", "message"),
    HandoffRow: ("转人工记录", "handoff"),
    DeliveryRow: ("待发送消息", "delivery"),
    FaqDraftRow: ("常见问题草稿", "FAQ draft"),
    StaffRow: ("工作人员", "staff account"),
}


def require(session: Session, row_type: type[R], row_id: int, *, for_update: bool = False) -> R:
    """The row with this id; a StoreError naming what is missing otherwise. `for_update` locks the row
    (FOR NO KEY UPDATE on PostgreSQL, so inserts referencing it are not blocked) and reloads it."""
    lock = {"key_share": True} if for_update else None
    row = session.get(row_type, row_id, with_for_update=lock, populate_existing=for_update)
    if row is None:
        zh, en = _NAMES.get(row_type, ("记录", "record"))
        raise StoreError(f"{zh}不存在 / {en} not found: {row_id}")
    return row


def insert_or_get(session: Session, row: R, existing: Callable[[], R | None]) -> tuple[R, bool]:
    """Insert `row` inside a savepoint; if a unique constraint says another transaction got there
    first, return that row instead. The bool says whether `row` was inserted."""
    try:
        with session.begin_nested():
            session.add(row)
        return row, True
    except IntegrityError:
        other = existing()
        if other is None:  # not a duplicate: some other constraint failed
            raise
        return other, False


def without_nul(value: str) -> str:
    """The text without NUL characters, which PostgreSQL cannot store in a text column."""
    return value.replace("\x00", "")


def check_choice(value: str, allowed: Iterable[str], what: str) -> str:
    choices = tuple(allowed)
    if value not in choices:
        raise StoreError(
            f"{what} 取值无效 / invalid {what}: {value!r} (expected one of {', '.join(choices)})"
        )
    return value


def check_aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise StoreError(f"{what} 须带时区 / {what} must be timezone-aware: {value.isoformat()}")
    return value


def check_text(value: str, what: str, *, max_chars: int | None = None) -> str:
    value = without_nul(value).strip()
    if not value:
        raise StoreError(f"{what} 不能为空 / {what} must not be empty")
    if max_chars is not None and len(value) > max_chars:
        raise StoreError(f"{what} 过长 / {what} too long: {len(value)} > {max_chars} characters")
    return value
