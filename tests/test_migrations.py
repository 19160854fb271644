"""One migration set upgrades and downgrades cleanly on SQLite and PostgreSQL, and it
describes exactly what the models declare."""

import warnings

import flask_migrate
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app import create_app
from models import db, declared_in_models
from tests.conftest import base_config

TABLES = {"users", "rooms", "memberships", "messages"}


def test_downgrade_to_base_and_upgrade_again(database_url):
    app = create_app(base_config(database_url))
    with app.app_context():
        flask_migrate.downgrade(revision="base")
        assert not TABLES & set(inspect(db.engine).get_table_names())
        flask_migrate.upgrade()
        assert set(inspect(db.engine).get_table_names()) >= TABLES
        indexes = {i["name"] for i in inspect(db.engine).get_indexes("messages")}
        assert "ix_messages_room_history" in indexes
        db.engine.dispose()


def test_models_and_migrations_agree(database_url):
    app = create_app(base_config(database_url))
    with app.app_context(), db.engine.connect() as connection:
        with warnings.catch_warnings():
            # SQLite cannot reflect the expression index on lower(username).
            warnings.filterwarnings("ignore", message=".*expression-based index")
            # Search's index (an FTS5 table and its shadow tables on SQLite, a GIN index
            # over an expression on PostgreSQL) is no model's: migration 0003 makes it,
            # and tests/test_search.py checks it.
            context = MigrationContext.configure(
                connection, opts={"include_name": declared_in_models}
            )
            diff = compare_metadata(context, db.metadata)
        assert diff == []
    with app.app_context():
        db.engine.dispose()


def test_the_migrations_have_one_head():
    """Branches that each add a migration after the same parent leave two heads, and
    `flask db upgrade` stops: the later one re-points its down_revision when they meet."""
    from pathlib import Path

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent.parent / "migrations"))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, heads
