"""Settings: defaults, read from the environment (or ``.env``), checked at start.

``create_app`` applies ``from_environment()``, then any ``FLASK_<NAME>`` variable, then
the test mapping. Each setting is documented in README.md and .env.example.
"""

from __future__ import annotations

import os

from chat import rules


def origins(value: str | None) -> list[str] | str | None:
    """CORS_ALLOWED_ORIGINS: unset means same origin only (python-engineio's None)."""
    if not value or not value.strip():
        return None
    if value.strip() == "*":
        return "*"
    return [origin.strip() for origin in value.split(",") if origin.strip()]


def database_url(url: str) -> str:
    """Plain postgresql:// URLs use psycopg2: SQLAlchemy 2.1 would pick psycopg 3, which
    eventlet cannot make cooperative."""
    scheme, sep, rest = url.partition("://")
    if scheme in ("postgres", "postgresql"):
        return f"postgresql+psycopg2{sep}{rest}"
    return url


def pool_options(url: str, size: int) -> dict:
    """Enough pooled connections for the events in flight at once, so none is opened and
    closed per event; SQLite (a file) keeps SQLAlchemy's own pool."""
    if url.startswith("sqlite"):
        return {}
    return {"pool_size": size, "max_overflow": size}


def flag(name: str, value: str | None) -> bool:
    """A yes/no setting: 1/true/yes/on or 0/false/no/off (unset or empty: off)."""
    text = (value or "").strip().lower()
    if text in ("", "0", "false", "no", "off"):
        return False
    if text in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"{name} must be 1/true/yes/on or 0/false/no/off, not {value!r}")


def count(name: str, value: str | None, default: int = 0) -> int:
    """A non-negative whole-number setting (unset or empty: the default)."""
    if value is None or not value.strip():
        return default
    if not value.strip().isdigit():
        raise ValueError(f"{name} must be a whole number >= 0, not {value!r}")
    return int(value)


def from_environment(instance_path: str) -> dict:
    env = os.environ.get
    return {
        "SECRET_KEY": env("SECRET_KEY") or None,
        "SQLALCHEMY_DATABASE_URI": env("DATABASE_URL")
        or "sqlite:///" + os.path.join(instance_path, "chat.db"),
        # No pre-ping (a round trip per event): models.ping_idle_connections checks only
        # connections that sat idle, which is what an outage leaves behind.
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "DB_POOL_SIZE": int(env("DB_POOL_SIZE") or 20),
        "MAX_PACKET_SIZE": 64 * 1024,
        "MAX_ROOMS_PER_CONNECTION": int(env("MAX_ROOMS_PER_CONNECTION") or 200),
        "MAX_CONNECTIONS_PER_USER": int(env("MAX_CONNECTIONS_PER_USER") or 50),
        # Memberships one user may hold: the join that would add one more is limit_reached.
        "MAX_ROOMS_PER_USER": count("MAX_ROOMS_PER_USER", env("MAX_ROOMS_PER_USER"), 1000),
        "PING_INTERVAL": int(env("PING_INTERVAL") or 25),
        "PING_TIMEOUT": int(env("PING_TIMEOUT") or 20),
        "ASYNC_MODE": env("ASYNC_MODE") or "eventlet",
        "REDIS_URL": env("REDIS_URL") or None,
        "SOCKETIO_CHANNEL": env("SOCKETIO_CHANNEL") or "chat-on-flask",
        "RATE_LIMIT": env("RATE_LIMIT") or "20/10seconds",
        "CORS_ALLOWED_ORIGINS": origins(env("CORS_ALLOWED_ORIGINS")),
        "TOKEN_MAX_AGE": 24 * 3600,
        # Failed sign-ins per address and username, and per address; accounts made per
        # address. "off" disables one.
        "SIGNIN_RATE_LIMIT": "10/5minutes",
        "SIGNIN_ADDRESS_RATE_LIMIT": "50/5minutes",
        "REGISTER_RATE_LIMIT": "20/hour",
        # Room lists (watch_rooms, GET /api/rooms, the page) per user, across processes: a
        # user of 1,000 rooms costs tens of ms each, so a burst of 10, then one every 2 s.
        "ROOM_LIST_RATE_LIMIT": "10/20seconds",
        # Seconds a 429 answer waits before it goes out (app.SlowRefusals).
        "REFUSAL_DELAY": 0.1,
        # A browser session unused this long (seconds) is refused and swept: 30 days.
        "SESSION_MAX_AGE": 30 * 24 * 3600,
        # Searches per user (GET /api/search); "off" disables it.
        "SEARCH_RATE_LIMIT": "30/10seconds",
        "PASSWORD_HASH_METHOD": "scrypt",
        # fn(callable, *args) running it on an OS thread; the serving entry point sets it
        # for its async server (unset: inline, right for threading and the CLI).
        "RUN_IN_THREAD": None,
        # How many proxies in front set X-Forwarded-For (and -Proto): 0 trusts none.
        "TRUSTED_PROXIES": count("TRUSTED_PROXIES", env("TRUSTED_PROXIES")),
        "SESSION_COOKIE_SECURE": flag("SESSION_COOKIE_SECURE", env("SESSION_COOKIE_SECURE")),
        # Strict-Transport-Security max-age in seconds; 0 sends no header.
        "HSTS_MAX_AGE": count("HSTS_MAX_AGE", env("HSTS_MAX_AGE")),
        # The JSON API's bodies; an upload has its own bound (MAX_UPLOAD_MB), streamed.
        "MAX_CONTENT_LENGTH": 64 * 1024,
        # Attachments: bytes per file and per user (in MB), where they are kept (a folder,
        # or an S3-compatible bucket), how big an image may be, and how long presigned
        # download URLs and browsers' copies last (seconds).
        "MAX_UPLOAD_MB": count("MAX_UPLOAD_MB", env("MAX_UPLOAD_MB"), rules.MAX_UPLOAD_MB),
        "UPLOAD_QUOTA_MB": count("UPLOAD_QUOTA_MB", env("UPLOAD_QUOTA_MB"), rules.UPLOAD_QUOTA_MB),
        "ATTACHMENTS_FOLDER": env("ATTACHMENTS_FOLDER")
        or os.path.join(instance_path, "attachments"),
        "S3_BUCKET": env("S3_BUCKET") or None,
        "S3_ENDPOINT_URL": env("S3_ENDPOINT_URL") or None,
        "S3_PUBLIC_URL": env("S3_PUBLIC_URL") or None,
        "S3_URL_SECONDS": 300,
        "ATTACHMENT_MAX_AGE": 24 * 3600,
        "MAX_IMAGE_PIXELS": 40_000_000,
        # Uploads per user ("off" disables it).
        "UPLOAD_RATE_LIMIT": "60/minute",
        # How often each process removes expired uploads (seconds; 0: never).
        "ATTACHMENT_SWEEP_SECONDS": 600,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # CSRF is checked by app._check_csrf (forms) and api._identify (the JSON API).
        "WTF_CSRF_CHECK_DEFAULT": False,
    }
