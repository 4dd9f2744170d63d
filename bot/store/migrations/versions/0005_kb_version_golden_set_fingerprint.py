"""A knowledge-base version's `note` column held the fingerprint of the golden set its metrics were
measured on: it is named for that now, golden_set_fingerprint.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("kb_versions") as batch:
        batch.alter_column(
            "note", new_column_name="golden_set_fingerprint", existing_type=sa.Text(), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("kb_versions") as batch:
        batch.alter_column(
            "golden_set_fingerprint", new_column_name="note", existing_type=sa.Text(), existing_nullable=False
        )
