"""Migration 0002 (browser sessions, token versions) goes down and up again on SQLite and
PostgreSQL without losing accounts or messages, or the case-insensitive name index."""

import flask_migrate
import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from app import create_app
from models import Membership, Message, Room, User, UserSession, db
from tests.conftest import TABLES, base_config


@pytest.fixture
def migrating_app(database_url):
    app = create_app(base_config(database_url))
    yield app
    with app.app_context():
        flask_migrate.upgrade()
        for table in TABLES:
            db.session.execute(text(f"DELETE FROM {table}"))
        db.session.commit()
        db.engine.dispose()


def test_sessions_migration_down_and_up_keeps_the_data(migrating_app):
    with migrating_app.app_context():
        alice = User(username="alice", password_hash="x", token_version=3)
        room = Room(name="r")
        db.session.add_all([alice, room])
        db.session.flush()
        db.session.add_all(
            [
                Membership(room_id=room.id, user_id=alice.id),
                Message(room_id=room.id, user_id=alice.id, body="kept"),
                UserSession(id="s1", user_id=alice.id),
            ]
        )
        db.session.commit()

        flask_migrate.downgrade(revision="0001_initial")
        inspector = inspect(db.engine)
        assert "user_sessions" not in inspector.get_table_names()
        assert "token_version" not in {c["name"] for c in inspector.get_columns("users")}
        assert db.session.execute(text("SELECT body FROM messages")).scalars().all() == ["kept"]
        assert db.session.execute(text("SELECT count(*) FROM memberships")).scalar() == 1
        with pytest.raises(IntegrityError):  # lower(username) is still unique
            db.session.execute(
                text(
                    "INSERT INTO users (username, password_hash, created_at) "
                    "VALUES ('ALICE', 'x', CURRENT_TIMESTAMP)"
                )
            )
        db.session.rollback()

        flask_migrate.upgrade()
        db.session.expire_all()
        assert db.session.scalar(select(User.token_version)) == 0  # the server default
        assert db.session.scalar(select(func.count()).select_from(UserSession)) == 0
        assert db.session.scalar(select(Message.body)) == "kept"
        db.session.add(UserSession(id="s2", user_id=db.session.scalar(select(User.id))))
        db.session.commit()
