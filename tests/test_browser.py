"""Two people chat in real Chromium windows against a real eventlet server process."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.servers import ROOT, Server

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
XSS = '<img src=x onerror="window.__pwned = 1"><b>bold?</b>'

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    server = Server(f"sqlite:///{tmp}/chat.db", tmp / "server.log")
    server.migrate()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def register(page, base_url: str, username: str) -> None:
    page.goto(base_url + "/register")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "correct horse battery")
    page.fill("input[name=confirm]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(base_url + "/")


def open_room(page, base_url: str, room: str) -> None:
    page.goto(f"{base_url}/chat?room={room}")
    page.wait_for_selector("#status", state="hidden")


def send(page, text: str) -> None:
    page.fill("#message", text)
    page.press("#message", "Enter")


def test_two_users_chat_and_html_stays_text(server, browser):
    base = server.url
    errors: list[str] = []
    alice_ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    bob_ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    alice, bob = alice_ctx.new_page(), bob_ctx.new_page()
    for page in (alice, bob):
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))

    register(alice, base, "alice")
    register(bob, base, "bob")
    open_room(alice, base, "42")
    open_room(bob, base, "42")

    # Presence: alice sees bob come online.
    alice.wait_for_selector("#online li:has-text('bob')")

    # Typing indicator on bob's side while alice types.
    alice.type("#message", "Hi bob")
    bob.wait_for_selector("#typing:has-text('alice is typing')")
    alice.press("#message", "Enter")
    bob.wait_for_selector(".message:has-text('Hi bob')")
    bob.wait_for_selector("#typing:empty")

    send(bob, "Hey alice! Line one\nline two")
    alice.wait_for_selector(".message.mine:has-text('Hi bob')")
    alice.wait_for_selector(".message:not(.mine):has-text('Hey alice!')")

    # HTML arrives as text and runs nothing.
    send(bob, XSS)
    alice.wait_for_selector(".message:not(.mine) .body >> text=" + XSS)
    assert alice.locator(".messages img").count() == 0
    assert alice.locator(".messages b").count() == 0
    assert alice.evaluate("window.__pwned") is None
    send(alice, "Looks like text to me 👍")
    bob.wait_for_selector(".message:has-text('Looks like text to me')")
    # bob has the page open, so alice sees that he read it.
    alice.wait_for_selector(
        ".message.mine:has-text('Looks like text to me') .seen:has-text('Seen by bob')"
    )

    # Nothing overflows sideways on the phone.
    assert bob.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    ARTIFACTS.mkdir(exist_ok=True)
    alice.screenshot(path=ARTIFACTS / "chat-laptop.png")
    bob.screenshot(path=ARTIFACTS / "chat-phone.png")
    if os.environ.get("UPDATE_SCREENSHOT"):
        shutil.copy(ARTIFACTS / "chat-laptop.png", ROOT / "docs" / "screenshot.png")

    # A reload brings the history back, each message once, in order.
    bob.reload()
    bob.wait_for_selector("#status", state="hidden")
    bodies = bob.locator(".message > .body").all_inner_texts()
    assert bodies == ["Hi bob", "Hey alice! Line one\nline two", XSS, "Looks like text to me 👍"]

    # Bob drops off the network; what alice says meanwhile arrives once on reconnect.
    bob_ctx.set_offline(True)
    bob.wait_for_selector("#status:has-text('Reconnecting')", timeout=30_000)
    alice.wait_for_selector("#online li:has-text('bob')", state="detached", timeout=30_000)
    send(alice, "Said while bob was away")
    alice.wait_for_selector(".message.mine:has-text('Said while bob was away')")
    bob_ctx.set_offline(False)
    bob.wait_for_selector(".message:has-text('Said while bob was away')", timeout=30_000)
    bodies = bob.locator(".message .body").all_inner_texts()
    assert bodies.count("Said while bob was away") == 1 and len(bodies) == 5

    # What bob sends while offline waits as pending and is delivered once on reconnect.
    bob_ctx.set_offline(True)
    bob.wait_for_selector("#status:has-text('Reconnecting')", timeout=30_000)
    send(bob, "Typed on the train")
    bob.wait_for_selector(".message.pending:has-text('Typed on the train')")
    bob_ctx.set_offline(False)
    alice.wait_for_selector(".message:has-text('Typed on the train')", timeout=30_000)
    bob.wait_for_selector(".message.pending", state="detached")
    for page in (alice, bob):
        assert page.locator(".message > .body").all_inner_texts().count("Typed on the train") == 1

    # alice edits her first message and deletes another; bob sees both.
    first = alice.locator(".message.mine", has_text="Hi bob")
    first.hover()
    first.get_by_role("button", name="Edit").click()
    alice.fill("#message", "Hi bob (edited)")
    alice.press("#message", "Enter")
    bob.wait_for_selector(".message:has-text('Hi bob (edited)') .edited")
    alice.once("dialog", lambda dialog: dialog.accept())
    away = alice.locator(".message.mine", has_text="Said while bob was away")
    away.hover()
    away.get_by_role("button", name="Delete").click()
    bob.wait_for_selector(".message.deleted:has-text('message deleted')")
    assert bob.locator(".message", has_text="Said while bob was away").count() == 0

    assert errors == []
    alice_ctx.close()
    bob_ctx.close()
