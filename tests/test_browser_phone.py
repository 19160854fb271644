"""A phone (390x844, touch) in real Chromium: the room list as a drawer, touch typing."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser import (
    PHONE,
    browser_marks,
    errors_of,
    fits_sideways,
    message_bodies,
    unique,
)

pytestmark = browser_marks


def test_on_a_phone_the_room_list_is_a_drawer_and_nothing_overflows(people):
    bob = people("bob", device=PHONE)
    first, second = unique("first"), unique("second")
    bob.open()
    # With no room open, the list is the page.
    expect(bob.page.locator("#sidebar")).to_be_visible()
    expect(bob.page.locator("#open-drawer")).to_be_hidden()
    assert fits_sideways(bob.page)
    for room in (second, first):
        bob.page.fill("#join-room", room)
        bob.page.click("#join-form button")
        bob.page.wait_for_url(f"**/chat?room={room}")
        bob.page.wait_for_selector("#status", state="hidden")
        if room == second:
            bob.send("a long line " + "without-any-spaces-at-all-" * 8)
            bob.page.click("#open-drawer")
            bob.page.click("#finder-toggle")
    # In a room the list is out of the way, behind a button.
    expect(bob.page.locator("#sidebar")).to_be_hidden()
    assert fits_sideways(bob.page)
    drawer = bob.page.locator("#open-drawer")
    drawer.click()
    expect(drawer).to_have_attribute("aria-expanded", "true")
    expect(bob.page.locator("#sidebar")).to_be_visible()
    bob.page.locator("#room-list .room-link", has_text=f"#{second}").click()
    bob.page.wait_for_url(f"**/chat?room={second}")
    expect(bob.page.locator("#sidebar")).to_be_hidden()
    expect(bob.page.locator("#room-title")).to_have_text(f"#{second}")
    bob.page.wait_for_selector(".msg:has-text('a long line')")
    assert fits_sideways(bob.page)

    # Escape closes the drawer and gives the focus back to its button.
    drawer.click()
    bob.page.keyboard.press("Escape")
    expect(bob.page.locator("#sidebar")).to_be_hidden()
    assert bob.page.evaluate("document.activeElement.id") == "open-drawer"
    assert errors_of(bob) == []


def test_on_a_touch_screen_enter_makes_a_newline_and_the_button_sends(people):
    alice, bob = people("alice"), people("bob", device=PHONE)
    room = unique("touch")
    alice.open(f"room={room}")
    bob.open(f"room={room}")
    bob.page.tap("#message")
    bob.page.keyboard.type("line one")
    bob.page.keyboard.press("Enter")
    bob.page.keyboard.type("line two")
    assert bob.page.input_value("#message") == "line one\nline two"
    assert bob.page.locator("#messages .msg").count() == 0
    bob.page.tap("#send")
    alice.page.wait_for_selector(".msg:has-text('line two')")
    assert message_bodies(alice.page) == ["line one\nline two"]
    assert errors_of(alice, bob) == []


def test_on_a_phone_a_tap_shows_a_message_toolbar_inside_the_screen(people):
    bob = people("bob", device=PHONE)
    bob.open(f"room={unique('tidy')}")
    for text in ("one", "two", "three"):
        bob.send(text)
    bob.page.wait_for_selector(".msg:not(.pending):has-text('three')")
    toolbar = bob.page.locator(".msg", has_text="three").locator(".toolbar")
    expect(toolbar).to_have_css("opacity", "0")  # not under every message
    bob.page.locator(".msg", has_text="three").locator(".body").tap()
    expect(toolbar).to_have_css("opacity", "1")
    box = toolbar.bounding_box()
    timeline = bob.page.locator("#messages").bounding_box()
    assert (
        timeline["x"] <= box["x"] and box["x"] + box["width"] <= timeline["x"] + timeline["width"]
    )
    assert (
        timeline["y"] <= box["y"] and box["y"] + box["height"] <= timeline["y"] + timeline["height"]
    )
    toolbar.get_by_role("button", name=re.compile("^Edit")).tap()
    expect(bob.page.locator("#message")).to_have_value("three")
    assert fits_sideways(bob.page)
    assert errors_of(bob) == []
