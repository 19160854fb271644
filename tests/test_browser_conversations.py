"""Conversations people expect, in real Chromium: formatting, mentions, reactions, replies."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from tests.browser import browser_marks, errors_of, seed_messages, unique
from tests.test_browser_rooms import FAKE_NOTIFICATIONS, room_item

pytestmark = browser_marks


def in_one_room(people, *names):
    room = unique("talk")
    crowd = [people(name) for name in names]
    for someone in crowd:
        someone.open(f"room={room}")
    return room, crowd


def test_a_message_is_formatted_and_its_html_stays_text(people, server):
    _, (alice, bob) = in_one_room(people, "alice", "bob")
    code = "x = '" + "long line " * 40 + "'"
    bob.send(
        f"**ship** it _today_ ~~not~~ `inline` <b>raw</b> ![cat]({server.url}/healthz)\n"
        f"> a quote\n\n- one\n- two\n\n```\n{code}\n```\n"
        f"see {server.url}/healthz and [x](javascript:alert(1))"
    )
    body = alice.page.locator(".msg:not(.mine) .body")
    body.locator("pre").wait_for()
    assert body.locator("strong").inner_text() == "ship"
    assert body.locator("em").inner_text() == "today"
    assert body.locator("s").inner_text() == "not"
    assert body.locator("blockquote").inner_text() == "a quote"
    assert body.locator("li").all_inner_texts() == ["one", "two"]
    assert "<b>raw</b>" in body.inner_text()  # raw HTML is text
    assert alice.page.locator("#messages img, #messages b").count() == 0  # no image fetched
    links = body.locator("a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert hrefs == [f"{server.url}/healthz", f"{server.url}/healthz"]  # the image's link, the URL
    assert all(links.nth(i).get_attribute("target") == "_blank" for i in range(links.count()))
    # Code is monospace and scrolls sideways inside the bubble, never wrapping.
    pre = body.locator("pre")
    style = pre.evaluate("el => [getComputedStyle(el).whiteSpace, getComputedStyle(el).overflowX]")
    assert style == ["pre", "auto"]
    assert "mono" in pre.evaluate("el => getComputedStyle(el.firstChild).fontFamily").lower()
    assert pre.evaluate("el => el.scrollWidth > el.clientWidth")
    # The room list shows it as plain text.
    preview = room_item(alice.page, "#talk").locator(".room-preview")
    expect(preview).to_contain_text("ship it today not inline")
    assert errors_of(alice, bob) == []


def test_typing_at_completes_a_member_name_with_the_keyboard_or_the_mouse(people):
    _, (alice, bob, bea) = in_one_room(people, "alice", "bob", "bea")
    page = alice.page
    page.wait_for_selector(f"#online li:has-text('{bea.name}')")
    page.click("#message")
    page.keyboard.type("hi @b")
    options = page.get_by_role("option")
    expect(options).to_have_count(2)
    assert sorted(options.all_inner_texts()) == sorted([f"@{bob.name}", f"@{bea.name}"])
    assert page.get_attribute("#message", "aria-expanded") == "true"
    second = options.all_inner_texts()[1]
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")  # picks, does not send
    assert page.input_value("#message") == f"hi {second} "
    expect(options).to_have_count(0)

    page.keyboard.type("and @")
    expect(options).to_have_count(2)
    page.keyboard.press("Escape")
    expect(options).to_have_count(0)
    assert page.input_value("#message") == f"hi {second} and @"
    page.keyboard.type(bea.name[:3])
    page.get_by_role("option", name=bea.name).click()
    assert page.input_value("#message") == f"hi {second} and @{bea.name} "
    page.keyboard.press("Enter")
    bob.page.wait_for_selector(".msg:has-text('hi')")
    assert errors_of(alice, bob, bea) == []


def test_a_mention_is_marked_for_the_person_mentioned_and_styled_for_others(people):
    _, (alice, bob, carol) = in_one_room(people, "alice", "bob", "carol")
    bob.send(f"@{alice.name} look, and `@{alice.name}` in code is not a mention")
    mine = alice.page.locator(".msg:not(.mine) .mention")
    expect(mine).to_have_count(1)
    expect(mine).to_have_class(re.compile("mention-me"))
    expect(alice.page.locator(".msg.mentions-me")).to_have_count(1)
    theirs = carol.page.locator(".msg .mention")
    expect(theirs).to_have_count(1)
    expect(theirs).not_to_have_class(re.compile("mention-me"))
    assert errors_of(alice, bob, carol) == []


def test_a_mention_in_another_room_raises_a_mention_badge_and_the_title(people):
    room, (alice, bob) = in_one_room(people, "alice", "bob")
    alice.open(f"room={unique('elsewhere')}")
    bob.send("no mention here")
    item = room_item(alice.page, f"#{room}")
    item.locator(".badge:has-text('1')").wait_for()
    assert item.locator(".mention-badge").is_hidden()
    bob.send(f"but now, @{alice.name}")
    expect(item.locator(".mention-badge")).to_have_text("@1")
    expect(item.locator(".badge")).to_have_text("2")  # the unread count stays its own
    expect(alice.page).to_have_title(re.compile(r"^\(2, @1\) "))
    expect(alice.page.locator("#mentions-badge")).to_have_text("1")
    item.locator(".room-link").click()
    expect(item.locator(".mention-badge")).to_be_hidden()
    expect(alice.page).to_have_title(re.compile(r"^[^(]"))
    assert errors_of(alice, bob) == []


def test_a_mention_in_a_room_that_is_not_open_notifies_the_desktop(people):
    room, (alice, bob) = in_one_room(people, "alice", "bob")
    alice.context.add_init_script(FAKE_NOTIFICATIONS)
    alice.open(f"room={unique('elsewhere')}")
    alice.page.get_by_role("button", name="Desktop notifications").click()
    bob.send(f"**@{alice.name}** can you review?")
    alice.page.wait_for_function("() => window.__notes.length > 0")
    alice.page.wait_for_timeout(300)  # a second notification would come now
    notes = alice.page.evaluate("window.__notes")
    assert notes == [
        {
            "title": f"{bob.name} mentioned you in #{room}",
            "body": f"@{alice.name} can you review?",  # plain text
            "tag": f"chat-on-flask:{room}",
        }
    ]
    assert errors_of(alice, bob) == []


def test_the_mentions_view_opens_the_room_at_the_message(people, server):
    room, (alice, bob) = in_one_room(people, "alice", "bob")
    start = datetime.now(UTC) - timedelta(hours=3)
    seed_messages(
        server, room, bob.name, [(f"filler {i}", start + timedelta(minutes=i)) for i in range(80)]
    )
    bob.send(f"@{alice.name} the one to find")
    alice.page.wait_for_selector(".msg:has-text('the one to find')")
    for i in range(60):
        seed_messages(server, room, bob.name, [(f"later {i}", datetime.now(UTC))])
    alice.open(f"room={unique('elsewhere')}")
    alice.page.click("#mentions-button")
    result = alice.page.get_by_role("button", name=re.compile("the one to find"))
    expect(result).to_contain_text(f"{bob.name} in #{room}")
    result.click()
    alice.page.wait_for_url(f"**/chat?room={room}")
    target = alice.page.locator(".msg.highlight", has_text="the one to find")
    expect(target).to_be_visible()
    assert target.evaluate(
        "el => { const l = document.getElementById('messages').getBoundingClientRect();"
        " const b = el.getBoundingClientRect(); return b.top >= l.top && b.bottom <= l.bottom; }"
    )
    assert errors_of(alice, bob) == []


def react_with_picker(page, message, emoji_name: str) -> None:
    message.hover()
    message.get_by_role("button", name=re.compile("^React to")).click()
    picker = page.locator("emoji-picker")
    picker.locator("input").wait_for()
    picker.locator("input").fill(emoji_name)
    picker.get_by_role("option").first.click()


def test_reactions_show_as_chips_that_toggle_and_stay_live(people):
    _, (alice, bob) = in_one_room(people, "alice", "bob")
    bob.send("lunch?")
    message = alice.page.locator(".msg", has_text="lunch?")
    react_with_picker(alice.page, message, "thumbs up")
    chip = bob.page.locator(".msg", has_text="lunch?").locator(".chip:not(.chip-add)")
    expect(chip).to_have_text("👍1")
    expect(chip).to_have_attribute("title", re.compile(rf"👍 1: {alice.name}"))
    expect(chip).to_have_attribute("aria-pressed", "false")
    chip.click()  # bob adds his own
    expect(chip).to_have_text("👍2")
    expect(chip).to_have_attribute("aria-pressed", "true")
    mine = message.locator(".chip:not(.chip-add)")
    expect(mine).to_have_text("👍2")
    expect(mine).to_have_attribute("aria-pressed", "true")
    mine.click()  # alice takes hers back
    expect(chip).to_have_text("👍1")
    expect(chip).to_have_attribute("title", re.compile(r"^👍 1: you$"))
    assert errors_of(alice, bob) == []


def test_the_emoji_picker_serves_the_box_too_from_our_own_origin(people, server):
    _, (alice,) = in_one_room(people, "alice")
    elsewhere = []
    alice.page.on("request", lambda r: r.url.startswith(server.url) or elsewhere.append(r.url))
    alice.page.fill("#message", "party ")
    alice.page.get_by_role("button", name="Insert an emoji").click()
    picker = alice.page.locator("emoji-picker")
    picker.locator("input").fill("tada")
    picker.get_by_role("option").first.click()
    expect(alice.page.locator("#message")).to_have_value("party 🎉")
    expect(alice.page.locator("#emoji-popover")).to_be_hidden()
    assert elsewhere == []
    assert errors_of(alice) == []  # no CSP refusal of the picker's styles either


def test_replying_quotes_the_message_and_escape_cancels(people):
    _, (alice, bob) = in_one_room(people, "alice", "bob")
    bob.send("Shall we **ship** on Thursday?")
    message = alice.page.locator(".msg", has_text="Shall we")
    message.hover()
    message.get_by_role("button", name=re.compile("^Reply to")).click()
    expect(alice.page.locator("#reply-banner")).to_contain_text(
        f"{bob.name}: Shall we ship on Thursday?"
    )
    alice.page.press("#message", "Escape")
    expect(alice.page.locator("#reply-banner")).to_be_hidden()
    message.hover()
    message.get_by_role("button", name=re.compile("^Reply to")).click()
    alice.page.keyboard.type("Yes, Thursday.")
    alice.page.keyboard.press("Enter")
    expect(alice.page.locator("#reply-banner")).to_be_hidden()
    reply = bob.page.locator(".msg", has_text="Yes, Thursday.")
    expect(reply.locator(".quote")).to_have_text(f"{bob.name} Shall we ship on Thursday?")
    assert errors_of(alice, bob) == []


def seed_reply(server, room: str, author: str, text: str, reply_to_body: str) -> None:
    with sqlite3.connect(server.db_path) as db:
        room_id = db.execute("SELECT id FROM rooms WHERE name = ?", (room,)).fetchone()[0]
        user_id = db.execute(
            "SELECT id FROM users WHERE lower(username) = lower(?)", (author,)
        ).fetchone()[0]
        original = db.execute(
            "SELECT id FROM messages WHERE room_id = ? AND body = ?", (room_id, reply_to_body)
        ).fetchone()[0]
        db.execute(
            "INSERT INTO messages (room_id, user_id, body, created_at, deleted, reply_to_id)"
            " VALUES (?, ?, ?, ?, 0, ?)",
            (room_id, user_id, text, datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"), original),
        )


def test_a_quote_opens_the_original_far_back_and_pages_back_to_the_newest(people, server):
    room, (alice, bob) = in_one_room(people, "alice", "bob")
    start = datetime.now(UTC) - timedelta(hours=5)
    seed_messages(
        server, room, bob.name, [(f"old {i}", start + timedelta(minutes=i)) for i in range(200)]
    )
    seed_reply(server, room, bob.name, "answering an old one", "old 10")
    alice.page.reload()
    alice.page.wait_for_selector(".msg:has-text('answering an old one')")
    assert alice.page.locator(".msg .body >> text='old 10'").count() == 0  # not loaded

    alice.page.locator(".msg", has_text="answering an old one").locator(".quote").click()
    original = alice.page.locator(".msg.highlight")
    expect(original.locator(".body")).to_have_text("old 10")
    expect(alice.page.locator("#jump")).to_be_visible()  # the way back to the newest
    # Scrolling down pages newer messages in, until the live end joins up.
    for _ in range(12):
        alice.page.eval_on_selector("#messages", "el => { el.scrollTop = el.scrollHeight; }")
        alice.page.wait_for_timeout(250)
        if alice.page.locator(".msg:has-text('answering an old one')").count():
            break
    alice.page.locator(".msg:has-text('answering an old one')").wait_for()
    assert alice.page.locator(".edge.newer").count() == 0
    bob.send("a live one")
    alice.page.wait_for_selector(".msg:has-text('a live one')")
    bodies = alice.page.locator("#messages .msg .body").all_inner_texts()
    assert bodies[-3:] == ["old 199", "answering an old one", "a live one"]
    assert len(bodies) == len(set(bodies))  # nothing twice
    assert errors_of(alice, bob) == []
