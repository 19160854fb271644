"""What the browser tests share: Chromium, a server per module, people who sign in."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
PASSWORD = "correct horse battery"
LAPTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
LONG = 30_000  # ms: reconnects and rate-limit waits on a busy machine

browser_marks = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}"),
]

_names = itertools.count(1)


def unique(name: str) -> str:
    """A username no other test of this server has taken."""
    return f"{name}{next(_names)}"


@contextlib.contextmanager
def running_server(tmp: Path, **env: str):
    """serve.py on a free port with its own SQLite file (``server.db_path``)."""
    server = Server(f"sqlite:///{tmp}/chat.db", tmp / "server.log", **env)
    server.db_path = tmp / "chat.db"
    server.migrate()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Person:
    """One person in their own browser context (their own cookies), with one or more tabs."""

    name: str
    context: object
    page: object
    base: str
    errors: list[str] = field(default_factory=list)

    def watch(self, page) -> None:
        page.on("pageerror", lambda exc: self.errors.append(f"{self.name}: {exc}"))
        page.on(
            "console",
            lambda msg: msg.type == "error" and self.errors.append(f"{self.name}: {msg.text}"),
        )

    def new_tab(self):
        page = self.context.new_page()
        self.watch(page)
        return page

    def open(self, query: str = "", page=None) -> None:
        """/chat?<query> (or / without one), ready once the room is open."""
        page = page or self.page
        page.goto(f"{self.base}/chat?{query}" if query else f"{self.base}/")
        page.wait_for_selector("#status", state="hidden", timeout=LONG)

    def send(self, text: str, page=None) -> None:
        page = page or self.page
        page.fill("#message", text)
        page.click("#send")

    def close(self) -> None:
        self.context.close()


def person(browser, server: Server, name: str, device: dict | None = None, **options) -> Person:
    """Registers ``name`` through the API, then signs in through the page."""
    context = browser.new_context(**(device or LAPTOP), **options)
    response = context.request.post(
        server.url + "/api/register",
        data=json.dumps({"username": name, "password": PASSWORD}),
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 201, response.text()
    page = context.new_page()
    someone = Person(name, context, page, server.url)
    someone.watch(page)
    page.goto(server.url + "/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(server.url + "/")
    return someone


def message_bodies(page) -> list[str]:
    return page.locator("#messages .msg:not(.pending) > .body").all_inner_texts()


def seed_messages(server: Server, room: str, author: str, texts_and_times) -> None:
    """Writes messages straight into the server's SQLite file (``author`` must exist and be
    a member of ``room`` already): old conversations without waiting days for them."""
    with sqlite3.connect(server.db_path) as db:
        room_id = db.execute("SELECT id FROM rooms WHERE name = ?", (room,)).fetchone()[0]
        user_id = db.execute(
            "SELECT id FROM users WHERE lower(username) = lower(?)", (author,)
        ).fetchone()[0]
        for text, when in texts_and_times:
            db.execute(
                "INSERT INTO messages (room_id, user_id, body, created_at, deleted)"
                " VALUES (?, ?, ?, ?, 0)",
                (room_id, user_id, text, when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")),
            )


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def errors_of(*people: Person) -> list[str]:
    return [error for someone in people for error in someone.errors]


def fits_sideways(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def clipped(page, selector: str) -> bool:
    """Whether the element's text is cut off (an ellipsis, or hidden overflow)."""
    return page.eval_on_selector(
        selector, "(el) => el.scrollWidth > el.clientWidth || el.scrollHeight > el.clientHeight"
    )


# Every visible piece of text under ``root`` whose contrast with what is behind it is
# below WCAG AA (4.5:1), as "text (ratio)". Backgrounds are composited up the tree.
LOW_CONTRAST = """
(root) => {
  const parse = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const over = (top, bottom) => ({
    r: top.r * top.a + bottom.r * (1 - top.a),
    g: top.g * top.a + bottom.g * (1 - top.a),
    b: top.b * top.a + bottom.b * (1 - top.a),
    a: 1,
  });
  const channel = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
  const lum = (c) => 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
  const behind = (el) => {
    const layers = [];
    for (let n = el; n; n = n.parentElement) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c && c.a > 0) {
        layers.push(c);
        if (c.a >= 1) break;
      }
    }
    const white = { r: 255, g: 255, b: 255, a: 1 };
    return layers.reverse().reduce((bg, layer) => over(layer, bg), white);
  };
  const bad = [];
  const done = new Set();
  const walker = document.createTreeWalker(document.querySelector(root), NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const text = walker.currentNode.textContent.trim();
    const el = walker.currentNode.parentElement;
    if (!text || done.has(el)) continue;
    done.add(el);
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (!box.width || !box.height || style.visibility !== 'visible') continue;
    if (el.closest('.visually-hidden, [disabled]')) continue;
    let opacity = 1;
    for (let n = el; n; n = n.parentElement) opacity *= Number(getComputedStyle(n).opacity);
    if (opacity === 0) continue;
    const bg = behind(el);
    const fg = parse(style.color);
    const ink = over({ ...fg, a: fg.a * opacity }, bg);
    const [hi, lo] = [lum(ink), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    if (ratio < 4.5) bad.push(`${text.slice(0, 40)} (${ratio.toFixed(2)})`);
  }
  return bad;
}
"""

# Inputs without a label and buttons without a name.
UNNAMED = """
() => [...document.querySelectorAll('input:not([type=hidden]), textarea, select, button')]
  .filter((el) => {
    const named = el.labels && el.labels.length ? [...el.labels].some((l) => l.textContent.trim())
      : false;
    return !(named || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')
      || (el.tagName === 'BUTTON' && el.textContent.trim()));
  })
  .map((el) => el.outerHTML.slice(0, 80))
"""


def low_contrast(page, root: str = "body") -> list[str]:
    return page.evaluate(LOW_CONTRAST, root)


def unnamed_controls(page) -> list[str]:
    return page.evaluate(UNNAMED)
