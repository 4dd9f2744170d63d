"""The Store: the one entry point to conversations, handoffs, the outbox, staff and admin records.

Every method runs in its own transaction that commits on success and rolls back on any error, and
returns frozen records. Database failures surface as StoreUnavailable, refused operations as StoreError."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, tzinfo

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from bot.messages import IncomingMessage
from bot.store import admin_queries, analytics_queries, handoff_queries, outbox_queries, staff_queries
from bot.store import conversation_queries as conversations
from bot.store.columns import utcnow
from bot.store.engine import Transactions, create_store_engine, describe, parse_url
from bot.store.migrate import migrate
from bot.store.models import ConversationRow, DeliveryRow, HandoffRow
from bot.store.records import (
    AuditRecord,
    ConversationRecord,
    DailyCount,
    DeliveryRecord,
    FaqDraftRecord,
    HandoffRecord,
    InboundResult,
    KbVersionRecord,
    MessageRecord,
    StaffRecord,
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
