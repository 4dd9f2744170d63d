"""When an inbound message's turn finished: a message stored but never handled (the process died, the
database went away mid-answer) is found by recovery and answered or handed to staff. Messages already
stored count as handled.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_messages_handled_at_direction", ["handled_at", "direction"])
    op.execute("UPDATE messages SET handled_at = created_at WHERE direction = 'in'")


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_index("ix_messages_handled_at_direction")
        batch.drop_column("handled_at")
