"""Rooms with owners, in real Chromium: the member list, moderation, private rooms and
invitations, the topic, the record, and what a removed member is told."""

from __future__ import annotations

import re
import sqlite3

from playwright.sync_api import expect

from tests.browser import (
    LONG,
    PHONE,
    browser_marks,
    errors_of,
    fits_sideways,
    low_contrast,
    unique,
    unnamed_controls,
)

pytestmark = browser_marks

SHOTS = "/tmp/owners-{}.png"


def room_item(page, label: str):
    return page.locator("#sidebar .room-item", has=page.locator(".room-name", has_text=label))


def open_members(someone):
    page = someone.page
    if page.get_attribute("#members-button", "aria-expanded") != "true":
        page.click("#members-button")
    page.wait_for_selector("#members-panel:not([hidden])")
    page.locator("#member-list .member").first.wait_for()


def member(page, name: str):
    return page.locator(f"#member-list .member[data-username='{name}']")


def join_by_name(someone, room: str) -> None:
    """Joins (or makes) ``room`` with the finder's form."""
    page = someone.page
    if page.is_hidden("#join-room"):
        page.click("#finder-toggle")
    page.fill("#join-room", room)
    page.click("#join-form button[type=submit]")


# A page that misses role_changed (a WebSocket whose frames naming it never reach the app).
DROP_ROLE_CHANGES = """
(() => {
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    set onmessage(fn) {
      super.onmessage = (event) => {
        if (typeof event.data === 'string' && event.data.includes('"role_changed"')) return;
        fn(event);
      };
    }
    get onmessage() { return super.onmessage; }
  };
})();
"""


def owned_room(people, owner: str, *others: str, **options):
    """``owner`` makes a new room (so owns it); each of ``others`` joins it."""
    room = unique("club")
    first = people(owner, **options)
    first.open(f"room={room}")
    rest = []
    for name in others:
        someone = people(name)
        someone.open(f"room={room}")
        rest.append(someone)
    return room, first, rest


def test_the_owner_sees_each_member_with_their_role_and_whether_they_are_online(people):
    _, alice, (bob,) = owned_room(people, "alice", "bob")
    open_members(alice)
    mine = member(alice.page, alice.name)
    expect(mine.locator(".role-badge")).to_have_text("Owner")
    expect(mine.locator(".member-you")).to_have_text("(you)")
    theirs = member(alice.page, bob.name)
    expect(theirs.locator(".presence-dot")).to_have_class(re.compile(r"\bonline\b"))
    assert theirs.locator(".role-badge").count() == 0
    expect(theirs.get_by_role("button", name=f"Make moderator: {bob.name}")).to_be_visible()
    expect(theirs.get_by_role("button", name=f"Ban: {bob.name}")).to_be_visible()
    # Nobody acts on themselves.
    assert mine.locator(".member-action").count() == 0
    assert unnamed_controls(alice.page) == []
    assert low_contrast(alice.page, "#members-panel") == []

    # A member sees the same list, and no actions at all.
    open_members(bob)
    expect(member(bob.page, alice.name).locator(".role-badge")).to_have_text("Owner")
    assert bob.page.locator("#member-list .member-action").count() == 0
    assert bob.page.locator("#tab-audit").is_hidden()

    # Bob closes the page: he goes offline in Alice's list.
    bob.page.close()
    offline = re.compile(r"\bonline\b")
    expect(theirs.locator(".presence-dot")).not_to_have_class(offline, timeout=LONG)
    alice.page.screenshot(path=SHOTS.format("members-laptop"))
    assert errors_of(alice) == []


def seed_members(server, room: str, names: list[str]) -> None:
    """Members straight into the server's SQLite file: a crowd without a crowd of browsers."""
    when = "2026-12-01 10:00:00.000000"
    with sqlite3.connect(server.db_path) as db:
        room_id = db.execute("SELECT id FROM rooms WHERE name = ?", (room,)).fetchone()[0]
        for name in names:
            user_id = db.execute(
                "INSERT INTO users (username, password_hash, created_at, token_version)"
                " VALUES (?, 'x', ?, 0)",
                (name, when),
            ).lastrowid
            db.execute(
                "INSERT INTO memberships (room_id, user_id, joined_at, role)"
                " VALUES (?, ?, ?, 'member')",
                (room_id, user_id, when),
            )


def test_a_long_member_list_comes_in_pages(people, server):
    room, alice, _ = owned_room(people, "alice")
    crowd = [unique(f"zz{n:02d}-") for n in range(60)]
    seed_members(server, room, crowd)
    open_members(alice)
    rows = alice.page.locator("#member-list .member")
    expect(rows).to_have_count(50)
    more = alice.page.locator("#members-more")
    expect(more).to_be_visible()
    more.click()
    expect(rows).to_have_count(61)
    expect(more).to_be_hidden()
    names = rows.locator(".member-name").all_inner_texts()
    assert names == sorted(names, key=str.lower) and len(set(names)) == 61
    assert errors_of(alice) == []


def test_a_promoted_moderator_deletes_someones_message_for_everyone(people):
    _, alice, (bob, carol) = owned_room(people, "alice", "bob", "carol")
    carol.send("buy cheap watches at spam.example")
    alice.page.wait_for_selector(".msg:has-text('cheap watches')")

    # A member is offered no delete on someone else's message.
    spam = bob.page.locator(".msg", has_text="cheap watches")
    spam.hover()
    assert spam.get_by_role("button", name=re.compile("^Delete")).count() == 0

    open_members(alice)
    member(alice.page, bob.name).get_by_role("button", name=f"Make moderator: {bob.name}").click()
    expect(member(alice.page, bob.name).locator(".role-badge")).to_have_text("Moderator")
    expect(alice.page.locator("#members-status")).to_have_text(f"{bob.name} is a moderator now.")

    # Bob's page hears of it live (role_changed): Delete is offered without a reload or
    # a look at the member list.
    spam = bob.page.locator(".msg", has_text="cheap watches")
    spam.hover()
    expect(spam.get_by_role("button", name=re.compile("^Delete"))).to_have_count(1)
    spam.hover()
    spam.get_by_role("button", name=re.compile(f"^Delete {carol.name}\u2019s message")).click()
    bob.page.locator("#confirm-delete").get_by_role("button", name="Delete").click()
    for someone in (alice, bob, carol):
        someone.page.wait_for_selector(".msg.deleted:has-text('This message was deleted')")
        assert someone.page.locator(".msg", has_text="cheap watches").count() == 0

    # A moderator is offered no action on the owner.
    open_members(bob)
    assert member(bob.page, alice.name).locator(".member-action").count() == 0
    assert errors_of(alice, bob, carol) == []


def test_a_kicked_member_is_told_and_loses_the_room(people):
    room, alice, (bob,) = owned_room(people, "alice", "bob")
    expect(room_item(bob.page, f"#{room}")).to_have_count(1)
    open_members(alice)
    member(alice.page, bob.name).get_by_role("button", name=f"Remove: {bob.name}").click()
    dialog = alice.page.locator("#confirm-moderate")
    expect(dialog).to_contain_text(f"Remove {bob.name} from #{room}?")
    dialog.locator("#moderate-reason").fill("off topic all day")
    dialog.get_by_role("button", name="Remove").click()
    expect(member(alice.page, bob.name)).to_have_count(0)

    notice = bob.page.locator("#room-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(f"You were removed from #{room} by {alice.name}.")
    expect(room_item(bob.page, f"#{room}")).to_have_count(0)
    expect(bob.page.locator("#composer")).to_be_hidden()
    # He may come back: a kick is no ban.
    join_by_name(bob, room)
    bob.page.wait_for_selector("#composer:not([hidden])")
    expect(notice).to_be_hidden()
    assert errors_of(alice, bob) == []


def test_a_banned_member_is_told_and_cannot_come_back(people):
    room, alice, (bob,) = owned_room(people, "alice", "bob")
    open_members(alice)
    member(alice.page, bob.name).get_by_role("button", name=f"Ban: {bob.name}").click()
    alice.page.locator("#confirm-moderate").get_by_role("button", name="Ban").click()
    banned = f"{bob.name} is banned from the room."
    expect(alice.page.locator("#members-status")).to_have_text(banned)

    notice = bob.page.locator("#room-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(f"You were banned from #{room} by {alice.name}.")
    expect(room_item(bob.page, f"#{room}")).to_have_count(0)
    expect(bob.page.locator("#composer")).to_be_hidden()
    expect(bob.page.locator("#message")).to_be_hidden()
    bob.page.screenshot(path=SHOTS.format("banned-laptop"))

    join_by_name(bob, room)
    expect(bob.page.locator("#join-error")).to_contain_text(f"you are banned from {room}")
    assert errors_of(alice, bob) == []


def test_an_action_the_server_refuses_says_why(people):
    room, alice, (bob, carol) = owned_room(people, "alice", "bob", "carol")
    open_members(alice)
    member(alice.page, bob.name).get_by_role("button", name=f"Make moderator: {bob.name}").click()
    expect(member(alice.page, bob.name).locator(".role-badge")).to_have_text("Moderator")
    # Bob's page stands for one that has not heard the news yet: role changes are kept
    # from it (the frames are dropped before socket.io-client reads them).
    bob.page.add_init_script(DROP_ROLE_CHANGES)
    bob.page.reload()
    bob.page.wait_for_selector("#composer:not([hidden])")
    open_members(bob)  # Bob, moderator now, sees Carol as a member he may ban
    ban = member(bob.page, carol.name).get_by_role("button", name=f"Ban: {carol.name}")
    expect(ban).to_be_visible()
    # Meanwhile Alice makes Carol a moderator too: Bob's list does not know.
    promote = f"Make moderator: {carol.name}"
    member(alice.page, carol.name).get_by_role("button", name=promote).click()
    expect(member(alice.page, carol.name).locator(".role-badge")).to_have_text("Moderator")
    ban.click()
    bob.page.locator("#confirm-moderate").get_by_role("button", name="Ban").click()
    status = bob.page.locator("#members-status")
    expect(status).to_have_text(
        f"Could not ban {carol.name}: a moderator cannot act on another moderator."
    )
    expect(status).to_have_class(re.compile(r"\berror\b"))
    expect(room_item(carol.page, f"#{room}")).to_have_count(1)
    assert errors_of(alice, bob, carol) == []


def test_a_private_room_is_made_and_an_invited_user_sees_it_arrive(people):
    alice, bob, carol = people("alice"), people("bob"), people("carol")
    room = unique("secret")
    alice.open()
    bob.open()
    alice.page.fill("#join-room", room)
    alice.page.check("#join-private")
    alice.page.click("#join-form button[type=submit]")
    alice.page.wait_for_selector("#composer:not([hidden])")
    expect(room_item(alice.page, f"#{room}")).to_have_class(re.compile(r"\bprivate\b"))

    open_members(alice)
    expect(alice.page.locator("#invite-form label")).to_have_text(
        "Invite someone to this private room"
    )
    alice.page.fill("#invite-name", "nobody-by-that-name")
    alice.page.click("#invite-form button[type=submit]")
    expect(alice.page.locator("#invite-error")).to_contain_text(
        "Could not invite nobody-by-that-name: no user named nobody-by-that-name"
    )
    alice.page.fill("#invite-name", bob.name)
    alice.page.click("#invite-form button[type=submit]")
    expect(member(alice.page, bob.name)).to_have_count(1)
    expect(alice.page.locator("#members-status")).to_contain_text(f"{bob.name} is a member now")

    # Bob's list gains it at once; he opens it and writes.
    item = room_item(bob.page, f"#{room}")
    expect(item).to_have_count(1, timeout=LONG)
    item.locator(".room-link").click()
    bob.page.wait_for_selector("#composer:not([hidden])")
    bob.send("thanks for the invite")
    alice.page.wait_for_selector(".msg:has-text('thanks for the invite')")
    bob.page.screenshot(path=SHOTS.format("private-laptop"))

    # Carol is not let in, and the directory does not list it.
    carol.open()
    join_by_name(carol, room)
    expect(carol.page.locator("#join-error")).to_contain_text(
        f"there is no room {room} that you may read"
    )
    expect(room_item(carol.page, f"#{room}")).to_have_count(0)
    assert errors_of(alice, bob, carol) == []


def test_the_topic_set_by_the_owner_reaches_the_header_of_others_live(people):
    room, alice, (bob,) = owned_room(people, "alice", "bob")
    assert bob.page.is_hidden("#topic-edit")  # a member cannot set it
    alice.page.click("#topic-edit")
    alice.page.fill("#topic-input", "x" * 251)
    alice.page.press("#topic-input", "Enter")
    expect(alice.page.locator("#topic-error")).to_contain_text("longer than 250 characters")
    alice.page.fill("#topic-input", "Release planning, Thursdays")
    alice.page.press("#topic-input", "Enter")
    expect(alice.page.locator("#topic-text")).to_have_text("Release planning, Thursdays")
    expect(bob.page.locator("#topic-text")).to_have_text("Release planning, Thursdays")
    expect(alice.page.locator("#topic-error")).to_be_empty()

    # The directory lists it too.
    carol = people("carol")
    carol.open()
    carol.page.fill("#directory-q", room)
    carol.page.locator(".directory-room", has_text=f"#{room}").wait_for()
    expect(carol.page.locator(".directory-room", has_text=f"#{room}")).to_contain_text(
        "Release planning, Thursdays"
    )
    alice.page.screenshot(path=SHOTS.format("topic-laptop"))
    assert errors_of(alice, bob, carol) == []


def test_the_record_lists_what_the_owner_and_moderators_did(people):
    room, alice, (bob, carol) = owned_room(people, "alice", "bob", "carol")
    alice.page.click("#topic-edit")
    alice.page.fill("#topic-input", "be nice")
    alice.page.press("#topic-input", "Enter")
    expect(alice.page.locator("#topic-text")).to_have_text("be nice")
    open_members(alice)
    member(alice.page, bob.name).get_by_role("button", name=f"Make moderator: {bob.name}").click()
    expect(member(alice.page, bob.name).locator(".role-badge")).to_have_text("Moderator")
    alice.page.click("#members-close")
    carol.send("spam spam spam")
    spam = alice.page.locator(".msg", has_text="spam spam spam")
    spam.hover()
    spam.get_by_role("button", name=re.compile(f"^Delete {carol.name}")).click()
    alice.page.locator("#confirm-delete").get_by_role("button", name="Delete").click()
    carol.page.wait_for_selector(".msg.deleted")
    open_members(alice)
    member(alice.page, carol.name).get_by_role("button", name=f"Ban: {carol.name}").click()
    alice.page.locator("#moderate-reason").fill("spam")
    alice.page.locator("#confirm-moderate").get_by_role("button", name="Ban").click()
    expect(member(alice.page, carol.name)).to_have_count(0)

    alice.page.click("#tab-audit")
    entries = alice.page.locator(".audit-entry .audit-text")
    expect(entries).to_have_text(
        [
            f"{alice.name} banned {carol.name}",
            f"{alice.name} deleted a message by {carol.name}",
            f"{alice.name} made {bob.name} a moderator",
            f"{alice.name} set the topic to “be nice”",
        ]
    )
    expect(alice.page.locator(".audit-ban .audit-reason")).to_have_text("Reason: spam")
    alice.page.screenshot(path=SHOTS.format("audit-laptop"))

    # Unbanned from the record, Carol may join again.
    alice.page.get_by_role("button", name=f"Unban {carol.name}").click()
    expect(alice.page.locator("#members-status")).to_be_hidden()
    expect(entries.first).to_have_text(f"{alice.name} unbanned {carol.name}")
    join_by_name(carol, room)
    carol.page.wait_for_selector("#composer:not([hidden])")

    # A member has no record to read.
    open_members(carol)
    assert carol.page.locator("#tab-audit").is_hidden()
    assert errors_of(alice, bob, carol) == []


def test_on_a_phone_the_member_list_is_a_sheet_and_the_notice_fits(people):
    room = unique("pocket")
    alice, bob = people("alice", device=PHONE), people("bob", device=PHONE)
    alice.open(f"room={room}")
    bob.open(f"room={room}")
    alice.page.click("#topic-edit")
    alice.page.fill("#topic-input", "Phones welcome: a topic that is long enough to wrap")
    alice.page.press("#topic-input", "Enter")
    expect(alice.page.locator("#topic-text")).to_contain_text("Phones welcome")
    expect(bob.page.locator("#topic-text")).to_contain_text("Phones welcome")
    assert fits_sideways(bob.page)
    alice.page.screenshot(path=SHOTS.format("topic-phone"))

    open_members(alice)
    box = alice.page.locator("#members-panel").bounding_box()
    assert box["x"] == 0 and box["width"] == 390
    assert fits_sideways(alice.page)
    alice.page.screenshot(path=SHOTS.format("members-phone"))
    member(alice.page, bob.name).get_by_role("button", name=f"Remove: {bob.name}").click()
    alice.page.locator("#confirm-moderate").get_by_role("button", name="Remove").click()
    expect(member(alice.page, bob.name)).to_have_count(0)
    alice.page.click("#members-close")
    assert alice.page.is_hidden("#members-panel")
    assert alice.page.evaluate("document.activeElement.id") == "members-button"

    # Bob's phone shows the list (the page without a room) with the notice above it.
    expect(bob.page.locator("#side-notice")).to_be_visible()
    expect(bob.page.locator("#side-notice")).to_contain_text(
        f"You were removed from #{room} by {alice.name}."
    )
    expect(bob.page.locator("#composer")).to_be_hidden()
    assert fits_sideways(bob.page)
    bob.page.screenshot(path=SHOTS.format("removed-phone"))
    assert errors_of(alice, bob) == []
