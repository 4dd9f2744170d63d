"""One-time console form tokens: the transaction that does a form's work claims its token first, so of
two posts of the same form (to any worker, at the same moment) one does the work and the other gets what
it made. A failure rolls the claim back with the work. These run in the caller's transaction."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.store.columns import utcnow
from bot.store.models import ConversationRow, FormTokenRow
from bot.store.records import FORM_PURPOSES, FormUse
from bot.store.rows import check_aware, check_choice, check_text, insert_or_get, require
from config.errors import StoreError

TOKEN_CHARS = 128


def outcome(session: Session, form: FormUse) -> int | None:
    """What the token's first use made, None while it is unused."""
    row = _find(session, _checked(form))
    return row.result_id if row is not None else None


def claim(session: Session, form: FormUse) -> tuple[FormTokenRow, bool]:
    """The token's row, inserted unless another transaction has it; the bool says whether this one got it.

    On PostgreSQL an insert racing an uncommitted one waits on the primary key and then finds the
    committed row; on SQLite writers take turns (BEGIN IMMEDIATE), so the lookup alone decides."""
    form = _checked(form)
    require(session, ConversationRow, form.conversation_id)
    used = _find(session, form)
    if used is not None:
        return used, False
    row = FormTokenRow(
        token=form.token, purpose=form.purpose, conversation_id=form.conversation_id, created_at=utcnow()
    )
    return insert_or_get(session, row, lambda: _find(session, form))


def settle(session: Session, row: FormTokenRow, result_id: int) -> None:
    """Record what the claimed token's work made (in the same transaction as the work)."""
    row.result_id = result_id
    session.flush()


def result_of(row: FormTokenRow) -> int:
    """What a used token's work made (a token is claimed and settled in one transaction)."""
    if row.result_id is None:  # claimed and settled in one transaction, so never seen unsettled
        raise StoreError(f"表单令牌没有结果 / form token for {row.purpose} has no result")
    return row.result_id


def purge(session: Session, before: datetime) -> int:
    """Forget tokens claimed before `before`; how many."""
    check_aware(before, "before")
    result = session.connection().execute(delete(FormTokenRow).where(FormTokenRow.created_at < before))
    return result.rowcount


def _checked(form: FormUse) -> FormUse:
    check_choice(form.purpose, FORM_PURPOSES, "purpose")
    return replace(form, token=check_text(form.token, "form token", max_chars=TOKEN_CHARS))


def _find(session: Session, form: FormUse) -> FormTokenRow | None:
    return session.scalars(
        select(FormTokenRow).where(
            FormTokenRow.token == form.token,
            FormTokenRow.purpose == form.purpose,
            FormTokenRow.conversation_id == form.conversation_id,
        )
    ).one_or_none()
