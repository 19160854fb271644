"""Every room at a glance: the room list beside the conversation, live, in real Chromium."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser import (
    LONG,
    browser_marks,
    errors_of,
    message_bodies,
    unique,
)

pytestmark = browser_marks

# A stand-in for the Notification API that records what the page shows.
FAKE_NOTIFICATIONS = """
window.__notes = [];
window.__permissionAsked = 0;
class FakeNotification {
  constructor(title, options) {
    window.__notes.push({ title, body: options.body, tag: options.tag });
  }
  close() {}
  static requestPermission() {
    window.__permissionAsked += 1;
    FakeNotification.permission = 'granted';
    return Promise.resolve('granted');
  }
}
FakeNotification.permission = 'default';
window.Notification = FakeNotification;
"""


def room_item(page, label: str):
    return page.locator("#sidebar .room-item", has=page.locator(".room-name", has_text=label))


def test_a_direct_message_in_another_room_raises_the_badge_and_the_title(people):
    alice, bob = people("alice"), people("bob")
    alice.open(f"room={unique('lobby')}")
    assert not alice.page.title().startswith("(")

    bob.open(f"with={alice.name}")
    bob.send("psst, a word?")
    dm = room_item(alice.page, f"@{bob.name}")
    dm.locator(".badge:has-text('1')").wait_for()
    assert "psst, a word?" in dm.inner_text()
    expect(alice.page).to_have_title(re.compile(r"^\(1\) "))
    favicon = alice.page.get_attribute("#favicon", "href")
    assert favicon.startswith("data:image/svg+xml,") and "%3E1%3C%2Ftext%3E" in favicon

    bob.send("second thing")
    dm.locator(".badge:has-text('2')").wait_for()
    expect(alice.page).to_have_title(re.compile(r"^\(2\) "))

    dm.locator(".room-link").click()
    alice.page.wait_for_selector(".msg:has-text('second thing')")
    dm.locator(".badge").wait_for(state="hidden")
    expect(alice.page).to_have_title(re.compile(r"^[^(]"))
    assert message_bodies(alice.page) == ["psst, a word?", "second thing"]
    assert errors_of(alice, bob) == []


def test_switching_rooms_needs_no_reload_and_back_returns(people):
    alice, bob = people("alice"), people("bob")
    first, second = unique("first"), unique("second")
    for room in (first, second):
        bob.open(f"room={room}")
        bob.send(f"hello from {room}")
        alice.open(f"room={room}")
    alice.open(f"room={first}")
    bob.open(f"room={first}")
    alice.page.evaluate("window.__samePage = true")

    room_item(alice.page, f"#{second}").locator(".room-link").click()
    alice.page.wait_for_url(f"**/chat?room={second}")
    alice.page.wait_for_selector("#status", state="hidden")
    assert alice.page.inner_text("#room-title") == f"#{second}"
    assert message_bodies(alice.page) == [f"hello from {second}"]
    # The room alice switched away from no longer has her here; the new one has her.
    bob.page.wait_for_selector(f"#online li:has-text('{alice.name}')", state="detached")
    assert room_item(alice.page, f"#{second}").locator("[aria-current='page']").count() == 1

    alice.page.go_back()
    alice.page.wait_for_url(f"**/chat?room={first}")
    alice.page.wait_for_selector(f".msg:has-text('hello from {first}')")
    assert alice.page.inner_text("#room-title") == f"#{first}"
    assert alice.page.evaluate("window.__samePage") is True
    bob.page.wait_for_selector(f"#online li:has-text('{alice.name}')")
    assert errors_of(alice, bob) == []


def test_joining_a_room_by_name_and_writing_to_someone_from_the_list(people):
    alice, bob = people("alice"), people("bob")
    alice.open()
    room = unique("made-up")
    alice.page.fill("#join-room", room)
    alice.page.click("#join-form button")
    alice.page.wait_for_url(f"**/chat?room={room}")
    alice.page.wait_for_selector("#status", state="hidden")
    assert alice.page.inner_text("#room-title") == f"#{room}"
    expect(alice.page.get_by_role("heading", level=1)).to_have_text([f"#{room}"])  # just one
    room_item(alice.page, f"#{room}").wait_for()

    alice.page.click("#finder-toggle")
    alice.page.fill("#dm-peer", "nobody-by-that-name")
    alice.page.click("#dm-form button")
    alice.page.wait_for_selector("#dm-error:has-text('no user named nobody-by-that-name')")
    assert alice.page.inner_text("#room-title") == f"#{room}"  # still here

    alice.page.fill("#dm-peer", bob.name)
    alice.page.click("#dm-form button")
    alice.page.wait_for_url(f"**/chat?with={bob.name}")
    alice.page.wait_for_selector("#status", state="hidden")
    assert alice.page.inner_text("#room-title") == f"@{bob.name}"
    alice.send("found you")
    bob.open()
    room_item(bob.page, f"@{alice.name}").locator(".badge:has-text('1')").wait_for()
    assert errors_of(alice, bob) == []


def test_the_directory_finds_public_rooms_by_prefix(people):
    alice, bob = people("alice"), people("bob")
    prefix = unique("dir")
    for name in ("apple", "avocado", "banana"):
        bob.open(f"room={prefix}-{name}")
    alice.open()
    alice.page.fill("#directory-q", f"{prefix}-a")
    expected = [f"#{prefix}-apple", f"#{prefix}-avocado"]
    found = alice.page.locator("#directory-results .room-name")
    expect(found).to_have_count(2)  # the list for "" had more
    assert sorted(found.all_inner_texts()) == expected
    assert "1 member" in alice.page.inner_text("#directory-results")

    alice.page.click(f"#directory-results :text('#{prefix}-apple')")
    alice.page.wait_for_url(f"**/chat?room={prefix}-apple")
    alice.page.wait_for_selector("#status", state="hidden")
    room_item(alice.page, f"#{prefix}-apple").wait_for()
    assert errors_of(alice, bob) == []


def test_removing_a_room_takes_it_off_the_list(people):
    alice = people("alice")
    keep, drop = unique("keep"), unique("drop")
    alice.open(f"room={drop}")
    alice.open(f"room={keep}")
    item = room_item(alice.page, f"#{drop}")
    item.hover()
    item.get_by_role("button", name=f"Remove #{drop} from your list").click()
    dialog = alice.page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Remove #{drop} from your list?")
    dialog.get_by_role("button", name="Remove").click()
    item.wait_for(state="detached")
    alice.page.wait_for_selector(f"#sidebar-status:has-text('#{drop} is no longer in your list')")
    alice.page.reload()
    alice.page.wait_for_selector("#status", state="hidden")
    room_item(alice.page, f"#{keep}").wait_for()
    assert room_item(alice.page, f"#{drop}").count() == 0

    # Removing the open room closes it.
    room_item(alice.page, f"#{keep}").get_by_role("button", name=re.compile("Remove")).click()
    alice.page.get_by_role("dialog").get_by_role("button", name="Remove").click()
    alice.page.wait_for_url(re.compile(r"/$"))
    alice.page.wait_for_selector("#welcome")
    assert alice.page.locator("#room-list .room-item").count() == 0
    assert errors_of(alice) == []


def test_a_direct_message_in_another_room_shows_a_desktop_notification(people):
    alice, bob = people("alice"), people("bob")
    alice.context.add_init_script(FAKE_NOTIFICATIONS)
    alice.open(f"room={unique('lobby')}")
    assert alice.page.evaluate("window.__permissionAsked") == 0  # never asked on load
    toggle = alice.page.get_by_role("button", name="Desktop notifications")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    assert alice.page.evaluate("window.__permissionAsked") == 1

    bob.open(f"with={alice.name}")
    bob.send("ping from bob")
    alice.page.wait_for_function("() => window.__notes.length > 0")
    assert alice.page.evaluate("window.__notes") == [
        {"title": bob.name, "body": "ping from bob", "tag": f"chat-on-flask:{dm_name(alice, bob)}"}
    ]
    # Nothing for the room you are reading.
    bob.open(f"room={alice.page.inner_text('#room-title')[1:]}")
    bob.send("in the open room")
    alice.page.wait_for_selector(".msg:has-text('in the open room')")
    assert len(alice.page.evaluate("window.__notes")) == 1
    assert errors_of(alice, bob) == []


def dm_name(a, b) -> str:
    low = sorted([a.name.lower(), b.name.lower()])
    return f"dm:{low[0]}:{low[1]}"


def test_a_direct_peer_who_is_online_has_a_dot(people):
    alice, bob = people("alice"), people("bob")
    bob.open(f"with={alice.name}")
    bob.send("hi")
    alice.open()
    dot = room_item(alice.page, f"@{bob.name}").locator(".presence-dot")
    dot.and_(alice.page.locator(".online")).wait_for()
    bob.page.goto("about:blank")  # bob's last connection closes
    room_item(alice.page, f"@{bob.name}").locator(".presence-dot:not(.online)").wait_for()
    assert "(offline)" in room_item(alice.page, f"@{bob.name}").inner_text()
    bob.open()
    dot.and_(alice.page.locator(".online")).wait_for(timeout=LONG)
    assert errors_of(alice, bob) == []


def test_signing_out_in_one_tab_sends_the_other_tab_to_sign_in(people):
    alice = people("alice")
    alice.open(f"room={unique('here')}")
    other = alice.new_tab()
    alice.open(f"room={unique('there')}", page=other)
    alice.page.click("#sign-out button")
    other.wait_for_url(re.compile(r"/login\?next="))
    assert other.locator("input[name=username]").count() == 1
    # Rendered once the session had ended: it names nobody and offers no sign-out.
    expect(other.locator(".topbar .account")).to_contain_text("Sign in")
    assert other.locator(".topbar .me, #sign-out").count() == 0
    alice.page.wait_for_url(re.compile(r"/(login.*)?$"))
    assert errors_of(alice) == []


def test_a_session_ended_elsewhere_sends_the_page_to_sign_in(people, server):
    alice = people("alice")
    alice.open(f"room={unique('here')}")
    token = alice.page.get_attribute("meta[name=csrf-token]", "content")
    # The same session signs out without this page doing anything (a request of its own).
    response = alice.context.request.post(
        server.url + "/logout", form={"csrf_token": token}, max_redirects=0
    )
    assert response.status == 302
    alice.page.wait_for_url(re.compile(r"/login\?next="), timeout=10_000)
    assert errors_of(alice) == []


def test_a_reconnect_refused_as_signed_out_sends_the_page_to_sign_in(people, server):
    import requests

    alice = people("alice")
    alice.open(f"room={unique('here')}")
    token = alice.page.get_attribute("meta[name=csrf-token]", "content")
    cookies = {c["name"]: c["value"] for c in alice.context.cookies()}
    # The page is off the network when its session ends, so no signed_out reaches it;
    # coming back, the server refuses its reconnect: no session any more.
    alice.context.set_offline(True)
    alice.page.wait_for_selector("#status[data-kind='warn']", timeout=LONG)
    response = requests.post(
        server.url + "/logout",
        data={"csrf_token": token},
        cookies=cookies,
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302
    alice.context.set_offline(False)
    alice.page.wait_for_url(re.compile(r"/login\?next="), timeout=LONG)
    assert alice.page.locator("input[name=username]").count() == 1
    assert errors_of(alice) == []
