"""The channel state repository: small keyed values channels share across workers (access tokens, sync
cursors) and the replay guard's ledger of signed (timestamp, nonce) pairs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from bot.store.columns import utcnow
from bot.store.engine import Transactions
from bot.store.models import ChannelStateRow, EdgeNonceRow
from bot.store.rows import check_aware, check_text, insert_or_get, without_nul

KEY_CHARS = 191


class ChannelState:
    """Every method runs in a transaction of its own. Keys are namespaced by channel ("wechat:…")."""

    def __init__(self, tx: Transactions) -> None:
        self._tx = tx

    def get(self, key: str, now: datetime | None = None) -> str | None:
        """A channel's shared value (an access token, a cursor); None when absent or expired at `now`."""
        now = check_aware(now or utcnow(), "now")
        key = check_text(key, "key", max_chars=KEY_CHARS)
        with self._tx.read() as session:
            row = session.get(ChannelStateRow, key)
            if row is None or (row.expires_at is not None and row.expires_at <= now):
                return None
            return row.value

    def put(self, key: str, value: str, expires_at: datetime | None = None) -> None:
        """Set `key` (insert or replace), valid until `expires_at` (None: no expiry)."""
        if expires_at is not None:
            check_aware(expires_at, "expires_at")
        key = check_text(key, "key", max_chars=KEY_CHARS)
        value = without_nul(value)
        with self._tx.write() as session:
            row = session.get(ChannelStateRow, key, with_for_update=True)
            if row is None:
                row, inserted = insert_or_get(
                    session,
                    ChannelStateRow(key=key, value=value, expires_at=expires_at, updated_at=utcnow()),
                    lambda: session.get(ChannelStateRow, key, with_for_update=True, populate_existing=True),
                )
                if inserted:
                    return
            row.value, row.expires_at, row.updated_at = value, expires_at, utcnow()

    def delete(self, key: str) -> None:
        with self._tx.write() as session:
            session.execute(delete(ChannelStateRow).where(ChannelStateRow.key == key))

    def claim_nonce(
        self, channel: str, key: str, body_hash: str, expires_at: datetime, now: datetime
    ) -> bool:
        """Record that (channel, key) carried `body_hash`. True when it is new, or was seen with the same
        body (a delivery repeated); False when it was seen with another body (a replay). Expired pairs
        are forgotten on the way."""
        check_aware(now, "now")
        key = check_text(key, "nonce key", max_chars=KEY_CHARS)
        with self._tx.write() as session:
            session.execute(delete(EdgeNonceRow).where(EdgeNonceRow.expires_at <= now))

            def existing() -> EdgeNonceRow | None:
                found = select(EdgeNonceRow).where(
                    EdgeNonceRow.channel == channel, EdgeNonceRow.nonce_key == key
                )
                return session.scalars(found.execution_options(populate_existing=True)).one_or_none()

            row = existing()
            if row is None:
                candidate = EdgeNonceRow(
                    channel=channel, nonce_key=key, body_hash=body_hash, expires_at=expires_at
                )
                row, inserted = insert_or_get(session, candidate, existing)
                if inserted:
                    return True
            return row.body_hash == body_hash
