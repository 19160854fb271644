"""One migration set upgrades and downgrades cleanly on SQLite and PostgreSQL, and it
describes exactly what the models declare."""

import warnings

import flask_migrate
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app import create_app
from models import db
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
            diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
        assert diff == []
    with app.app_context():
        db.engine.dispose()
