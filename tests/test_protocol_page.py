"""docs/protocol.md against the payload models and the conformance suite: every event and
code the server has is on the page, each event's section names the codes its model
declares, and the suite checks every event and code of the page (and nothing else)."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest

from chat import payloads
from chat.errors import HTTP_STATUS
from chat.protocol import CLIENT_EVENTS, SERVER_EVENTS

ROOT = Path(__file__).resolve().parent.parent
PAGE = (ROOT / "docs" / "protocol.md").read_text()
SUITE = "\n".join(p.read_text() for p in sorted((ROOT / "conformance").glob("*.py")))
CONNECT_CODES = typing.get_args(payloads.ConnectCode)


def section(event: str) -> str:
    """The text of the page's ``### `event` `` section."""
    found = re.search(rf"^### `{event}`\n(.*?)(?=^##)", PAGE, re.S | re.M)
    assert found, f"docs/protocol.md has no section for {event}"
    return found.group(1)


@pytest.mark.parametrize("event", sorted(CLIENT_EVENTS))
def test_every_client_event_has_a_section_naming_its_error_codes(event):
    text = section(event)
    for code in CLIENT_EVENTS[event].errors:
        assert f"`{code}`" in text, f"the section of {event} does not name {code}"


@pytest.mark.parametrize("event", sorted(SERVER_EVENTS))
def test_every_server_event_is_in_the_table(event):
    assert f"\n| `{event}` |" in PAGE


@pytest.mark.parametrize("code", sorted(set(HTTP_STATUS) | set(CONNECT_CODES)))
def test_every_code_is_on_the_page(code):
    assert f"`{code}`" in PAGE


@pytest.mark.parametrize("code", CONNECT_CODES)
def test_every_connect_refusal_code_is_in_the_refusal_table(code):
    assert f"\n| `{code}` | " in PAGE.split("**Refusals at connect.**")[1].split("\n\n**")[0]


@pytest.mark.parametrize("event", sorted(set(CLIENT_EVENTS) | set(SERVER_EVENTS)))
def test_the_conformance_suite_exercises_every_event(event):
    assert f'"{event}"' in SUITE, f"no conformance check names {event}"


def test_every_code_the_suite_expects_is_on_the_page():
    call = r'(?:\.error|check_http_error)\((?:[^()]|\([^()]*\))*?,\s*"([a-z_]+)",?\s*\)'
    codes = set(re.findall(call, SUITE))
    codes |= set(re.findall(r'refusal_code\(.*\) == "([a-z_]+)"', SUITE))
    assert codes, "no codes found in the suite"
    missing = sorted(c for c in codes if f"`{c}`" not in PAGE)
    assert not missing, f"codes the suite expects that the page does not name: {missing}"


def test_every_code_of_the_page_is_checked_by_the_suite():
    on_page = set(HTTP_STATUS) | set(CONNECT_CODES)
    # Failures a black box cannot cause on purpose: a bug, a dead database.
    untestable = {"internal_error", "unavailable"}
    missing = sorted(c for c in on_page - untestable if f'"{c}"' not in SUITE)
    assert not missing, f"codes no conformance check expects: {missing}"
