"""docker-compose.yml cannot run here (no Docker engine): validate it against the compose
spec, and check what the README promises about it."""

import subprocess
import sys
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"


def compose() -> dict:
    return YAML(typ="safe").load(COMPOSE.read_text())


def test_compose_file_matches_the_compose_spec():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            COMPOSE,
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_two_eventlet_servers_start_after_migrations_behind_sticky_nginx():
    services = compose()["services"]
    assert services["db"]["image"].startswith("postgres:16")
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    assert services["migrate"]["command"][-2:] == ["db", "upgrade"]
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    for name in ("web1", "web2"):
        web = services[name]
        assert web["environment"]["ASYNC_MODE"] == "eventlet"
        assert web["environment"]["REDIS_URL"].startswith("redis://redis:")
        assert web["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    nginx_conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "ip_hash;" in nginx_conf
    assert "server web1:5000;" in nginx_conf and "server web2:5000;" in nginx_conf
    assert "Upgrade $http_upgrade" in nginx_conf


def test_both_servers_keep_attachments_in_minio_whose_bucket_exists_first():
    services = compose()["services"]
    assert services["minio"]["image"].startswith("quay.io/minio/minio:RELEASE.")
    assert "9000:9000" in services["minio"]["ports"]
    bucket = services["bucket"]
    assert bucket["depends_on"]["minio"]["condition"] == "service_healthy"
    assert "mc mb --ignore-existing store/chat-attachments" in bucket["entrypoint"][-1]
    for name in ("web1", "web2"):
        web = services[name]
        environment = web["environment"]
        assert environment["S3_BUCKET"] == "chat-attachments"
        assert environment["S3_ENDPOINT_URL"] == "http://minio:9000"
        assert environment["S3_PUBLIC_URL"].endswith("localhost:9000}")
        assert environment["AWS_ACCESS_KEY_ID"] and environment["AWS_SECRET_ACCESS_KEY"]
        assert web["depends_on"]["bucket"]["condition"] == "service_completed_successfully"
    assert "S3_BUCKET" not in services["migrate"]["environment"]  # it stores no file
    nginx_conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "client_max_body_size 11m;" in nginx_conf  # nginx's own default is 1 MB


def test_every_configuration_variable_is_in_env_example():
    example = (ROOT / ".env.example").read_text()
    names = [
        "DATABASE_URL",
        "SECRET_KEY",
        "HOST",
        "PORT",
        "ASYNC_MODE",
        "REDIS_URL",
        "SOCKETIO_CHANNEL",
        "RATE_LIMIT",
        "CORS_ALLOWED_ORIGINS",
        "MAX_UPLOAD_MB",
        "UPLOAD_QUOTA_MB",
        "ATTACHMENTS_FOLDER",
        "S3_BUCKET",
        "S3_ENDPOINT_URL",
        "S3_PUBLIC_URL",
    ]
    lines = example.splitlines()
    for name in names:
        index = next(i for i, line in enumerate(lines) if line.startswith(f"{name}="))
        assert lines[index - 1].startswith("#") or lines[index - 2].startswith("#"), name
