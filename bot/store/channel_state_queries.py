"""What channels share across workers: small keyed values (access tokens, sync cursors) and the replay
guard's (timestamp, nonce) ledger."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.store.columns import utcnow
from bot.store.models import ChannelStateRow, EdgeNonceRow
from bot.store.rows import check_aware, check_text, insert_or_get, without_nul

KEY_CHARS = 191


def get_state(session: Session, key: str, now: datetime) -> str | None:
    """The value under `key`, None when absent or expired at `now`."""
    check_aware(now, "now")
    row = session.get(ChannelStateRow, check_text(key, "key", max_chars=KEY_CHARS))
    if row is None or (row.expires_at is not None and row.expires_at <= now):
        return None
    return row.value


def put_state(session: Session, key: str, value: str, expires_at: datetime | None) -> None:
    """Set `key` (insert or replace), valid until `expires_at` (None: no expiry)."""
    if expires_at is not None:
        check_aware(expires_at, "expires_at")
    key = check_text(key, "key", max_chars=KEY_CHARS)
    value = without_nul(value)
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


def delete_state(session: Session, key: str) -> None:
    session.execute(delete(ChannelStateRow).where(ChannelStateRow.key == key))


def claim_nonce(
    session: Session, channel: str, key: str, body_hash: str, expires_at: datetime, now: datetime
) -> bool:
    """Record that (channel, key) carried `body_hash`. True when it is new, or was seen with the same
    body (a delivery repeated); False when it was seen with another body (a replay). Expired pairs are
    forgotten on the way."""
    check_aware(now, "now")
    session.execute(delete(EdgeNonceRow).where(EdgeNonceRow.expires_at <= now))
    key = check_text(key, "nonce key", max_chars=KEY_CHARS)

    def existing() -> EdgeNonceRow | None:
        found = select(EdgeNonceRow).where(EdgeNonceRow.channel == channel, EdgeNonceRow.nonce_key == key)
        return session.scalars(found.execution_options(populate_existing=True)).one_or_none()

    row = existing()
    if row is None:
        candidate = EdgeNonceRow(channel=channel, nonce_key=key, body_hash=body_hash, expires_at=expires_at)
        row, inserted = insert_or_get(session, candidate, existing)
        if inserted:
            return True
    return row.body_hash == body_hash
