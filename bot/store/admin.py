"""The admin records repository: knowledge-base versions with their golden-set metrics, FAQ drafts, and
the console's one-time form tokens."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store import form_tokens
from bot.store.columns import utcnow
from bot.store.engine import Transactions
from bot.store.models import FaqDraftRow, KbVersionRow
from bot.store.records import (
    FAQ_DRAFT_STATES,
    FaqDraftRecord,
    FaqDraftState,
    FormOutcome,
    FormUse,
    KbVersionRecord,
)
from bot.store.rows import check_choice, check_text, insert_or_get, require, without_nul
from config.errors import StoreError


class AdminRecords:
    """Every method runs in a transaction of its own and returns frozen records."""

    def __init__(self, tx: Transactions) -> None:
        self._tx = tx

    def record_kb_version(
        self, version: int, metrics: Mapping[str, float], golden_set_fingerprint: str
    ) -> None:
        """Record (or update) a version's metrics on the golden set with this fingerprint."""
        if version < 1:
            raise StoreError(f"知识库版本号无效 / invalid knowledge-base version: {version}")
        fingerprint = without_nul(golden_set_fingerprint)
        encoded = json.dumps(
            {str(k): _finite(k, v) for k, v in metrics.items()}, ensure_ascii=False, sort_keys=True
        )
        with self._tx.write() as session:
            row = _kb_version(session, version)
            if row is None:
                row, inserted = insert_or_get(
                    session,
                    KbVersionRow(version=version, metrics=encoded, golden_set_fingerprint=fingerprint),
                    lambda: _kb_version(session, version),
                )
                if inserted:
                    return
            row.metrics, row.golden_set_fingerprint, row.recorded_at = encoded, fingerprint, utcnow()

    def kb_versions(self) -> list[KbVersionRecord]:
        """Recorded versions, newest first."""
        with self._tx.read() as session:
            rows = session.scalars(select(KbVersionRow).order_by(KbVersionRow.version.desc()))
            return [row.record() for row in rows]

    def faq_drafts(self, state: FaqDraftState = "pending") -> list[FaqDraftRecord]:
        """Drafts in `state`, oldest first."""
        check_choice(state, FAQ_DRAFT_STATES, "state")
        with self._tx.read() as session:
            rows = session.scalars(
                select(FaqDraftRow).where(FaqDraftRow.state == state).order_by(FaqDraftRow.id)
            )
            return [row.record() for row in rows]

    def faq_draft(self, draft_id: int) -> FaqDraftRecord:
        """One draft (StoreError when there is none)."""
        with self._tx.read() as session:
            return require(session, FaqDraftRow, draft_id).record()

    def review_faq_draft(
        self, draft_id: int, state: FaqDraftState, question: str, answer: str, basis: str | None
    ) -> FaqDraftRecord:
        """An admin's decision on a draft, with the wording as the admin left it."""
        check_choice(state, FAQ_DRAFT_STATES, "state")
        with self._tx.write() as session:
            row = require(session, FaqDraftRow, draft_id, for_update=True)
            row.question = check_text(question, "question")
            row.answer = check_text(answer, "answer")
            row.basis = without_nul(basis or "").strip() or None
            row.state = state
            session.flush()
            return row.record()

    def add_faq_draft_once(self, form: FormUse, question: str, answer: str, author: str) -> FormOutcome:
        """An FAQ draft from the form's conversation, made once per form token."""
        with self._tx.write() as session:
            token, first = form_tokens.claim(session, form)
            if not first:
                return FormOutcome(result_id=form_tokens.result_of(token), repeated=True)
            row = FaqDraftRow(
                question=check_text(question, "question"),
                answer=check_text(answer, "answer"),
                basis=None,
                author=check_text(author, "author", max_chars=128),
                conversation_id=form.conversation_id,
                state="pending",
            )
            session.add(row)
            session.flush()
            form_tokens.settle(session, token, row.id)
            return FormOutcome(result_id=row.id, repeated=False)

    def form_outcome(self, form: FormUse) -> int | None:
        """What the form's first use made (a message or FAQ draft id); None while its token is unused."""
        with self._tx.read() as session:
            return form_tokens.outcome(session, form)

    def purge_form_tokens(self, before: datetime) -> int:
        """Forget form tokens used before `before` (a form posted again after that does its work again)."""
        with self._tx.write() as session:
            return form_tokens.purge(session, before)


def _kb_version(session: Session, version: int) -> KbVersionRow | None:
    return session.scalars(
        select(KbVersionRow).where(KbVersionRow.version == version).with_for_update(key_share=True)
    ).one_or_none()


def _finite(name: str, value: float) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise StoreError(f"指标必须是有限数 / metric {name} must be a finite number, got {value}")
    return number
