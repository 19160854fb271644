"""Searching messages in real Chromium: the box (/, Ctrl+K), the marks, paging, opening a
result in its room, and the whole screen on a phone."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from chat.searchtext import document
from tests.browser import (
    ARTIFACTS,
    PHONE,
    browser_marks,
    errors_of,
    fits_sideways,
    low_contrast,
    unique,
    unnamed_controls,
)

pytestmark = browser_marks


def seed_searchable(server, room: str, author: str, texts_and_times) -> None:
    """Like ``tests.browser.seed_messages``, with the words search indexes (the FTS5
    table follows by its triggers): old conversations that search finds."""
    with sqlite3.connect(server.db_path) as db:
        room_id = db.execute("SELECT id FROM rooms WHERE name = ?", (room,)).fetchone()[0]
        user_id = db.execute(
            "SELECT id FROM users WHERE lower(username) = lower(?)", (author,)
        ).fetchone()[0]
        for text, when in texts_and_times:
            db.execute(
                "INSERT INTO messages (room_id, user_id, body, search_text, created_at, deleted)"
                " VALUES (?, ?, ?, ?, ?, 0)",
                (
                    room_id,
                    user_id,
                    text,
                    document(text),
                    when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
                ),
            )


def in_one_room(people, *names, **options):
    room = unique("talk")
    crowd = [people(name, **options) for name in names]
    for someone in crowd:
        someone.open(f"room={room}")
    return room, crowd


def focused_id(page) -> str:
    return page.evaluate("document.activeElement.id")


def scroll_until(page, scroll: str, text: str) -> None:
    """Scrolls the messages (``scroll`` on ``el``) until a message says ``text``."""
    for _ in range(12):
        page.eval_on_selector("#messages", f"el => {{ {scroll}; }}")
        page.wait_for_timeout(250)
        if page.locator(f".msg .body >> text='{text}'").count():
            break
    page.locator(f".msg .body >> text='{text}'").wait_for()


def results(page):
    return page.locator("#search-results [role=option]")


def test_slash_or_ctrl_k_opens_the_search_box_and_typing_finds_messages(people):
    room, (alice, bob) = in_one_room(people, "alice", "bob")
    bob.send("the deployment went fine")
    bob.send("lunch at noon?")
    page = alice.page
    page.wait_for_selector(".msg:has-text('lunch at noon')")

    page.focus("#messages")
    page.keyboard.press("/")
    dialog = page.locator("#search-dialog")
    expect(dialog).to_be_visible()
    assert focused_id(page) == "search-input"
    page.keyboard.type("Deploy")
    expect(results(page)).to_have_count(1)
    found = results(page).first
    expect(found).to_contain_text(f"#{room}")
    expect(found).to_contain_text(bob.name)
    expect(found.locator(".search-text")).to_have_text("the deployment went fine")
    expect(page.locator("#search-status")).to_have_text("1 message")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert focused_id(page) == "messages"  # the focus is back where it was

    # In the message box "/" is a character; Ctrl+K opens search from anywhere.
    page.click("#message")
    page.keyboard.type("a/b")
    expect(dialog).to_be_hidden()
    assert page.input_value("#message") == "a/b"
    page.keyboard.press("Control+k")
    expect(dialog).to_be_visible()
    expect(page.locator("#search-input")).to_have_value("Deploy")  # the last search, kept
    expect(results(page)).to_have_count(1)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert focused_id(page) == "message"
    # The header's box opens it too.
    page.click("#search-open")
    expect(dialog).to_be_visible()
    page.fill("#search-input", "zebra")
    expect(page.locator("#search-status")).to_have_text("No messages match “zebra”.")
    page.fill("#search-input", "noon")
    expect(results(page)).to_have_count(1)
    assert errors_of(alice, bob) == []


def test_the_words_found_are_marked_and_a_message_s_html_stays_text(people):
    _, (alice, bob) = in_one_room(people, "alice", "bob")
    bob.send("Le <b>Café</b> est prêt, the cafeteria too")
    bob.send("会議は東京都庁で")
    page = alice.page
    page.wait_for_selector(".msg:has-text('東京都庁')")
    page.keyboard.press("Control+k")
    page.keyboard.type("cafe")
    found = results(page)
    expect(found).to_have_count(1)
    text = found.first.locator(".search-text")
    expect(text).to_have_text("Le <b>Café</b> est prêt, the cafeteria too")  # as text
    assert text.locator("mark").all_inner_texts() == ["Café", "cafe"]
    assert page.locator("#search-results b").count() == 0
    # A script without spaces: found and marked inside its run.
    page.fill("#search-input", "京都")
    expect(found.first.locator(".search-text")).to_have_text("会議は東京都庁で")
    expect(found).to_have_count(1)
    expect(found.first.locator("mark")).to_have_text("京都")
    assert errors_of(alice, bob) == []


def test_arrows_and_enter_open_a_result_in_its_room_at_the_message(people, server):
    room, (alice, bob) = in_one_room(people, "alice", "bob")
    start = datetime.now(UTC) - timedelta(hours=3)
    seed_searchable(
        server,
        room,
        bob.name,
        [(f"filler {i}", start + timedelta(minutes=i)) for i in range(80)]
        + [("the rollout checklist is ready", start + timedelta(minutes=81))]
        + [(f"later {i}", start + timedelta(minutes=90 + i)) for i in range(80)]
        + [("rollout done", start + timedelta(minutes=175))],
    )
    elsewhere = unique("elsewhere")
    alice.open(f"room={elsewhere}")
    page = alice.page
    page.keyboard.press("Control+k")
    page.keyboard.type("rollout")
    expect(results(page)).to_have_count(2)  # newest first
    expect(results(page).nth(1)).to_contain_text("the rollout checklist is ready")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(results(page).nth(1)).to_have_attribute("aria-selected", "true")
    active = page.get_attribute("#search-input", "aria-activedescendant")
    assert active == results(page).nth(1).get_attribute("id")
    page.keyboard.press("Enter")

    expect(page.locator("#search-dialog")).to_be_hidden()
    page.wait_for_url(f"**/chat?room={room}")
    target = page.locator(".msg.highlight", has_text="the rollout checklist is ready")
    expect(target).to_be_visible()
    assert target.evaluate(
        "el => { const l = document.getElementById('messages').getBoundingClientRect();"
        " const b = el.getBoundingClientRect(); return b.top >= l.top && b.bottom <= l.bottom; }"
    )
    assert page.locator(".msg .body >> text='later 79'").count() == 0  # not loaded: far back
    # From there the reader scrolls both ways.
    scroll_until(page, "el.scrollTop = 0", "filler 0")
    scroll_until(page, "el.scrollTop = el.scrollHeight", "rollout done")
    assert errors_of(alice, bob) == []


def test_more_results_page_back_and_only_this_room_narrows_them(people, server):
    room, (alice, bob) = in_one_room(people, "alice", "bob")
    other = unique("other")
    alice.open(f"room={other}")
    start = datetime.now(UTC) - timedelta(hours=1)
    seed_searchable(
        server,
        room,
        bob.name,
        [(f"standup note {i}", start + timedelta(minutes=i)) for i in range(23)],
    )
    seed_searchable(server, other, alice.name, [("standup moved", start + timedelta(minutes=30))])
    page = alice.page
    page.keyboard.press("Control+k")
    page.keyboard.type("standup")
    expect(results(page)).to_have_count(20)
    expect(page.locator("#search-status")).to_have_text("20 messages, more below")
    expect(results(page).first).to_contain_text("standup moved")
    page.click("#search-more")
    expect(results(page)).to_have_count(24)
    expect(page.locator("#search-more")).to_be_hidden()
    expect(results(page).last).to_contain_text("standup note 0")

    expect(page.locator("#search-scope")).to_contain_text(f"Only in #{other}")
    page.check("#search-this-room")
    expect(results(page)).to_have_count(1)
    expect(results(page).first).to_contain_text("standup moved")
    page.uncheck("#search-this-room")
    expect(results(page)).to_have_count(20)
    page.fill("#search-input", f"standup from:{alice.name}")
    expect(results(page)).to_have_count(1)
    assert errors_of(alice, bob) == []


def test_on_a_phone_search_takes_the_whole_screen(people):
    _, (alice, bob) = in_one_room(people, "alice", "bob", device=PHONE)
    bob.send("Can you review the onboarding copy? The second screen reads oddly")
    bob.send("Onboarding is on staging now")
    page = alice.page
    page.wait_for_selector(".msg:has-text('on staging now')")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "search-phone-room.png")  # the box: an icon in the header
    page.locator("#search-open").tap()
    dialog = page.locator("#search-dialog")
    expect(dialog).to_be_visible()
    page.keyboard.type("onboard")
    expect(results(page)).to_have_count(2)
    box = dialog.bounding_box()
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 390, 844)
    assert fits_sideways(page)
    page.screenshot(path=ARTIFACTS / "search-phone.png")
    results(page).nth(1).tap()
    expect(dialog).to_be_hidden()
    expect(page.locator(".msg.highlight")).to_contain_text("review the onboarding copy")

    # With no room open the list is the page, and search is in it.
    alice.open()
    page.screenshot(path=ARTIFACTS / "search-phone-list.png")
    page.locator("#search-open-side").tap()
    expect(dialog).to_be_visible()
    page.keyboard.type("onboard")
    expect(results(page)).to_have_count(2)
    expect(page.locator("#search-scope")).to_be_hidden()  # no room to narrow to
    page.locator("#search-close").tap()
    expect(dialog).to_be_hidden()
    assert errors_of(alice, bob) == []


def test_a_search_at_laptop_width(people):
    _, (alice, bob, maya) = in_one_room(people, "alice", "bob", "maya")
    bob.send("The release notes for 2.4 are in the wiki")
    maya.send("Released! Notes: **what changed**, and the `release` script")
    bob.send("Who reviews the release checklist?")
    maya.open(f"with={alice.name}")
    maya.send("Can you read my release notes draft before Thursday?")
    page = alice.page
    page.wait_for_selector(".msg:has-text('release checklist')")
    page.keyboard.press("Control+k")
    page.keyboard.type('release "notes"')
    expect(results(page)).to_have_count(3)
    page.fill("#search-input", "release")
    expect(results(page)).to_have_count(4)
    page.keyboard.press("ArrowDown")
    expect(results(page).first).to_have_attribute("aria-selected", "true")
    assert re.match(r"@" + maya.name, results(page).first.locator(".search-room").inner_text())
    assert low_contrast(page, "#search-dialog") == []
    assert unnamed_controls(page) == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "search-laptop.png")
    assert errors_of(alice, bob, maya) == []
