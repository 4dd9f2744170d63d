"""The Store: the one entry point to conversations, handoffs, the outbox, staff and admin records.

Every method runs in its own transaction that commits on success and rolls back on any error, and
returns frozen records. Database failures surface as StoreUnavailable, refused operations as StoreError."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, tzinfo

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from bot.messages import IncomingMessage
from bot.store import (
    admin_queries,
    analytics_queries,
    channel_state_queries,
    feedback_queries,
    form_queries,
    handoff_queries,
    outbox_queries,
    outcome_queries,
    staff_alert_queries,
    staff_queries,
)
from bot.store import conversation_queries as conversations
from bot.store.columns import utcnow
from bot.store.engine import Transactions, create_store_engine, describe, parse_url
from bot.store.migrate import migrate
from bot.store.models import ConversationRow, DeliveryRow, FaqDraftRow, HandoffRow, MessageRow
from bot.store.records import (
    AlertTargetStatus,
    AuditRecord,
    ConversationRecord,
    DailyCount,
    DailyFeedback,
    DailyOutcome,
    DeliveryRecord,
    DownvotedAnswer,
    FailedDelivery,
    FaqDraftRecord,
    FirstReplyTimes,
    FormOutcome,
    FormUse,
    HandoffAlert,
    HandoffRecord,
    InboundResult,
    KbVersionRecord,
    MessageRecord,
    QueuedReply,
    StaffAlertRecord,
    StaffRecord,
    UnansweredQuestion,
)
from bot.store.rows import require
from config.settings import Settings
from knowledge.types import Citation

DEFAULT_SQLITE_NAME = "stdbot.db"


class Store:
    """Conversation store on SQLite (default) or PostgreSQL (`postgresql+psycopg://…`)."""

    def __init__(self, url: str | URL, *, echo: bool = False) -> None:
        self.url = parse_url(url) if isinstance(url, str) else url
        self._engine = create_store_engine(self.url, echo=echo)
        self._tx = Transactions(self._engine, self.url)

    @classmethod
    def from_settings(cls, settings: Settings) -> Store:
        """The configured database, or the SQLite file `<data_dir>/stdbot.db` (its directory is created)."""
        if settings.database.url:
            return cls(settings.database.url, echo=settings.database.echo)
        data_dir = settings.data_dir.expanduser().resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        url = URL.create("sqlite", database=str(data_dir / DEFAULT_SQLITE_NAME))
        return cls(url, echo=settings.database.echo)

    def __repr__(self) -> str:
        return f"Store({describe(self.url)!r})"

    def migrate(self) -> None:
        """Upgrade the schema to the newest revision; idempotent and safe from several processes."""
        migrate(self._engine, self.url)

    def ping(self) -> bool:
        """Whether the database answers `SELECT 1` (for /readyz); never raises."""
        try:
            with self._engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    def close(self) -> None:
        self._engine.dispose()

    # conversations and messages

    def record_inbound(self, message: IncomingMessage) -> InboundResult:
        """Create or update the conversation of (channel, chat_id, user_id) and store the message; a
        message whose (channel, message_id) was stored before returns the stored rows, duplicate=True."""
        with self._tx.write() as session:
            return conversations.record_inbound(session, message)

    def record_outbound(
        self,
        conversation_id: int,
        text: str,
        *,
        author: str,
        mode: str | None = None,
        confidence: float | None = None,
        citations: Sequence[Citation] = (),
        latency_ms: float | None = None,
        suggestions: Sequence[str] = (),
    ) -> MessageRecord:
        """Store a reply; `author` is "bot", "system" or "staff:<username>"."""
        with self._tx.write() as session:
            return conversations.record_outbound(
                session,
                conversation_id,
                text,
                author=author,
                mode=mode,
                confidence=confidence,
                citations=citations,
                latency_ms=latency_ms,
                suggestions=suggestions,
            )

    def conversation(self, conversation_id: int) -> ConversationRecord:
        with self._tx.read() as session:
            return require(session, ConversationRow, conversation_id).record()

    def find_conversation(self, channel: str, chat_id: str, user_id: str) -> ConversationRecord | None:
        with self._tx.read() as session:
            row = conversations.find_conversation(session, channel, chat_id, user_id)
            return row.record() if row is not None else None

    def set_state(self, conversation_id: int, state: str) -> ConversationRecord:
        with self._tx.write() as session:
            return conversations.set_state(session, conversation_id, state)

    def set_low_confidence_streak(self, conversation_id: int, streak: int) -> None:
        with self._tx.write() as session:
            conversations.set_low_confidence_streak(session, conversation_id, streak)

    def transcript(self, conversation_id: int, *, limit: int = 500) -> list[MessageRecord]:
        """The last `limit` messages, oldest first."""
        with self._tx.read() as session:
            return conversations.transcript(session, conversation_id, limit)

    def messages_after(self, conversation_id: int, after_id: int) -> list[MessageRecord]:
        """Messages with id > after_id, oldest first (at most 500 per call)."""
        with self._tx.read() as session:
            return conversations.messages_after(session, conversation_id, after_id)

    def with_suggestions(self, records: Sequence[MessageRecord]) -> list[MessageRecord]:
        """The records with the questions each bot reply offered to pick from (one query)."""
        replies = [r.id for r in records if r.direction == "out" and r.author == "bot"]
        if not replies:
            return list(records)
        with self._tx.read() as session:
            offered = conversations.suggestions_of(session, replies)
        return [replace(r, suggestions=offered[r.id]) if r.id in offered else r for r in records]

    def search_conversations(self, text: str, *, limit: int = 50) -> list[ConversationRecord]:
        """Conversations whose user, name, chat or any message contains `text`, latest first."""
        with self._tx.read() as session:
            return conversations.search_conversations(session, text, limit)

    # handoffs

    def open_handoff(self, conversation_id: int, reason: str) -> HandoffRecord:
        """Open a handoff (conversation → "waiting"), or return the one already open or claimed."""
        with self._tx.write() as session:
            return handoff_queries.open_handoff(session, conversation_id, reason)

    def claim_handoff(self, handoff_id: int, staff: str) -> HandoffRecord:
        """Staff take the conversation (→ "staff"); StoreError if resolved or claimed by someone else."""
        with self._tx.write() as session:
            return handoff_queries.claim_handoff(session, handoff_id, staff)

    def release_handoff(self, handoff_id: int) -> HandoffRecord:
        """Give the conversation back to the queue (handoff "open", conversation "waiting")."""
        with self._tx.write() as session:
            return handoff_queries.release_handoff(session, handoff_id)

    def resolve_handoff(self, handoff_id: int, staff: str) -> HandoffRecord:
        """Close the handoff; the bot answers again (streak reset). StoreError if already resolved."""
        with self._tx.write() as session:
            return handoff_queries.resolve_handoff(session, handoff_id, staff)

    def handoff(self, handoff_id: int) -> HandoffRecord:
        with self._tx.read() as session:
            return require(session, HandoffRow, handoff_id).record()

    def open_handoff_for(self, conversation_id: int) -> HandoffRecord | None:
        """The conversation's open or claimed handoff, if any."""
        with self._tx.read() as session:
            row = handoff_queries.active_handoff(session, conversation_id)
            return row.record() if row is not None else None

    def waiting_handoffs(self) -> list[HandoffRecord]:
        """Open and claimed handoffs, oldest first."""
        with self._tx.read() as session:
            return handoff_queries.waiting_handoffs(session)

    def note_staff_reply(self, handoff_id: int) -> None:
        """Remember when staff first replied (set once)."""
        with self._tx.write() as session:
            handoff_queries.note_staff_reply(session, handoff_id)

    # feedback

    def record_feedback(self, message_id: int, value: int, comment: str | None = None) -> None:
        """+1 or -1 on a message; a later vote on the same message replaces the earlier one."""
        with self._tx.write() as session:
            conversations.record_feedback(session, message_id, value, comment)

    # outbox

    def enqueue_delivery(
        self, message_id: int, channel: str, chat_id: str, text: str, kind: str
    ) -> DeliveryRecord:
        """Queue a stored message for sending, due now; a second call for the message returns the first."""
        with self._tx.write() as session:
            return outbox_queries.enqueue_delivery(session, message_id, channel, chat_id, text, kind)

    def due_deliveries(self, now: datetime, limit: int = 50) -> list[DeliveryRecord]:
        with self._tx.read() as session:
            return outbox_queries.due_deliveries(session, now, limit)

    def claim_delivery(self, delivery_id: int, now: datetime, lease_s: float) -> bool:
        """Push a due delivery's next attempt `lease_s` ahead; True for exactly one of competing workers."""
        with self._tx.write() as session:
            return outbox_queries.claim_delivery(session, delivery_id, now, lease_s)

    def mark_sent(self, delivery_id: int, platform_message_id: str | None) -> None:
        with self._tx.write() as session:
            outbox_queries.mark_sent(session, delivery_id, platform_message_id)

    def mark_retry(self, delivery_id: int, error: str, next_attempt_at: datetime) -> None:
        with self._tx.write() as session:
            outbox_queries.mark_retry(session, delivery_id, error, next_attempt_at)

    def mark_failed(self, delivery_id: int, error: str) -> None:
        with self._tx.write() as session:
            outbox_queries.mark_failed(session, delivery_id, error)

    def retry_delivery(self, delivery_id: int, now: datetime | None = None) -> DeliveryRecord:
        """Queue a failed delivery again, due at `now`."""
        with self._tx.write() as session:
            return outbox_queries.retry_delivery(session, delivery_id, now or utcnow())

    def delivery(self, delivery_id: int) -> DeliveryRecord:
        with self._tx.read() as session:
            return require(session, DeliveryRow, delivery_id).record()

    def failed_deliveries(self, limit: int = 50) -> list[DeliveryRecord]:
        with self._tx.read() as session:
            return outbox_queries.failed_deliveries(session, limit)

    def failed_with_conversations(self, limit: int = 50) -> list[FailedDelivery]:
        """Failed deliveries with their conversations, newest first (the console's list)."""
        with self._tx.read() as session:
            return outbox_queries.failed_with_conversations(session, limit)

    def message(self, message_id: int) -> MessageRecord:
        """One stored message (StoreError when there is none)."""
        with self._tx.read() as session:
            return require(session, MessageRow, message_id).record()

    def reply_in(self, conversation_id: int, message_id: int) -> MessageRecord | None:
        """The stored reply `message_id` when it is an outbound message of that conversation, else None."""
        with self._tx.read() as session:
            row = session.get(MessageRow, message_id)
            if row is None or row.conversation_id != conversation_id or row.direction != "out":
                return None
            return row.record()

    def conversation_of_message(self, message_id: int) -> int:
        """The conversation a stored message belongs to (StoreError when there is no such message)."""
        with self._tx.read() as session:
            return require(session, MessageRow, message_id).conversation_id

    def deliveries_of(self, conversation_id: int) -> dict[int, DeliveryRecord]:
        """Each outbound message's delivery in a conversation, by message id."""
        with self._tx.read() as session:
            return outbox_queries.deliveries_of(session, conversation_id)

    def queue_reply(
        self,
        conversation_id: int,
        text: str,
        *,
        author: str,
        mode: str | None = None,
        form: FormUse | None = None,
    ) -> QueuedReply:
        """Store a reply ("system" or "staff:<username>") and queue it for the conversation's chat, in one
        transaction. With `form`, the first call with its token does so; a later one (from any worker)
        returns what the first stored, repeated=True."""
        with self._tx.write() as session:
            return outbox_queries.queue_reply(
                session, conversation_id, text, author=author, mode=mode, form=form
            )

    # console form tokens

    def form_outcome(self, form: FormUse) -> int | None:
        """What the form's first use made (a message or FAQ draft id); None while its token is unused."""
        with self._tx.read() as session:
            return form_queries.outcome(session, form)

    def add_faq_draft_once(self, form: FormUse, question: str, answer: str, author: str) -> FormOutcome:
        """An FAQ draft from the form's conversation, made once per form token."""
        with self._tx.write() as session:
            return form_queries.add_faq_draft_once(session, form, question, answer, author)

    def purge_form_tokens(self, before: datetime) -> int:
        """Forget form tokens used before `before` (a form posted again after that does its work again)."""
        with self._tx.write() as session:
            return form_queries.purge(session, before)

    # staff alerts

    def add_staff_alert(self, alert: HandoffAlert, targets: Sequence[str], now: datetime) -> list[int]:
        """Queue `alert` for each notification target (one transaction); the new rows' ids."""
        with self._tx.write() as session:
            return staff_alert_queries.add_alerts(session, alert, targets, now)

    def alert_target_status(self, target: str, since: datetime) -> AlertTargetStatus:
        """The target's pending alerts and the messages posted to it after `since`."""
        with self._tx.read() as session:
            return staff_alert_queries.target_status(session, target, since)

    def pending_staff_alerts(self, target: str, limit: int = 200) -> list[StaffAlertRecord]:
        """Oldest first."""
        with self._tx.read() as session:
            return staff_alert_queries.pending_alerts(session, target, limit)

    def count_pending_staff_alerts(self, targets: Sequence[str]) -> int:
        with self._tx.read() as session:
            return staff_alert_queries.count_pending(session, targets)

    def take_alert_lease(self, target: str, holder: str, now: datetime, lease_s: float) -> bool:
        """Become the one worker sending to `target` for `lease_s`; False while another holds it."""
        with self._tx.write() as session:
            return staff_alert_queries.take_lease(session, target, holder, now, lease_s)

    def release_alert_lease(self, target: str, holder: str) -> None:
        with self._tx.write() as session:
            staff_alert_queries.release_lease(session, target, holder)

    def spend_alert_post(self, target: str, holder: str, now: datetime, lease_s: float) -> bool:
        """Count one message to `target` in its budget and renew the lease; False if `holder` lost it."""
        with self._tx.write() as session:
            return staff_alert_queries.spend_post(session, target, holder, now, lease_s)

    def mark_staff_alerts_sent(self, alert_ids: Sequence[int], now: datetime) -> None:
        with self._tx.write() as session:
            staff_alert_queries.mark_sent(session, alert_ids, now)

    def mark_staff_alerts_failed(
        self, alert_ids: Sequence[int], error: str, max_attempts: int, now: datetime
    ) -> list[StaffAlertRecord]:
        """Count a failed post; the alerts given up on (their `max_attempts`-th failure)."""
        with self._tx.write() as session:
            return staff_alert_queries.mark_failed_attempt(session, alert_ids, error, max_attempts, now)

    def purge_staff_alerts(self, before: datetime) -> int:
        """Delete alerts sent or given up on before `before`."""
        with self._tx.write() as session:
            return staff_alert_queries.purge_done(session, before)

    # staff

    def add_staff(self, username: str, password_hash: str, role: str) -> StaffRecord:
        """A new account ("staff" or "admin"); StoreError if the username is taken."""
        with self._tx.write() as session:
            return staff_queries.add_staff(session, username, password_hash, role)

    def staff(self, username: str) -> StaffRecord | None:
        with self._tx.read() as session:
            return staff_queries.staff(session, username)

    def list_staff(self) -> list[StaffRecord]:
        with self._tx.read() as session:
            return staff_queries.list_staff(session)

    def count_staff(self) -> int:
        with self._tx.read() as session:
            return staff_queries.count_staff(session)

    def set_staff_password(self, username: str, password_hash: str) -> StaffRecord:
        with self._tx.write() as session:
            return staff_queries.set_staff_password(session, username, password_hash)

    def set_staff_role(self, username: str, role: str) -> StaffRecord:
        """Change a role (StoreError for the last administrator)."""
        with self._tx.write() as session:
            return staff_queries.set_staff_role(session, username, role)

    def remove_staff(self, username: str) -> None:
        """Delete an account (StoreError for the last administrator)."""
        with self._tx.write() as session:
            staff_queries.remove_staff(session, username)

    def record_login(
        self, username: str, *, ok: bool, lock_after: int, lock_for_s: float, now: datetime
    ) -> StaffRecord | None:
        """Count a login attempt (None for an unknown user); see staff_queries.record_login."""
        with self._tx.write() as session:
            return staff_queries.record_login(
                session, username, ok=ok, lock_after=lock_after, lock_for_s=lock_for_s, now=now
            )

    # knowledge-base versions, FAQ drafts, audit

    def record_kb_version(self, version: int, metrics: Mapping[str, float], note: str) -> None:
        with self._tx.write() as session:
            admin_queries.record_kb_version(session, version, metrics, note)

    def kb_versions(self) -> list[KbVersionRecord]:
        """Recorded versions, newest first."""
        with self._tx.read() as session:
            return admin_queries.kb_versions(session)

    def add_faq_draft(
        self, question: str, answer: str, basis: str | None, author: str, conversation_id: int | None
    ) -> int:
        with self._tx.write() as session:
            return admin_queries.add_faq_draft(session, question, answer, basis, author, conversation_id)

    def faq_drafts(self, state: str = "pending") -> list[FaqDraftRecord]:
        """Drafts in `state`, oldest first."""
        with self._tx.read() as session:
            return admin_queries.faq_drafts(session, state)

    def set_faq_draft_state(self, draft_id: int, state: str) -> None:
        with self._tx.write() as session:
            admin_queries.set_faq_draft_state(session, draft_id, state)

    def faq_draft(self, draft_id: int) -> FaqDraftRecord:
        """One draft (StoreError when there is none)."""
        with self._tx.read() as session:
            return require(session, FaqDraftRow, draft_id).record()

    def review_faq_draft(
        self, draft_id: int, state: str, question: str, answer: str, basis: str | None
    ) -> FaqDraftRecord:
        """An admin's decision on a draft, with the wording as the admin left it."""
        with self._tx.write() as session:
            return admin_queries.review_faq_draft(session, draft_id, state, question, answer, basis)

    # channel state shared by workers

    def channel_state(self, key: str, now: datetime | None = None) -> str | None:
        """A channel's shared value (an access token, a cursor); None when absent or expired."""
        with self._tx.read() as session:
            return channel_state_queries.get_state(session, key, now or utcnow())

    def put_channel_state(self, key: str, value: str, expires_at: datetime | None = None) -> None:
        with self._tx.write() as session:
            channel_state_queries.put_state(session, key, value, expires_at)

    def delete_channel_state(self, key: str) -> None:
        with self._tx.write() as session:
            channel_state_queries.delete_state(session, key)

    def claim_nonce(
        self, channel: str, key: str, body_hash: str, expires_at: datetime, now: datetime
    ) -> bool:
        """The replay guard's ledger (see channel_state_queries.claim_nonce)."""
        with self._tx.write() as session:
            return channel_state_queries.claim_nonce(session, channel, key, body_hash, expires_at, now)

    def audit(self, actor: str, action: str, detail: str) -> None:
        with self._tx.write() as session:
            admin_queries.audit(session, actor, action, detail)

    def audit_log(self, limit: int = 200) -> list[AuditRecord]:
        """Newest first."""
        with self._tx.read() as session:
            return admin_queries.audit_log(session, limit)

    # analytics

    def daily_counts(
        self, days: int = 30, *, tz: tzinfo = UTC, now: datetime | None = None
    ) -> list[DailyCount]:
        """Questions, bot answers and handoffs per local day in `tz`, the last `days` days, oldest first."""
        with self._tx.read() as session:
            return analytics_queries.daily_counts(session, days, tz, now or utcnow())

    def daily_outcomes(
        self,
        days: int = 30,
        *,
        low_confidence_below: float,
        tz: tzinfo = UTC,
        now: datetime | None = None,
    ) -> list[DailyOutcome]:
        """What became of each local day's questions (see DailyOutcome), oldest first."""
        with self._tx.read() as session:
            return outcome_queries.daily_outcomes(session, days, tz, now or utcnow(), low_confidence_below)

    def unanswered_questions(
        self,
        days: int = 30,
        *,
        low_confidence_below: float,
        limit: int = 10,
        tz: tzinfo = UTC,
        now: datetime | None = None,
    ) -> list[UnansweredQuestion]:
        """The most asked questions the bot handed to staff or answered with low confidence."""
        with self._tx.read() as session:
            return outcome_queries.unanswered_questions(
                session, days, tz, now or utcnow(), low_confidence_below, limit
            )

    def first_reply_times(
        self, days: int = 30, *, tz: tzinfo = UTC, now: datetime | None = None
    ) -> FirstReplyTimes:
        """Median time to the first staff reply over the handoffs opened in the last `days` days."""
        with self._tx.read() as session:
            return analytics_queries.first_reply_times(session, days, tz, now or utcnow())

    def daily_feedback(
        self, days: int = 30, *, tz: tzinfo = UTC, now: datetime | None = None
    ) -> list[DailyFeedback]:
        """👍 and 👎 per local day, oldest first."""
        with self._tx.read() as session:
            return feedback_queries.daily_feedback(session, days, tz, now or utcnow())

    def recent_downvotes(
        self, days: int = 30, *, limit: int = 10, tz: tzinfo = UTC, now: datetime | None = None
    ) -> list[DownvotedAnswer]:
        """The latest 👎 replies with the questions they answered, newest first."""
        with self._tx.read() as session:
            return feedback_queries.recent_downvotes(session, days, tz, now or utcnow(), limit)
