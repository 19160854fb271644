"""Keyboard and screen-reader use (WCAG 2.2 AA), in real Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import (
    PHONE,
    browser_marks,
    errors_of,
    low_contrast,
    unique,
    unnamed_controls,
)

pytestmark = browser_marks


def test_a_screen_reader_hears_new_messages_only(people):
    alice, bob = people("alice"), people("bob")
    room = unique("talk")
    bob.open(f"room={room}")
    bob.send("history, said before alice came")
    bob.page.wait_for_selector(".msg:not(.pending)")
    alice.open(f"room={room}")
    alice.page.wait_for_selector(".msg:has-text('history')")
    # The list is a log, but only new messages are read out (not history as it loads).
    assert alice.page.get_attribute("#messages", "role") == "log"
    assert alice.page.get_attribute("#messages", "aria-live") == "off"
    assert alice.page.inner_text("#announcer") == ""

    bob.send("hello there")
    expect(alice.page.locator("#announcer")).to_have_text(f"{bob.name}: hello there")
    alice.send("my own words")
    alice.page.wait_for_selector(".msg.mine:not(.pending)")
    expect(alice.page.locator("#announcer")).to_have_text(f"{bob.name}: hello there")
    assert alice.page.get_attribute("#announcer", "aria-live") == "polite"
    assert errors_of(alice, bob) == []


def test_every_action_is_reachable_with_tab(people):
    alice = people("alice")
    room = unique("tabs")
    alice.open(f"room={unique('other')}")
    alice.open(f"room={room}")
    alice.send("something of mine")
    alice.page.wait_for_selector(".msg.mine:not(.pending)")
    assert alice.page.evaluate("document.activeElement.id") == "message"  # focused on load

    reached = []
    for _ in range(40):
        alice.page.keyboard.press("Tab")
        reached.append(
            alice.page.evaluate(
                "(() => { const el = document.activeElement;"
                " return el.id || el.getAttribute('aria-label') || el.textContent.trim(); })()"
            )
        )
    for wanted in [
        "finder-toggle",
        f"#{room}",
        f"Remove #{room} from your list",
        "notify-toggle",
        "sound-toggle",
        "Sign out",
        "message",
        "send",
    ]:
        assert any(wanted in step for step in reached), (wanted, reached)
    assert any(step.startswith("React to your message") for step in reached), reached
    assert errors_of(alice) == []


@pytest.mark.parametrize("device", ["laptop", "phone"])
def test_controls_have_names_the_page_an_h1_and_text_enough_contrast(people, device):
    options = {"device": PHONE} if device == "phone" else {}
    alice, bob = people("alice", **options), people("bob")
    alice.open()
    assert unnamed_controls(alice.page) == []
    assert low_contrast(alice.page) == []
    expect(alice.page.get_by_role("heading", level=1)).to_have_count(1)

    room = unique("contrast")
    bob.open(f"room={room}")
    bob.send("Before you came: https://example.com/a-link")
    alice.open(f"room={room}")
    bob.send("After you came")
    alice.page.wait_for_selector(".msg:has-text('After you came')")
    alice.send("And my reply")
    alice.page.wait_for_selector(".msg.mine .seen")
    expect(alice.page.get_by_role("heading", level=1)).to_have_text([f"#{room}"])
    assert unnamed_controls(alice.page) == []
    assert low_contrast(alice.page) == []
    if device == "phone":
        alice.page.click("#open-drawer")
        alice.page.wait_for_selector("#sidebar", state="visible")
        alice.page.wait_for_timeout(300)  # the drawer slides in
        assert low_contrast(alice.page, "#sidebar") == []
    assert errors_of(alice, bob) == []
