"""owners: roles on memberships, room topics, bans, the moderation record

Revision ID: 0006_owners
Revises: 0005_search
Create Date: 2026-12-04

- ``memberships.role`` (``owner``, ``moderator`` or ``member``; ``member`` for what is
  stored already), and each public room's earliest member (by ``joined_at``, then user
  id) becomes its owner; a room without members gets one with its next join. Direct
  rooms have no roles (their two memberships stay ``member``). A partial unique index
  keeps one owner per room.
- ``rooms.topic`` (null: none).
- ``bans`` (who may not join or read a room) and ``room_audit`` (every moderation action
  and topic change).

Every column is added in place (``recreate="never"``): ``messages`` is not touched, so
SQLite's FTS5 triggers on it (0005_search) stay as they are.

Downgrading drops the roles, topics, bans and record. Rooms made private keep
``kind = 'private'``, which the code of 0005 does not know: it would let anyone read them,
so downgrade only a deployment that has none (or remove them first).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_owners"
down_revision = "0005_search"
branch_labels = None
depends_on = None

ONLY_OWNERS = sa.text("role = 'owner'")


def upgrade():
    with op.batch_alter_table("memberships", recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("role", sa.String(length=16), nullable=False, server_default="member")
        )
    with op.batch_alter_table("rooms", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("topic", sa.String(length=250), nullable=True))
    # The earliest member of each public room owns it (the user whose join created it,
    # unless they left since).
    op.execute(
        """
        UPDATE memberships SET role = 'owner'
        WHERE room_id IN (SELECT id FROM rooms WHERE kind = 'public')
          AND user_id = (
            SELECT earliest.user_id FROM memberships AS earliest
            WHERE earliest.room_id = memberships.room_id
            ORDER BY earliest.joined_at, earliest.user_id
            LIMIT 1
          )
        """
    )
    op.create_index(
        "uq_memberships_owner",
        "memberships",
        ["room_id"],
        unique=True,
        sqlite_where=ONLY_OWNERS,
        postgresql_where=ONLY_OWNERS,
    )
    op.create_table(
        "bans",
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name="fk_bans_room_id_rooms", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_bans_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("room_id", "user_id", name="pk_bans"),
    )
    op.create_table(
        "room_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=250), nullable=True),
        sa.Column("topic", sa.String(length=250), nullable=True),
        sa.Column("newest_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name="fk_room_audit_room_id_rooms", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name="fk_room_audit_actor_id_users", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["target_id"], ["users.id"], name="fk_room_audit_target_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_room_audit"),
    )
    op.create_index("ix_room_audit_newest", "room_audit", ["room_id", "id"])
    op.create_index("ix_room_audit_target", "room_audit", ["target_id", "room_id"])


def downgrade():
    op.drop_index("ix_room_audit_target", table_name="room_audit")
    op.drop_index("ix_room_audit_newest", table_name="room_audit")
    op.drop_table("room_audit")
    op.drop_table("bans")
    op.drop_index("uq_memberships_owner", table_name="memberships")
    # ALTER TABLE ... DROP COLUMN, not a table copy (see 0002_sessions).
    with op.batch_alter_table("rooms", recreate="never") as batch_op:
        batch_op.drop_column("topic")
    with op.batch_alter_table("memberships", recreate="never") as batch_op:
        batch_op.drop_column("role")
