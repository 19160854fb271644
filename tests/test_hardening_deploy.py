"""The image and the compose file, read as text (no Docker engine here): Node only in a
build stage, an unprivileged server, and the proxy setting that makes throttles work
behind nginx."""

from __future__ import annotations

import re

from tests.test_deploy import ROOT, compose


def stages() -> list[tuple[str, list[str]]]:
    """The Dockerfile's stages: (FROM line, the instructions after it), comments dropped
    and continued lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    result: list[tuple[str, list[str]]] = []
    for line in lines:
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            result.append((line, []))
        else:
            result[-1][1].append(line)
    return result


def test_node_builds_the_vendor_files_in_a_stage_of_its_own():
    (node_from, node_steps), *_ = stages()
    assert node_from.split()[1].startswith("node:")
    alias = node_from.split()[-1]
    steps = " ".join(node_steps)
    assert "npm ci" in steps and "static/vendor" in steps
    final_from, final_steps = stages()[-1]
    assert final_from.split()[1].startswith("python:")
    assert any(
        step.startswith(f"COPY --from={alias} ") and "static/vendor" in step for step in final_steps
    )


def test_the_image_that_runs_has_no_node_and_no_root():
    _, steps = stages()[-1]
    joined = " ".join(steps).lower()
    assert "npm" not in joined and "nodejs" not in joined and "node_modules" not in joined
    users = [step.split()[1] for step in steps if step.upper().startswith("USER ")]
    assert users and users[-1] not in ("root", "0", "0:0")
    # The server runs after the last USER line.
    last_user = max(i for i, step in enumerate(steps) if step.upper().startswith("USER "))
    cmd = next(i for i, step in enumerate(steps) if step.upper().startswith("CMD "))
    assert cmd > last_user and "serve.py" in steps[cmd]
    # Code in the image is not the server's to change; instance/ is.
    assert not any(step.upper().startswith("COPY --CHOWN") for step in steps)
    assert any("chown" in step and "instance" in step for step in steps)


def test_dockerignore_keeps_local_installs_and_secrets_out():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for name in (".venv", "node_modules", "static/vendor", "instance", ".env", ".git"):
        assert name in ignored


def test_the_servers_trust_exactly_the_nginx_in_front_of_them():
    services = compose()["services"]
    for name in ("web1", "web2"):
        assert services[name]["environment"]["TRUSTED_PROXIES"] == "1"
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    locations = re.findall(r"location [^{]+\{([^}]*)\}", nginx)
    assert len(locations) == 2
    for block in locations:
        assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in block
        assert "proxy_set_header X-Forwarded-Proto $scheme;" in block


def test_the_new_settings_are_in_env_example_and_the_readme():
    example = (ROOT / ".env.example").read_text().splitlines()
    readme = (ROOT / "README.md").read_text()
    for name in ("TRUSTED_PROXIES", "SESSION_COOKIE_SECURE", "HSTS_MAX_AGE"):
        index = next(i for i, line in enumerate(example) if line.startswith(f"{name}="))
        assert example[index - 1].startswith("#"), name
        assert f"| `{name}` |" in readme, name
