"""A busy afternoon at laptop and phone width: nothing overflows, and the screenshots."""

from __future__ import annotations

import os
import re
import shutil
from datetime import UTC, datetime, timedelta

from tests.browser import (
    ARTIFACTS,
    PHONE,
    browser_marks,
    clipped,
    errors_of,
    fits_sideways,
    person,
    seed_messages,
)
from tests.servers import ROOT
from tests.test_browser_conversations import react_with_picker

pytestmark = browser_marks


def test_a_busy_afternoon_fits_a_laptop_and_a_phone(browser, server):
    local = {"locale": "en-GB", "timezone_id": "UTC"}
    alice = person(browser, server, "alice", **local)
    bob = person(browser, server, "bob", device=PHONE, **local)
    maya = person(browser, server, "maya", **local)
    dev = person(browser, server, "dev", **local)
    people = (alice, bob, maya, dev)

    room = "design-review"
    for someone in people:
        someone.open(f"room={room}")
    yesterday = datetime.now(UTC).replace(hour=16, minute=2, second=0) - timedelta(days=1)
    seed_messages(
        server,
        room,
        "maya",
        [
            ("The new onboarding flow is up on staging for review.", yesterday),
            (
                "Three screens instead of five; the skip button is back.",
                yesterday + timedelta(minutes=1),
            ),
        ],
    )
    seed_messages(
        server,
        room,
        "dev",
        [
            ("Looks great. I'll check it on a phone tomorrow.", yesterday + timedelta(minutes=20)),
        ],
    )
    for someone in people:
        someone.page.reload()
        someone.page.wait_for_selector("#status", state="hidden")

    dev.send("Checked on my phone: the second screen scrolls sideways at 360px.")
    maya.send("Good catch, fixing it now: `.screen { min-width: 0 }` **should** do it.")
    maya.send("Spec is here: https://example.com/specs/onboarding#screen-2")
    bob.send("Also <b>bold</b> in the copy shows up literally, which is what we want.")
    alice.page.wait_for_selector(".msg:has-text('which is what we want')")
    alice.send("Thanks all. Let's ship on Thursday if the fix is in.")
    alice.page.wait_for_selector(".msg.mine:not(.pending):has-text('ship on Thursday')")
    for someone in (maya, dev):
        react_with_picker(
            someone.page, someone.page.locator(".msg", has_text="ship on Thursday"), "thumbs up"
        )
    question = dev.page.locator(".msg", has_text="Good catch")
    question.hover()
    question.get_by_role("button", name=re.compile("^Reply to")).click()
    dev.send(f"@{alice.name} works on my phone now 🎉")
    alice.page.wait_for_selector(".msg .quote")

    # Elsewhere: a busy #general, a quiet #random, and two direct chats.
    for other in ("general", "random"):
        alice.open(f"room={other}")
    alice.send("Morning!")
    dev.open("room=general")
    bob.open(f"with={alice.name}")
    bob.send("Can you look at the release notes before lunch?")
    maya.open(f"with={alice.name}")
    maya.send("Coffee at 3?")
    alice.open(f"room={room}")
    for text in ("Standup moved to 10:30 today", "Who has the projector key?", "Found it!"):
        dev.send(text)
    bob.open(f"room={room}")
    bob.page.wait_for_selector(".msg:has-text('ship on Thursday')")
    alice.page.wait_for_selector(".msg.mine .seen:has-text('Seen by')")
    alice.page.hover(".msg.mine:has-text('ship on Thursday')")

    assert fits_sideways(alice.page) and fits_sideways(bob.page)
    # On the phone the room's name and the composer's placeholder are whole, not cut off:
    # the header's Members button is an icon there, the placeholder one line.
    assert not clipped(bob.page, "#room-title")
    assert bob.page.get_by_role("button", name="Members").is_visible()
    placeholder_lines = bob.page.evaluate(
        "(() => { const t = document.getElementById('message');"
        " return t.scrollHeight <= t.clientHeight + 1; })()"
    )
    assert placeholder_lines, "the empty composer scrolls: its placeholder wraps"
    ARTIFACTS.mkdir(exist_ok=True)
    alice.page.screenshot(path=ARTIFACTS / "chat-laptop.png")
    bob.page.screenshot(path=ARTIFACTS / "chat-phone.png")
    bob.page.click("#open-drawer")
    bob.page.wait_for_selector("#sidebar", state="visible")
    bob.page.wait_for_timeout(300)  # the drawer slides in
    bob.page.screenshot(path=ARTIFACTS / "chat-phone-drawer.png")
    if os.environ.get("UPDATE_SCREENSHOT"):
        shutil.copy(ARTIFACTS / "chat-laptop.png", ROOT / "docs" / "screenshot.png")
        shutil.copy(ARTIFACTS / "chat-phone.png", ROOT / "docs" / "screenshot-phone.png")
    assert errors_of(*people) == []
    for someone in people:
        someone.close()
