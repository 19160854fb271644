"""People talking in one room, in real Chromium windows against a real eventlet server."""

from __future__ import annotations

import re

import pytest

from tests.browser import (
    LONG,
    browser_marks,
    errors_of,
    message_bodies,
    person,
    unique,
)

pytestmark = browser_marks

XSS = '<img src=x onerror="window.__pwned = 1"><b>bold?</b>'


@pytest.fixture
def people(browser, server):
    """meet("alice") signs in a new person; their browsers close after the test."""
    met = []

    def meet(name, **options):
        someone = person(browser, server, unique(name), **options)
        met.append(someone)
        return someone

    yield meet
    for someone in met:
        someone.close()


def in_one_room(people, *names):
    room = unique("room")
    crowd = [people(name) for name in names]
    for someone in crowd:
        someone.open(f"room={room}")
    return room, crowd


def test_two_people_chat_and_html_stays_text(people):
    _, (alice, bob) = in_one_room(people, "alice", "bob")
    alice.page.wait_for_selector(f"#online li:has-text('{bob.name}')")

    alice.page.type("#message", "Hi bob")
    bob.page.wait_for_selector(f"#typing:has-text('{alice.name} is typing')")
    alice.page.press("#message", "Enter")
    bob.page.wait_for_selector(".msg:has-text('Hi bob')")
    bob.page.wait_for_selector("#typing:empty")

    bob.send(XSS)
    alice.page.wait_for_selector(".msg:not(.mine) .body >> text=" + XSS)
    assert alice.page.locator("#messages img, #messages b").count() == 0
    assert alice.page.evaluate("window.__pwned") is None

    alice.send("Looks like text to me 👍")
    bob.page.wait_for_selector(".msg:has-text('Looks like text to me')")
    # bob has the conversation on screen, so alice sees that he read it.
    alice.page.wait_for_selector(
        f".msg.mine:has-text('Looks like text to me') .seen:has-text('Seen by {bob.name}')"
    )
    assert errors_of(alice, bob) == []


def test_a_reload_brings_the_history_back_once_each(people):
    _, (alice, bob) = in_one_room(people, "alice", "bob")
    for text in ["one", "two", "three\nwith a second line"]:
        alice.send(text)
        bob.page.wait_for_selector(f".msg:has-text('{text.splitlines()[0]}')")
    bob.page.reload()
    bob.page.wait_for_selector("#status", state="hidden")
    bob.page.wait_for_selector(".msg:has-text('three')")
    assert message_bodies(bob.page) == ["one", "two", "three\nwith a second line"]
    assert errors_of(alice, bob) == []


def test_someone_offline_catches_up_without_duplicates(people):
    _, (alice, bob) = in_one_room(people, "alice", "bob")
    alice.send("before")
    bob.page.wait_for_selector(".msg:has-text('before')")
    bob.context.set_offline(True)
    bob.page.wait_for_selector("#status[data-kind='warn']", timeout=LONG)
    assert "offline" in bob.page.inner_text("#status").lower()
    alice.send("said while bob was away")
    alice.page.wait_for_selector(".msg.mine:not(.pending):has-text('said while bob was away')")
    bob.context.set_offline(False)
    bob.page.wait_for_selector(".msg:has-text('said while bob was away')", timeout=LONG)
    bob.page.wait_for_selector("#status", state="hidden", timeout=LONG)
    assert message_bodies(bob.page) == ["before", "said while bob was away"]
    assert errors_of(alice, bob) == []


def test_a_message_typed_offline_is_delivered_once(people):
    _, (alice, bob) = in_one_room(people, "alice", "bob")
    bob.context.set_offline(True)
    bob.page.wait_for_selector("#status[data-kind='warn']", timeout=LONG)
    bob.send("typed on the train")
    bob.page.wait_for_selector(".msg.pending:has-text('typed on the train')")
    bob.context.set_offline(False)
    alice.page.wait_for_selector(".msg:has-text('typed on the train')", timeout=LONG)
    bob.page.wait_for_selector(".msg.pending", state="detached", timeout=LONG)
    for page in (alice.page, bob.page):
        assert message_bodies(page) == ["typed on the train"]
    assert errors_of(alice, bob) == []


def test_edits_and_deletes_reach_the_other_person(people):
    _, (alice, bob) = in_one_room(people, "alice", "bob")
    alice.send("Hi bob")
    alice.send("Something I regret")
    bob.page.wait_for_selector(".msg:has-text('Something I regret')")

    first = alice.page.locator(".msg.mine", has_text="Hi bob")
    first.hover()
    first.get_by_role("button", name=re.compile("^Edit your message")).click()
    alice.page.fill("#message", "Hi bob (edited)")
    alice.page.press("#message", "Enter")
    bob.page.wait_for_selector(".msg:has-text('Hi bob (edited)') .edited")

    regret = alice.page.locator(".msg.mine", has_text="Something I regret")
    regret.hover()
    regret.get_by_role("button", name=re.compile("^Delete your message")).click()
    alice.page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    bob.page.wait_for_selector(".msg.deleted:has-text('This message was deleted')")
    assert bob.page.locator(".msg", has_text="Something I regret").count() == 0
    assert errors_of(alice, bob) == []


def test_deleting_a_message_with_the_keyboard_alone(people):
    _, (alice, bob) = in_one_room(people, "alice", "bob")
    alice.send("keep this")
    alice.send("delete me by keyboard")
    bob.page.wait_for_selector(".msg:has-text('delete me by keyboard')")
    page = alice.page
    page.focus("#message")

    # From the composer, Shift+Tab reaches the toolbar of your newest message; the arrows
    # (and End) move along it.
    page.keyboard.press("Shift+Tab")
    focused = page.evaluate_handle("document.activeElement")
    assert focused.evaluate("el => el.getAttribute('aria-label')").startswith(
        "React to your message"
    )
    assert focused.evaluate("el => el.closest('.msg').textContent").count("delete me") == 1
    toolbar = "el => getComputedStyle(el.closest('.toolbar')).opacity"
    assert focused.evaluate(toolbar) == "1"  # focus shows it
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')").startswith("Reply")
    page.keyboard.press("End")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')").startswith("Delete")
    page.keyboard.press("Enter")
    page.wait_for_selector("#confirm-delete[open]")
    assert page.evaluate("document.activeElement.textContent") == "Cancel"
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    bob.page.wait_for_selector(".msg.deleted")
    assert message_bodies(bob.page) == ["keep this", "This message was deleted."]
    assert errors_of(alice, bob) == []


def test_links_open_in_a_new_tab_and_javascript_urls_stay_text(people, server):
    _, (alice, bob) = in_one_room(people, "alice", "bob")
    target = f"{server.url}/healthz?from=chat"
    bob.send(f"see {target}, or javascript:alert(1) or <a href='javascript:alert(2)'>x</a>")
    alice.page.wait_for_selector(".msg:has-text('see')")
    links = alice.page.locator("#messages a")
    assert links.count() == 1
    assert links.get_attribute("href") == target
    assert links.get_attribute("target") == "_blank"
    assert set(links.get_attribute("rel").split()) == {"noopener", "noreferrer", "nofollow"}
    assert alice.page.locator("#messages [href^='javascript']").count() == 0
    with alice.context.expect_page() as opened:
        links.click()
    opened.value.wait_for_load_state()
    assert opened.value.url == target
    assert errors_of(alice, bob) == []


def test_up_arrow_edits_your_last_message_and_escape_cancels(people):
    _, (alice,) = in_one_room(people, "alice")
    alice.send("first")
    alice.send("secnd")
    alice.page.wait_for_selector(".msg.mine:not(.pending):has-text('secnd')")
    alice.page.press("#message", "ArrowUp")
    assert alice.page.input_value("#message") == "secnd"
    assert alice.page.is_visible("#edit-banner")
    alice.page.press("#message", "Escape")
    assert alice.page.input_value("#message") == ""
    assert not alice.page.is_visible("#edit-banner")

    alice.page.press("#message", "ArrowUp")
    alice.page.fill("#message", "second")
    alice.page.press("#message", "Enter")
    alice.page.wait_for_selector(".msg.mine:has-text('second') .edited")
    assert message_bodies(alice.page) == ["first", "second (edited)"]
    assert errors_of(alice) == []


def test_a_paste_over_the_limit_is_refused_not_cut(people):
    _, (alice, bob) = in_one_room(people, "alice", "bob")
    alice.page.fill("#message", "x" * 4001)
    assert alice.page.inner_text("#counter") == "4,001 / 4,000: 1 too many"
    alice.page.press("#message", "Enter")
    assert "limit is 4,000" in alice.page.inner_text("#composer-error")
    assert len(alice.page.input_value("#message")) == 4001  # nothing was cut or lost
    assert alice.page.locator("#messages .msg").count() == 0

    alice.page.press("#message", "Backspace")
    assert alice.page.inner_text("#composer-error") == ""
    alice.page.press("#message", "Enter")
    bob.page.wait_for_selector(".msg:has-text('xxxx')")
    assert message_bodies(bob.page) == ["x" * 4000]
    assert errors_of(alice, bob) == []


def test_joining_and_leaving_show_quietly_but_opening_a_room_again_does_not(people):
    room, (alice,) = in_one_room(people, "alice")
    alice.send("anyone?")
    bob = people("bob")
    bob.open(f"room={room}")
    alice.page.wait_for_selector(f".notice:has-text('{bob.name} joined')")
    # Switching away, coming back and reloading are not joining or leaving.
    bob.open(f"room={unique('elsewhere')}")
    alice.page.wait_for_selector(f"#online li:has-text('{bob.name}')", state="detached")
    bob.open(f"room={room}")
    bob.page.reload()
    bob.page.wait_for_selector("#status", state="hidden")
    alice.page.wait_for_selector(f"#online li:has-text('{bob.name}')")
    assert alice.page.locator(".notice").all_inner_texts() == [f"{bob.name} joined"]
    # Taking the room off his list is leaving it.
    item = bob.page.locator("#room-list .room-item", has_text=f"#{room}")
    item.get_by_role("button", name=re.compile("^Remove")).click()
    bob.page.get_by_role("dialog").get_by_role("button", name="Remove").click()
    alice.page.wait_for_selector(f".notice:has-text('{bob.name} left')")
    assert alice.page.locator(".notice").count() == 2
    assert errors_of(alice, bob) == []
