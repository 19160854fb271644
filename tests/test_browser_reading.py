"""Reading a busy room in real Chromium: days, groups, the divider, history, read marks."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser import (
    browser_marks,
    errors_of,
    message_bodies,
    person,
    seed_messages,
    unique,
)

pytestmark = browser_marks

CLOCK = re.compile(r"^\d{1,2}:\d{2}( [AP]M)?$")
# Lets a test hide and show the tab: headless pages are always "visible".
VISIBILITY = """
let visibility = 'visible';
Object.defineProperty(Document.prototype, 'visibilityState', { get: () => visibility });
Object.defineProperty(Document.prototype, 'hidden', { get: () => visibility !== 'visible' });
window.__setVisibility = (value) => {
  visibility = value;
  document.dispatchEvent(new Event('visibilitychange'));
};
"""


@pytest.fixture
def people(browser, server):
    met = []

    def meet(name, **options):
        someone = person(
            browser, server, unique(name), locale="en-US", timezone_id="UTC", **options
        )
        met.append(someone)
        return someone

    yield meet
    for someone in met:
        someone.close()


def in_view(page, selector: str) -> bool:
    """Whether the element is inside the visible part of the message list."""
    return page.eval_on_selector(
        selector,
        """el => {
          const list = document.getElementById('messages').getBoundingClientRect();
          const box = el.getBoundingClientRect();
          return box.bottom > list.top && box.top < list.bottom;
        }""",
    )


def scroll_to_top(page) -> None:
    page.eval_on_selector("#messages", "el => { el.scrollTop = 0; }")


def test_days_are_separated_and_one_author_is_grouped(people, server):
    alice, bob = people("alice"), people("bob")
    room = unique("history")
    alice.open(f"room={room}")
    today = datetime.now(UTC)
    noon = today.replace(hour=12, minute=0, second=0, microsecond=0)
    three_days_ago = noon - timedelta(days=3)
    seed_messages(
        server,
        room,
        bob.name,
        [
            ("three days ago", three_days_ago),
            ("a minute later", three_days_ago + timedelta(minutes=1)),
            ("an hour later", three_days_ago + timedelta(hours=1)),
            ("yesterday", noon - timedelta(days=1)),
        ],
    )
    alice.send("today")
    alice.send("and again")
    alice.page.wait_for_selector(".msg:not(.pending):has-text('and again')")
    alice.page.reload()
    alice.page.wait_for_selector("#status", state="hidden")
    alice.page.wait_for_selector(".msg:has-text('and again')")

    label = f"{three_days_ago:%A}, {three_days_ago:%B} {three_days_ago.day}"
    assert alice.page.locator(".day").all_inner_texts() == [label, "Yesterday", "Today"]
    grouped = alice.page.locator(".msg").evaluate_all(
        "nodes => nodes.map(n => [n.querySelector('.body').textContent,"
        " n.classList.contains('continued')])"
    )
    assert grouped == [
        ["three days ago", False],
        ["a minute later", True],  # same author within a few minutes: no name again
        ["an hour later", False],
        ["yesterday", False],
        ["today", False],
        ["and again", True],
    ]
    # A bubble shows its time only; the day is in the separator.
    times = alice.page.locator(".msg:not(.continued) .head time").all_inner_texts()
    assert times and all(CLOCK.match(t) for t in times), times
    assert errors_of(alice, bob) == []


def test_older_history_loads_as_you_scroll_up(people, server):
    alice, bob = people("alice"), people("bob")
    room = unique("long")
    alice.open(f"room={room}")
    start = datetime.now(UTC) - timedelta(hours=3)
    seed_messages(
        server,
        room,
        bob.name,
        [(f"old message {i}", start + timedelta(minutes=i)) for i in range(1, 121)],
    )
    alice.page.reload()
    alice.page.wait_for_selector("#status", state="hidden")
    messages = alice.page.locator("#messages .msg")
    expect(messages).to_have_count(50)
    assert alice.page.locator(".start").count() == 0
    assert in_view(alice.page, ".msg:has-text('old message 120')")

    scroll_to_top(alice.page)
    expect(messages).to_have_count(100)
    # The place you were reading stays where it was.
    assert in_view(alice.page, ".msg[data-id] >> text='old message 71'")
    scroll_to_top(alice.page)
    expect(messages).to_have_count(120)
    alice.page.wait_for_selector(f".start:has-text('This is the beginning of #{room}')")
    assert alice.page.locator(".older").count() == 0
    assert message_bodies(alice.page) == [f"old message {i}" for i in range(1, 121)]
    assert errors_of(alice, bob) == []


def test_new_messages_divider_and_jump_to_latest(people):
    alice, bob = people("alice"), people("bob")
    room, other = unique("busy"), unique("quiet")
    alice.open(f"room={other}")
    bob.open(f"room={room}")
    alice.open(f"room={room}")
    bob.send("before the break")
    bob.page.wait_for_selector(f".msg:has-text('before the break') .seen:has-text('{alice.name}')")

    alice.page.locator("#room-list .room-link", has_text=f"#{other}").click()
    alice.page.wait_for_url(f"**/chat?room={other}")
    filler = " and then some more words, so that the message takes up a line or two" * 2
    for i in range(1, 31):
        bob.send(f"news {i}{filler}")
    bob.page.wait_for_selector(".msg:not(.pending):has-text('news 30')")
    badge = alice.page.locator("#room-list .room-item", has_text=f"#{room}").locator(".badge")
    expect(badge).to_have_text("30")

    alice.page.locator("#room-list .room-link", has_text=f"#{room}").click()
    alice.page.wait_for_selector("#status", state="hidden")
    alice.page.wait_for_selector(".divider:has-text('New messages')")
    after_divider = alice.page.eval_on_selector(
        ".divider", "el => el.nextElementSibling.querySelector('.body').textContent"
    )
    assert after_divider.startswith("news 1 ")
    assert in_view(alice.page, ".divider")  # the room opens at the first unread message
    jump = alice.page.locator("#jump")
    expect(jump).to_contain_text(re.compile(r"\d+ new messages"))  # the ones below the screen

    jump.click()
    expect(jump).to_be_hidden()
    assert in_view(alice.page, ".msg >> text=/^news 30 /")
    expect(badge).to_be_hidden()
    expect(alice.page).to_have_title(re.compile(r"^[^(]"))
    assert errors_of(alice, bob) == []


def test_a_reader_scrolled_far_up_has_not_seen_a_new_message(people, server):
    alice, bob = people("alice"), people("bob")
    room = unique("seen")
    alice.open(f"room={room}")
    start = datetime.now(UTC) - timedelta(hours=2)
    seed_messages(
        server, room, alice.name, [(f"note {i}", start + timedelta(minutes=i)) for i in range(60)]
    )
    bob.open(f"room={room}")
    scroll_to_top(bob.page)
    bob.page.wait_for_selector(".msg:has-text('note 0')")
    scroll_to_top(bob.page)
    assert not in_view(bob.page, ".msg >> text='note 59'")

    alice.page.reload()
    alice.page.wait_for_selector("#status", state="hidden")
    alice.send("are you there?")
    # bob has it (his jump button counts it) but has not scrolled down to it.
    expect(bob.page.locator("#jump")).to_contain_text("1 new message")
    time.sleep(1)  # room for a read mark to arrive, if one were (wrongly) sent
    mine = alice.page.locator(".msg.mine", has_text="are you there?")
    assert mine.locator(".seen").is_hidden()

    bob.page.click("#jump")
    expect(mine.locator(".seen")).to_have_text(f"Seen by {bob.name}")
    assert errors_of(alice, bob) == []


def test_a_message_arriving_in_a_hidden_tab_is_seen_only_once_the_tab_is_shown(people):
    alice, bob = people("alice"), people("bob")
    bob.context.add_init_script(VISIBILITY)
    room = unique("hidden")
    alice.open(f"room={room}")
    bob.open(f"room={room}")
    alice.send("first")
    mine = alice.page.locator(".msg.mine", has_text="first")
    expect(mine.locator(".seen")).to_have_text(f"Seen by {bob.name}")

    bob.page.evaluate("window.__setVisibility('hidden')")
    alice.send("while you were in another tab")
    bob.page.wait_for_selector(".msg:has-text('while you were in another tab')")
    expect(bob.page).to_have_title(re.compile(r"^\(1\) "))
    time.sleep(1)  # room for a read mark to arrive, if one were (wrongly) sent
    later = alice.page.locator(".msg.mine", has_text="while you were in another tab")
    assert later.locator(".seen").is_hidden()

    bob.page.evaluate("window.__setVisibility('visible')")
    expect(later.locator(".seen")).to_have_text(f"Seen by {bob.name}")
    expect(bob.page).to_have_title(re.compile(r"^[^(]"))
    # It came in unseen, so the divider marks it.
    assert (
        bob.page.eval_on_selector(
            ".divider", "el => el.nextElementSibling.querySelector('.body').textContent"
        )
        == "while you were in another tab"
    )
    assert errors_of(alice, bob) == []
