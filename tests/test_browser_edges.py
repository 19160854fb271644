"""Rough edges, one behaviour each, in real Chromium: the toolbar, drafts, the place a
reload returns to, long messages, presence, the edit banner, the skip link."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from tests.browser import PHONE, browser_marks, errors_of, fits_sideways, seed_messages, unique

pytestmark = browser_marks

INSIDE = """
(el) => {
  const list = document.getElementById('messages').getBoundingClientRect();
  const box = el.getBoundingClientRect();
  return box.top >= list.top && box.bottom <= list.bottom
    && box.left >= list.left && box.right <= list.right;
}
"""


def test_the_toolbar_of_the_first_and_the_newest_message_stays_inside_the_timeline(people):
    alice = people("alice")
    alice.open(f"room={unique('edges')}")
    for text in ("first", "second", "newest"):
        alice.send(text)
    alice.page.wait_for_selector(".msg:not(.pending):has-text('newest')")
    for text in ("first", "newest"):
        message = alice.page.locator(".msg", has_text=text)
        message.hover()
        toolbar = message.locator(".toolbar")
        expect(toolbar).to_have_css("opacity", "1")
        assert toolbar.evaluate(INSIDE), text
    delete = alice.page.locator(".msg", has_text="newest").get_by_role(
        "button", name=re.compile("^Delete")
    )
    colours = delete.evaluate(
        "el => [getComputedStyle(el).color, getComputedStyle(el).backgroundColor]"
    )
    assert colours[0] != colours[1]  # not red on red
    assert errors_of(alice) == []


def test_a_draft_survives_a_reload_and_is_gone_once_sent(people):
    alice = people("alice")
    room, other = unique("drafts"), unique("other")
    alice.open(f"room={other}")
    alice.page.fill("#message", "for the other room")
    alice.open(f"room={room}")
    alice.page.fill("#message", "half a thought")
    alice.page.reload()
    alice.page.wait_for_selector("#status", state="hidden")
    expect(alice.page.locator("#message")).to_have_value("half a thought")
    alice.page.press("#message", "Enter")
    alice.page.wait_for_selector(".msg.mine:not(.pending):has-text('half a thought')")
    alice.page.reload()
    alice.page.wait_for_selector("#status", state="hidden")
    expect(alice.page.locator("#message")).to_have_value("")
    alice.page.locator("#room-list .room-link", has_text=f"#{other}").click()
    expect(alice.page.locator("#message")).to_have_value("for the other room")
    assert errors_of(alice) == []


def test_signing_out_forgets_the_drafts(people):
    alice = people("alice")
    alice.open(f"room={unique('secret')}")
    alice.page.fill("#message", "not for the next person")
    alice.page.click("#sign-out button")
    alice.page.wait_for_url(re.compile(r"/(login.*)?$"))
    drafts = alice.page.evaluate(
        "Object.keys(localStorage).filter((k) => k.startsWith('chat-on-flask.draft.'))"
    )
    assert drafts == []
    assert errors_of(alice) == []


def test_a_reload_returns_to_where_the_reader_was(people, server):
    alice, bob = people("alice"), people("bob")
    room = unique("place")
    alice.open(f"room={room}")
    start = datetime.now(UTC) - timedelta(hours=3)
    seed_messages(
        server, room, bob.name, [(f"line {i}", start + timedelta(minutes=i)) for i in range(150)]
    )
    alice.page.reload()
    alice.page.wait_for_selector(".msg:has-text('line 149')")
    for _ in range(6):  # up into older history, past the first page
        alice.page.eval_on_selector("#messages", "el => { el.scrollTop = 0; }")
        alice.page.wait_for_timeout(300)
    alice.page.eval_on_selector(
        ".msg[data-id] >> text='line 40'",
        "el => { const list = document.getElementById('messages');"
        " list.scrollTop += el.closest('.msg').getBoundingClientRect().top"
        " - list.getBoundingClientRect().top; }",
    )
    alice.page.wait_for_timeout(600)  # the place is kept once scrolling rests
    alice.page.reload()
    alice.page.wait_for_selector("#status", state="hidden")
    line = alice.page.locator(".msg[data-id] >> text='line 40'")
    line.wait_for()
    alice.page.wait_for_timeout(300)
    top = line.evaluate(
        "el => el.closest('.msg').getBoundingClientRect().top"
        " - document.getElementById('messages').getBoundingClientRect().top"
    )
    assert abs(top) < 40, top  # at the top of the screen, as it was
    assert alice.page.locator(".msg.highlight").count() == 0
    assert errors_of(alice, bob) == []


def test_a_long_message_is_folded_behind_show_more_on_a_phone(people):
    bob = people("bob", device=PHONE)
    bob.open(f"room={unique('long')}")
    bob.send(("A long story. " * 285).strip())  # 3,989 characters
    body = bob.page.locator(".msg .body")
    body.wait_for()
    more = bob.page.get_by_role("button", name="Show more")
    expect(more).to_be_visible()
    screen = bob.page.viewport_size["height"]
    assert body.bounding_box()["height"] < screen / 2
    more.click()
    expect(bob.page.get_by_role("button", name="Show less")).to_have_attribute(
        "aria-expanded", "true"
    )
    assert body.bounding_box()["height"] > screen
    assert fits_sideways(bob.page)
    assert errors_of(bob) == []


def test_a_direct_room_header_and_here_now_agree_on_who_is_online(people):
    alice, bob = people("alice"), people("bob")
    bob.open(f"with={alice.name}")
    bob.send("hi")
    alice.open(f"room={unique('elsewhere')}")  # online, but not in the direct room
    expect(bob.page.locator("#online-count")).to_have_text("online")
    expect(bob.page.locator("#online li")).to_have_text(sorted([alice.name, bob.name]))
    alice.page.goto("about:blank")
    expect(bob.page.locator("#online-count")).to_have_text("offline")
    expect(bob.page.locator("#online li")).to_have_text([bob.name])
    assert errors_of(alice, bob) == []


def test_the_edit_banner_leaves_the_message_being_edited_in_view(people):
    alice = people("alice", device=PHONE)
    alice.open(f"room={unique('editing')}")
    for i in range(12):
        alice.send(f"message number {i}")
    alice.page.wait_for_selector(".msg:not(.pending):has-text('message number 11')")
    alice.page.locator("#message").focus()
    alice.page.keyboard.press("ArrowUp")
    expect(alice.page.locator("#edit-banner")).to_be_visible()
    edited = alice.page.locator(".msg.editing")
    expect(edited).to_contain_text("message number 11")
    alice.page.wait_for_timeout(200)
    assert edited.evaluate(INSIDE)
    assert errors_of(alice) == []


def test_a_keyboard_user_skips_to_the_message_box(people):
    alice = people("alice")
    alice.open(f"room={unique('skip')}")
    alice.page.focus("#sidebar .brand")  # the first thing after it
    alice.page.keyboard.press("Shift+Tab")
    skip = alice.page.get_by_role("link", name="Skip to the message box")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    alice.page.keyboard.press("Enter")
    expect(alice.page.locator("#message")).to_be_focused()
    assert errors_of(alice) == []
