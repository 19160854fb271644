"""browser sessions on the server, API token versions

Revision ID: 0002_sessions
Revises: 0001_initial
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_sessions"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade():
    # A plain server default: SQLite then adds the column in place (no table copy, which
    # would lose the lower(username) index that SQLite cannot reflect).
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(
            sa.Column("token_version", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
    )
    op.create_index("ix_user_sessions_user_id", "user_sessions", ["user_id"])


def downgrade():
    op.drop_index("ix_user_sessions_user_id", table_name="user_sessions")
    op.drop_table("user_sessions")
    # ALTER TABLE ... DROP COLUMN (SQLite >= 3.35) instead of batch mode's table copy: the
    # copy would lose the lower(username) index, and dropping the old "users" table would
    # cascade to every message and membership.
    with op.batch_alter_table("users", recreate="never") as batch_op:
        batch_op.drop_column("token_version")
