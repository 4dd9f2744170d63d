"""What channels share across workers: keyed values and the replay guard's nonces."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.columns import utcnow
from bot.store.models.base import Base


class ChannelStateRow(Base):
    """A small value a channel keeps for every worker: a platform access token with its expiry, a sync
    cursor. Keys are namespaced by channel ("wechat:access_token", "wechat_kf:cursor:…")."""

    __tablename__ = "channel_state"

    key: Mapped[str] = mapped_column(String(191), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class EdgeNonceRow(Base):
    """A signed (timestamp, nonce) pair a platform callback used, and the hash of the body it carried."""

    __tablename__ = "edge_nonces"
    __table_args__ = (Index(None, "expires_at"),)

    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    nonce_key: Mapped[str] = mapped_column(String(191), primary_key=True)
    body_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
