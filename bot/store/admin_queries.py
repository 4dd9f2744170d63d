"""What admins work with: knowledge-base versions, FAQ drafts and the audit log."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store.columns import utcnow
from bot.store.models import AuditRow, ConversationRow, FaqDraftRow, KbVersionRow
from bot.store.records import FAQ_DRAFT_STATES, AuditRecord, FaqDraftRecord, KbVersionRecord
from bot.store.rows import check_choice, check_text, insert_or_get, require, without_nul
from config.errors import StoreError


def record_kb_version(session: Session, version: int, metrics: Mapping[str, float], note: str) -> None:
    """Record (or update) a version's golden-set metrics and note."""
    if version < 1:
        raise StoreError(f"知识库版本号无效 / invalid knowledge-base version: {version}")
    note = without_nul(note)
    encoded = json.dumps(
        {str(k): _finite(k, v) for k, v in metrics.items()}, ensure_ascii=False, sort_keys=True
    )
    row = _kb_version(session, version)
    if row is None:
        row, inserted = insert_or_get(
            session,
            KbVersionRow(version=version, metrics=encoded, note=note),
            lambda: _kb_version(session, version),
        )
        if inserted:
            return
    row.metrics, row.note, row.recorded_at = encoded, note, utcnow()


def kb_versions(session: Session) -> list[KbVersionRecord]:
    return [
        row.record() for row in session.scalars(select(KbVersionRow).order_by(KbVersionRow.version.desc()))
    ]


def add_faq_draft(
    session: Session, question: str, answer: str, basis: str | None, author: str, conversation_id: int | None
) -> int:
    if conversation_id is not None:
        require(session, ConversationRow, conversation_id)
    row = FaqDraftRow(
        question=check_text(question, "question"),
        answer=check_text(answer, "answer"),
        basis=without_nul(basis or "").strip() or None,
        author=check_text(author, "author", max_chars=128),
        conversation_id=conversation_id,
        state="pending",
    )
    session.add(row)
    session.flush()
    return row.id


def faq_drafts(session: Session, state: str) -> list[FaqDraftRecord]:
    check_choice(state, FAQ_DRAFT_STATES, "state")
    rows = session.scalars(select(FaqDraftRow).where(FaqDraftRow.state == state).order_by(FaqDraftRow.id))
    return [row.record() for row in rows]


def set_faq_draft_state(session: Session, draft_id: int, state: str) -> None:
    check_choice(state, FAQ_DRAFT_STATES, "state")
    require(session, FaqDraftRow, draft_id, for_update=True).state = state


def review_faq_draft(
    session: Session, draft_id: int, state: str, question: str, answer: str, basis: str | None
) -> FaqDraftRecord:
    check_choice(state, FAQ_DRAFT_STATES, "state")
    row = require(session, FaqDraftRow, draft_id, for_update=True)
    row.question = check_text(question, "question")
    row.answer = check_text(answer, "answer")
    row.basis = without_nul(basis or "").strip() or None
    row.state = state
    session.flush()
    return row.record()


def audit(session: Session, actor: str, action: str, detail: str) -> None:
    session.add(
        AuditRow(
            actor=check_text(actor, "actor", max_chars=128),
            action=check_text(action, "action", max_chars=64),
            detail=without_nul(detail),
        )
    )


def audit_log(session: Session, limit: int) -> list[AuditRecord]:
    rows = session.scalars(select(AuditRow).order_by(AuditRow.id.desc()).limit(max(limit, 0)))
    return [row.record() for row in rows]


def _kb_version(session: Session, version: int) -> KbVersionRow | None:
    return session.scalars(
        select(KbVersionRow).where(KbVersionRow.version == version).with_for_update(key_share=True)
    ).one_or_none()


def _finite(name: str, value: float) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise StoreError(f"指标必须是有限数 / metric {name} must be a finite number, got {value}")
    return number
