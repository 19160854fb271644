"""Writing faster than the rate limit allows (RATE_LIMIT=3/5seconds), in real Chromium."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser import (
    browser_marks,
    errors_of,
    message_bodies,
    unique,
)

pytestmark = browser_marks

WAIT = 60_000  # ms: a burst of seven at three per five seconds takes a while


SERVER_ENV = {"RATE_LIMIT": "3/5seconds"}


def burst(someone, texts) -> None:
    for text in texts:
        someone.page.fill("#message", text)
        someone.page.press("#message", "Enter")


def test_a_rate_limited_burst_all_arrives_once_each_in_order(people):
    alice, bob = people("alice"), people("bob")
    room = unique("burst")
    alice.open(f"room={room}")
    bob.open(f"room={room}")
    texts = [f"burst {i}" for i in range(1, 8)]
    burst(alice, texts)
    # Beyond the limit a message waits, and says so; nobody has to resend it by hand.
    alice.page.wait_for_selector(".msg.pending.waiting:has-text('Sending too fast')")
    bob.page.wait_for_selector(".msg:has-text('burst 7')", timeout=WAIT)
    alice.page.wait_for_selector(".msg.pending", state="detached", timeout=WAIT)
    assert message_bodies(bob.page) == texts
    assert message_bodies(alice.page) == texts
    assert errors_of(alice, bob) == []


def test_a_message_waiting_on_the_rate_limit_survives_a_reload(people):
    alice, bob = people("alice"), people("bob")
    room = unique("reload")
    alice.open(f"room={room}")
    bob.open(f"room={room}")
    texts = [f"patient {i}" for i in range(1, 7)]
    burst(alice, texts)
    alice.page.wait_for_selector(".msg.pending.waiting")
    alice.page.reload()
    alice.page.wait_for_selector(".msg.pending:has-text('patient 6')")  # still there
    bob.page.wait_for_selector(".msg:has-text('patient 6')", timeout=WAIT)
    alice.page.wait_for_selector(".msg.pending", state="detached", timeout=WAIT)
    assert message_bodies(bob.page) == texts
    bob.page.reload()
    bob.page.wait_for_selector("#status", state="hidden")
    expect(bob.page.locator("#messages .msg")).to_have_count(len(texts))
    assert message_bodies(bob.page) == texts
    assert errors_of(alice, bob) == []
