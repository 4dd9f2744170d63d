"""State every worker shares: console form tokens (a form posted twice does its work once) and the staff
alert queue with each notification target's posts (its per-minute budget) and sending lease.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "form_tokens",
        sa.Column("token", sa.String(128), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("result_id", sa.Integer(), nullable=True),
        _when("created_at"),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_form_tokens_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token", "purpose", "conversation_id", name=op.f("pk_form_tokens")),
    )
    op.create_index(op.f("ix_form_tokens_created_at"), "form_tokens", ["created_at"])

    op.create_table(
        "staff_alerts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(255), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("attempt", sa.Text(), nullable=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("user_name", sa.String(255), nullable=False),
        _when("created_at"),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        _when("queued_at"),
        _when("done_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_alerts")),
    )
    op.create_index(op.f("ix_staff_alerts_target_state_id"), "staff_alerts", ["target", "state", "id"])
    op.create_index(op.f("ix_staff_alerts_state_done_at"), "staff_alerts", ["state", "done_at"])

    op.create_table(
        "staff_alert_posts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("target", sa.String(16), nullable=False),
        _when("posted_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_alert_posts")),
    )
    op.create_index(
        op.f("ix_staff_alert_posts_target_posted_at"), "staff_alert_posts", ["target", "posted_at"]
    )

    op.create_table(
        "staff_alert_leases",
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("holder", sa.String(128), nullable=True),
        _when("lease_until", nullable=True),
        sa.PrimaryKeyConstraint("target", name=op.f("pk_staff_alert_leases")),
    )


def downgrade() -> None:
    for table in ("staff_alert_leases", "staff_alert_posts", "staff_alerts", "form_tokens"):
        op.drop_table(table)  # indexes go with their table
