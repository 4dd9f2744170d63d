"""What channels share across workers: keyed values (platform access tokens, sync cursors) and the
replay guard's ledger of signed (timestamp, nonce) pairs.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_state",
        sa.Column("key", sa.String(191), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_channel_state")),
    )
    op.create_table(
        "edge_nonces",
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("nonce_key", sa.String(191), nullable=False),
        sa.Column("body_hash", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "nonce_key", name=op.f("pk_edge_nonces")),
    )
    op.create_index(op.f("ix_edge_nonces_expires_at"), "edge_nonces", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_edge_nonces_expires_at"), table_name="edge_nonces")
    op.drop_table("edge_nonces")
    op.drop_table("channel_state")
