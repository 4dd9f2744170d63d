"""The Store: the database, its schema, and one repository per aggregate.

Each repository method runs in its own transaction that commits on success and rolls back on any error,
and returns frozen records. Database failures surface as StoreUnavailable, refused operations as
StoreError."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from bot.store.admin import AdminRecords
from bot.store.analytics import Analytics
from bot.store.channel_state import ChannelState
from bot.store.conversations import Conversations
from bot.store.deliveries import Deliveries
from bot.store.engine import Transactions, create_store_engine, describe, parse_url
from bot.store.handoffs import Handoffs
from bot.store.inbound import InboundLedger
from bot.store.migrate import migrate
from bot.store.staff import StaffAccounts
from bot.store.staff_alerts import StaffAlerts
from config.settings import Settings

DEFAULT_SQLITE_NAME = "stdbot.db"


class Store:
    """Conversation store on SQLite (default) or PostgreSQL (`postgresql+psycopg://…`).

    conversations: conversations, their messages and the users' votes; handoffs: conversations handed to
    staff; deliveries: the outbox; staff: accounts, logins and the audit log; admin: knowledge-base
    versions, FAQ drafts and console form tokens; channel_state: what channels share across workers;
    staff_alerts: the queue of handoff alerts; analytics: what the analytics page reads."""

    def __init__(self, url: str | URL, *, echo: bool = False) -> None:
        self.url = parse_url(url) if isinstance(url, str) else url
        self._engine = create_store_engine(self.url, echo=echo)
        tx = Transactions(self._engine, self.url)
        self.conversations = Conversations(tx)
        self.inbound = InboundLedger(tx)
        self.handoffs = Handoffs(tx)
        self.deliveries = Deliveries(tx)
        self.staff = StaffAccounts(tx)
        self.admin = AdminRecords(tx)
        self.channel_state = ChannelState(tx)
        self.staff_alerts = StaffAlerts(tx)
        self.analytics = Analytics(tx)

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
