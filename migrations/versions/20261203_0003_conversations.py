"""conversations: mentions, reactions, replies

Revision ID: 0003_conversations
Revises: 0002_sessions
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_conversations"
down_revision = "0002_sessions"
branch_labels = None
depends_on = None


def upgrade():
    # Nullable columns without defaults: ALTER TABLE ... ADD COLUMN in place on both
    # databases (recreate="never": SQLite must not copy a table of every message).
    with op.batch_alter_table("messages", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("mention_names", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("reply_to_id", sa.Integer(), nullable=True))
    op.create_table(
        "mentions",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_mentions_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_mentions_room_id_rooms"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_mentions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("message_id", "user_id", name=op.f("pk_mentions")),
    )
    op.create_index("ix_mentions_unread", "mentions", ["user_id", "room_id", "message_id"])
    op.create_index("ix_mentions_newest", "mentions", ["user_id", "message_id"])
    op.create_table(
        "reactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("emoji", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_reactions_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_reactions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reactions")),
        sa.UniqueConstraint("message_id", "user_id", "emoji", name="uq_reactions_once"),
    )
    op.create_index("ix_reactions_page", "reactions", ["message_id", "id"])


def downgrade():
    op.drop_index("ix_reactions_page", table_name="reactions")
    op.drop_table("reactions")
    op.drop_index("ix_mentions_newest", table_name="mentions")
    op.drop_index("ix_mentions_unread", table_name="mentions")
    op.drop_table("mentions")
    # ALTER TABLE ... DROP COLUMN (SQLite >= 3.35), not batch mode's copy of every message.
    with op.batch_alter_table("messages", recreate="never") as batch_op:
        batch_op.drop_column("reply_to_id")
        batch_op.drop_column("mention_names")
