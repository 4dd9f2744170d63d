"""The questions a bot reply offers to pick from ("您是不是想问"), kept with the message so a page that
shows the reply later (history, live event stream) can show them too.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "message_suggestions",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("questions", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_message_suggestions_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_message_suggestions")),
    )


def downgrade() -> None:
    op.drop_table("message_suggestions")
