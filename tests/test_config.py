"""Configuration from the environment."""

from types import SimpleNamespace

import pytest

from app import _instance_secret_key, create_app
from config import database_url as _database_url
from config import origins as _origins


def test_a_missing_secret_key_is_made_once_and_reused(tmp_path, caplog):
    app = SimpleNamespace(instance_path=str(tmp_path))
    first = _instance_secret_key(app)
    assert len(first) == 64 and "SECRET_KEY is not set" in caplog.text
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert _instance_secret_key(app) == first


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("*", "*"),
        ("https://a.example, https://b.example", ["https://a.example", "https://b.example"]),
    ],
)
def test_cors_origins(value, expected):
    assert _origins(value) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql:///test", "postgresql+psycopg2:///test"),
        ("postgres://u:p@h/db", "postgresql+psycopg2://u:p@h/db"),
        ("postgresql+psycopg2://h/db", "postgresql+psycopg2://h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_postgres_urls_use_psycopg2(url, expected):
    assert _database_url(url) == expected


def test_environment_configures_the_app(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/from-env.db")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("RATE_LIMIT", "5/minute")
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", "https://chat.example")
    app = create_app({"ASYNC_MODE": "threading"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:////tmp/from-env.db"
    assert app.secret_key == "from-env"
    assert app.config["RATE_LIMIT"] == "5/minute"
    assert app.config["CORS_ALLOWED_ORIGINS"] == ["https://chat.example"]


def test_a_bad_rate_limit_fails_at_startup(monkeypatch):
    monkeypatch.setenv("RATE_LIMIT", "lots")
    with pytest.raises(ValueError):
        create_app({"ASYNC_MODE": "threading", "SECRET_KEY": "x"})


def test_sqlite_runs_in_wal_mode(tmp_path):
    from sqlalchemy import text

    from models import db

    app = create_app(
        {
            "SECRET_KEY": "x",
            "ASYNC_MODE": "threading",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/wal.db",
        }
    )
    with app.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        db.engine.dispose()
