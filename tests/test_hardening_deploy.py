"""The compose file and nginx, read as text (no Docker engine here): the proxy setting that
makes throttles work behind nginx."""

from __future__ import annotations

import re

from tests.test_deploy import ROOT, compose


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
