"""attachments: uploaded files and the messages that carry them

Revision ID: 0007_attachments
Revises: 0006_owners
Create Date: 2026-12-03

A new table ``attachments`` (a row per uploaded file: room, uploader, the message holding
it, display name, size, sniffed type, image size, storage keys, SHA-256, expiry), and
``messages.attachment_count`` (null: none), so a history page reads ``attachments`` only
when one of its messages has any. The column is nullable without a default: both
databases add it in place (on SQLite a plain ALTER TABLE, never a table copy, which would
drop search's FTS5 triggers with the old table).
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_attachments"
down_revision = "0006_owners"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("messages", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("attachment_count", sa.Integer(), nullable=True))
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("thumb_key", sa.String(length=64), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_attachments_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["rooms.id"],
            name=op.f("fk_attachments_room_id_rooms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_attachments_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        sa.UniqueConstraint("key", name=op.f("uq_attachments_key")),
    )
    op.create_index("ix_attachments_message", "attachments", ["message_id"])
    op.create_index("ix_attachments_user", "attachments", ["user_id"])
    op.create_index("ix_attachments_expires", "attachments", ["expires_at"])


def downgrade():
    # The stored files stay where they are: the rows that named them are gone.
    op.drop_index("ix_attachments_expires", table_name="attachments")
    op.drop_index("ix_attachments_user", table_name="attachments")
    op.drop_index("ix_attachments_message", table_name="attachments")
    op.drop_table("attachments")
    with op.batch_alter_table("messages", recreate="never") as batch_op:
        batch_op.drop_column("attachment_count")
