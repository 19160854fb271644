"""hardening: room lists count unread on the index alone; sessions expire when unused

Revision ID: 0004_hardening
Revises: 0003_conversations
Create Date: 2026-12-03

On PostgreSQL ix_messages_room_history is rebuilt with the author and the deleted flag
included (an index-only count of a room's unread messages: a user of 1,000 rooms lists
them without reading the table). SQLite keeps the index as it is. user_sessions gains
last_used_at (null: unused since created_at).
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_hardening"
down_revision = "0003_conversations"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_messages_room_history", table_name="messages")
        op.create_index(
            "ix_messages_room_history",
            "messages",
            ["room_id", "id"],
            postgresql_include=["user_id", "deleted"],
        )
    with op.batch_alter_table("user_sessions", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("user_sessions", recreate="never") as batch_op:
        batch_op.drop_column("last_used_at")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_messages_room_history", table_name="messages")
        op.create_index("ix_messages_room_history", "messages", ["room_id", "id"])
