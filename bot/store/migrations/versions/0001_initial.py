"""Initial schema: conversations, messages, handoffs, feedback, staff, knowledge-base versions,
FAQ drafts, the outbox and the audit log.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), primary_key=True)


def _when(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(column: str, target: str, table: str, ondelete: str) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column], [target], name=op.f(f"fk_{table}_{column}_{referred}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "conversations",
        _id(),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("chat_id", sa.String(255), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("user_name", sa.String(255), nullable=True),
        sa.Column("chat_type", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("low_confidence_streak", sa.Integer(), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint(
            "channel", "chat_id", "user_id", name=op.f("uq_conversations_channel_chat_id_user_id")
        ),
    )
    op.create_index(op.f("ix_conversations_state_updated_at"), "conversations", ["state", "updated_at"])
    op.create_index(op.f("ix_conversations_updated_at"), "conversations", ["updated_at"])

    op.create_table(
        "messages",
        _id(),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("author", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("channel_message_id", sa.String(255), nullable=True),
        sa.Column("mode", sa.String(32), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("citations", sa.Text(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        _when("created_at"),
        sa.CheckConstraint("direction IN ('in', 'out')", name=op.f("ck_messages_direction")),
        _fk("conversation_id", "conversations.id", "messages", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    op.create_index(op.f("ix_messages_conversation_id_id"), "messages", ["conversation_id", "id"])
    op.create_index(op.f("ix_messages_created_at"), "messages", ["created_at"])
    has_platform_id = sa.text("channel_message_id IS NOT NULL")
    op.create_index(
        "uq_messages_channel_channel_message_id",
        "messages",
        ["channel", "channel_message_id"],
        unique=True,
        postgresql_where=has_platform_id,
        sqlite_where=has_platform_id,
    )

    op.create_table(
        "handoffs",
        _id(),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("staff", sa.String(128), nullable=True),
        _when("created_at"),
        _when("claimed_at", nullable=True),
        _when("resolved_at", nullable=True),
        _when("first_reply_at", nullable=True),
        _fk("conversation_id", "conversations.id", "handoffs", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoffs")),
    )
    op.create_index(op.f("ix_handoffs_conversation_id"), "handoffs", ["conversation_id"])
    op.create_index(op.f("ix_handoffs_state_created_at"), "handoffs", ["state", "created_at"])
    unresolved = sa.text("state <> 'resolved'")
    op.create_index(
        "uq_handoffs_active_conversation",
        "handoffs",
        ["conversation_id"],
        unique=True,
        postgresql_where=unresolved,
        sqlite_where=unresolved,
    )

    op.create_table(
        "feedback",
        _id(),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        _when("created_at"),
        sa.CheckConstraint("value IN (-1, 1)", name=op.f("ck_feedback_value")),
        _fk("message_id", "messages.id", "feedback", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
        sa.UniqueConstraint("message_id", name=op.f("uq_feedback_message_id")),
    )
    op.create_index(op.f("ix_feedback_created_at"), "feedback", ["created_at"])

    op.create_table(
        "staff",
        _id(),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        _when("locked_until", nullable=True),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_username")),
    )

    op.create_table(
        "kb_versions",
        _id(),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("metrics", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        _when("recorded_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_versions")),
        sa.UniqueConstraint("version", name=op.f("uq_kb_versions_version")),
    )

    op.create_table(
        "faq_drafts",
        _id(),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("basis", sa.Text(), nullable=True),
        sa.Column("author", sa.String(128), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        _when("created_at"),
        _fk("conversation_id", "conversations.id", "faq_drafts", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faq_drafts")),
    )
    op.create_index(op.f("ix_faq_drafts_state_id"), "faq_drafts", ["state", "id"])

    op.create_table(
        "outbox",
        _id(),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("chat_id", sa.String(255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _when("next_attempt_at"),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("platform_message_id", sa.String(255), nullable=True),
        _when("created_at"),
        _when("updated_at"),
        _fk("message_id", "messages.id", "outbox", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("message_id", name=op.f("uq_outbox_message_id")),
    )
    op.create_index(op.f("ix_outbox_state_next_attempt_at"), "outbox", ["state", "next_attempt_at"])

    op.create_table(
        "audit_log",
        _id(),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_created_at"), "audit_log", ["created_at"])


def downgrade() -> None:
    for table in (
        "audit_log",
        "outbox",
        "faq_drafts",
        "kb_versions",
        "staff",
        "feedback",
        "handoffs",
        "messages",
        "conversations",
    ):
        op.drop_table(table)  # indexes go with their table
