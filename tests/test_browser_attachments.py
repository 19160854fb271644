"""Files in the chat page, in real Chromium: the attach button, a pasted or dropped image,
the progress bar and its cancel button, chips sent with the next message, thumbnails with
their size reserved, the lightbox, download links with sizes, and the server's refusals."""

from __future__ import annotations

import base64
import io
import os
import sqlite3
import tempfile
from pathlib import Path

from PIL import Image
from playwright.sync_api import expect

from tests.attachments_helpers import PDF
from tests.browser import PHONE, browser_marks, errors_of, fits_sideways, unique

pytestmark = browser_marks

FOLDER = Path(tempfile.mkdtemp(prefix="attui-files-"))
SERVER_ENV = {
    "MAX_UPLOAD_MB": "1",
    "UPLOAD_QUOTA_MB": "2",
    "ATTACHMENTS_FOLDER": str(FOLDER),
}
SHOTS = Path(os.environ.get("ATTUI_SHOTS", "/tmp"))


def png(size=(640, 480), colour=(200, 30, 30)) -> bytes:
    image = Image.new("RGB", size, colour)
    for x in range(0, size[0], 5):
        image.putpixel((x, (x * 3) % size[1]), (0, 0, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


# Builds File objects in the page from (name, type, base64) and hands them over as a paste
# into the message box, or as a drag and drop onto the conversation.
FILES_JS = """
(files) => {
  const dt = new DataTransfer();
  for (const [name, type, b64] of files) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    dt.items.add(new File([bytes], name, { type }));
  }
  return dt;
}
"""
PASTE_JS = f"""
(files) => {{
  const dt = ({FILES_JS})(files);
  const init = {{ clipboardData: dt, bubbles: true, cancelable: true }};
  const event = new ClipboardEvent('paste', init);
  document.getElementById('message').dispatchEvent(event);
  return event.defaultPrevented;
}}
"""
DRAG_JS = f"""
([files, kinds]) => {{
  const dt = ({FILES_JS})(files);
  const target = document.querySelector('#messages');
  for (const kind of kinds) {{
    const init = {{ dataTransfer: dt, bubbles: true, cancelable: true }};
    target.dispatchEvent(new DragEvent(kind, init));
  }}
}}
"""


def as_files(*files: tuple[str, str, bytes]) -> list[list[str]]:
    return [[name, kind, base64.b64encode(data).decode()] for name, kind, data in files]


def paste(page, *files) -> None:
    assert page.evaluate(PASTE_JS, as_files(*files)) is True


def drag(page, files, kinds=("dragenter", "dragover", "drop")) -> None:
    page.evaluate(DRAG_JS, [as_files(*files), list(kinds)])


def pick(page, *files) -> None:
    """Through the attach button and the browser's file chooser."""
    with page.expect_file_chooser() as chooser:
        page.click("#attach-button")
    chooser.value.set_files([{"name": n, "mimeType": k, "buffer": d} for n, k, d in files])


def stored_uploads(server, username: str) -> list[tuple]:
    with sqlite3.connect(server.db_path) as db:
        return db.execute(
            "SELECT a.name, a.message_id FROM attachments a JOIN users u ON u.id = a.user_id"
            " WHERE lower(u.username) = lower(?) ORDER BY a.id",
            (username,),
        ).fetchall()


def chips(page):
    return page.locator("#upload-tray .upload.done")


def test_an_image_picked_with_the_attach_button_goes_out_and_arrives_live(people):
    alice, bob = people("alice"), people("bob")
    room = unique("pics")
    alice.open(f"room={room}")
    bob.open(f"room={room}")
    # The button (a native button) comes right after the message box in the Tab order and
    # has a name.
    button = alice.page.locator("#attach-button")
    expect(button).to_have_accessible_name("Attach files")
    alice.page.focus("#message")
    alice.page.keyboard.press("Tab")
    expect(button).to_be_focused()
    pick(alice.page, ("sunset.png", "image/png", png((800, 400))))
    chip = chips(alice.page)
    expect(chip).to_have_count(1)
    expect(chip.locator(".upload-name")).to_have_text("sunset.png")
    expect(chip.locator("img.upload-thumb")).to_be_visible()
    alice.page.click("#send")  # no text: the file alone is the message
    expect(chips(alice.page)).to_have_count(0)

    for page in (alice.page, bob.page):
        image = page.locator("#messages .msg:not(.pending) .attachment-image img")
        expect(image).to_have_count(1)
        # The box is reserved from the payload (800x400 into 320x240 -> 320x160), before
        # the thumbnail has loaded, so nothing below it moves when it does.
        assert image.get_attribute("width") == "320"
        assert image.get_attribute("height") == "160"
        expect(image).to_have_attribute("alt", "sunset.png")
        page.wait_for_function(
            "() => { const i = document.querySelector('.attachment-image img'); "
            "return i && i.complete && i.naturalWidth > 0; }"
        )
        box = image.bounding_box()
        assert (round(box["width"]), round(box["height"])) == (320, 160)
    assert errors_of(alice, bob) == []


def test_a_pasted_image_shows_its_progress_then_a_chip_and_goes_with_the_text(people, server):
    alice = people("alice")
    room = unique("paste")
    alice.open(f"room={room}")
    alice.page.fill("#message", "look at this")
    paste(alice.page, ("pasted.png", "image/png", png()))
    expect(chips(alice.page)).to_have_count(1)
    expect(alice.page.locator("#message")).to_have_value("look at this")  # text untouched
    alice.page.press("#message", "Enter")
    msg = alice.page.locator("#messages .msg:not(.pending)").last
    expect(msg.locator(".body")).to_have_text("look at this")
    expect(msg.locator(".attachment-image img")).to_have_attribute("width", "320")
    expect(msg.locator(".attachment-image img")).to_have_attribute("height", "240")
    rows = stored_uploads(server, alice.name)
    assert len(rows) == 1 and rows[0][0] == "pasted.png" and rows[0][1] is not None
    assert errors_of(alice) == []


def test_files_dropped_on_the_conversation_show_a_drop_target_then_upload(people):
    alice = people("alice")
    room = unique("drop")
    alice.open(f"room={room}")
    files = [("a.png", "image/png", png((300, 300))), ("report.pdf", "application/pdf", PDF)]
    drag(alice.page, files, kinds=("dragenter", "dragover"))
    expect(alice.page.locator("#drop-zone")).to_be_visible()
    expect(alice.page.locator("#drop-zone")).to_contain_text("Drop files")
    alice.page.screenshot(path=str(SHOTS / "attui-drop-laptop.png"))
    drag(alice.page, files, kinds=("drop",))
    expect(alice.page.locator("#drop-zone")).to_be_hidden()
    expect(chips(alice.page)).to_have_count(2)
    alice.page.click("#send")
    msg = alice.page.locator("#messages .msg:not(.pending)").last
    link = msg.locator("a.attachment-file")
    expect(link).to_have_text(f"report.pdf · {len(PDF)} bytes")
    expect(link).to_have_attribute("download", "report.pdf")
    href = link.get_attribute("href")
    response = alice.page.request.get(alice.base + href)
    assert response.status == 200 and response.body() == PDF
    expect(msg.locator(".attachment-image img")).to_have_count(1)
    alice.page.wait_for_function(
        "() => { const i = document.querySelector('.attachment-image img'); "
        "return i && i.complete && i.naturalWidth > 0; }"
    )
    alice.page.screenshot(path=str(SHOTS / "attui-message-laptop.png"))
    assert errors_of(alice) == []


def test_the_lightbox_moves_between_the_images_and_escape_gives_focus_back(people):
    alice = people("alice")
    room = unique("gallery")
    alice.open(f"room={room}")
    paste(alice.page, ("first.png", "image/png", png((600, 400), (200, 30, 30))))
    expect(chips(alice.page)).to_have_count(1)
    alice.page.click("#send")
    paste(alice.page, ("second.png", "image/png", png((400, 600), (30, 120, 30))))
    expect(chips(alice.page)).to_have_count(1)
    alice.page.click("#send")
    thumbs = alice.page.locator("#messages .msg:not(.pending) button.attachment-image")
    expect(thumbs).to_have_count(2)

    thumbs.first.click()
    box = alice.page.locator("#lightbox")
    expect(box).to_be_visible()
    expect(box.locator(".lightbox-name")).to_have_text("first.png")
    expect(box.locator(".lightbox-meta")).to_contain_text("1 of 2")
    image = box.locator(".lightbox-image")
    expect(image).to_have_attribute("src", f"/attachments/{image_id(thumbs.first)}/first.png")
    alice.page.wait_for_function(
        "() => document.querySelector('.lightbox-image').naturalWidth === 600"
    )
    expect(box.locator(".lightbox-download")).to_have_attribute("download", "first.png")
    alice.page.screenshot(path=str(SHOTS / "attui-lightbox-laptop.png"))
    alice.page.keyboard.press("ArrowRight")
    expect(box.locator(".lightbox-name")).to_have_text("second.png")
    expect(box.locator(".lightbox-meta")).to_contain_text("2 of 2")
    alice.page.keyboard.press("ArrowRight")  # the last one stays
    expect(box.locator(".lightbox-name")).to_have_text("second.png")
    alice.page.keyboard.press("ArrowLeft")
    expect(box.locator(".lightbox-name")).to_have_text("first.png")
    alice.page.keyboard.press("Escape")
    expect(box).to_be_hidden()
    expect(thumbs.first).to_be_focused()

    # The close button closes it too.
    thumbs.last.click()
    expect(box.locator(".lightbox-name")).to_have_text("second.png")
    box.locator(".lightbox-close").click()
    expect(box).to_be_hidden()
    expect(thumbs.last).to_be_focused()
    assert errors_of(alice) == []


def image_id(thumb) -> str:
    return thumb.get_attribute("data-attachment-id")


def test_a_cancelled_upload_stores_nothing(people, server):
    alice = people("alice")
    room = unique("cancel")
    alice.open(f"room={room}")
    cdp = alice.context.new_cdp_session(alice.page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 50, "downloadThroughput": -1, "uploadThroughput": 40_000},
    )
    big = os.urandom(900 * 1024)
    paste(alice.page, ("big.bin", "application/octet-stream", big))
    upload = alice.page.locator("#upload-tray .upload.uploading")
    expect(upload).to_have_count(1)
    bar = upload.locator("progress")
    expect(bar).to_have_accessible_name("Uploading big.bin")
    alice.page.wait_for_function(
        "() => { const p = document.querySelector('#upload-tray progress'); "
        "return p && p.value >= 5; }",
        timeout=20_000,
    )
    assert int(bar.get_attribute("value") or bar.evaluate("p => p.value")) < 100
    # Sending now is refused: the file is not there yet.
    alice.page.fill("#message", "with the big file")
    alice.page.click("#send")
    expect(alice.page.locator("#composer-error")).to_contain_text("still uploading")
    expect(alice.page.locator("#messages .msg")).to_have_count(0)
    alice.page.screenshot(path=str(SHOTS / "attui-progress-laptop.png"))
    # The network stack says the request is cancelled before the throttle is lifted: the
    # two travel apart, and a throttle lifted first would let the rest of the body through
    # (it did once, in a full run under load).
    with alice.page.expect_event(
        "requestfailed", lambda request: request.url.endswith("/attachments")
    ) as cancelled:
        upload.get_by_role("button", name="Cancel the upload of big.bin").click()
    assert "ABORTED" in (cancelled.value.failure or "")
    expect(alice.page.locator("#upload-tray .upload")).to_have_count(0)
    expect(alice.page.locator("#upload-tray")).to_be_hidden()
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    alice.page.wait_for_timeout(1500)  # whatever had arrived would be stored by now
    assert stored_uploads(server, alice.name) == []
    assert [p for p in FOLDER.rglob("*") if p.is_file() and "big" in p.name] == []
    # The text is still there, and goes alone once the tray is empty.
    alice.page.click("#send")
    expect(alice.page.locator("#messages .msg:not(.pending) .body")).to_have_text(
        "with the big file"
    )
    assert errors_of(alice) == []


def test_refused_files_say_why_in_the_tray_and_nothing_is_sent(people, server):
    alice = people("alice")
    room = unique("refused")
    alice.open(f"room={room}")
    # Too big: refused before it leaves the page, in the server's words.
    paste(alice.page, ("huge.bin", "application/octet-stream", os.urandom(1024 * 1024 + 10)))
    failed = alice.page.locator("#upload-tray .upload.failed")
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("huge.bin")
    expect(failed).to_contain_text("Not uploaded: a file is at most 1 MB.")
    # A broken image: the server's own message.
    paste(alice.page, ("broken.png", "image/png", b"\x89PNG\r\n\x1a\n" + b"\0" * 200))
    expect(failed).to_have_count(2)
    server_says = failed.nth(1).locator(".upload-error").inner_text()
    assert server_says.startswith("Not uploaded: ") and len(server_says) > 20
    alice.page.screenshot(path=str(SHOTS / "attui-errors-laptop.png"))
    # Nothing goes while a failure is in the tray.
    alice.page.fill("#message", "here you go")
    alice.page.click("#send")
    expect(alice.page.locator("#composer-error")).to_contain_text("could not be uploaded")
    expect(alice.page.locator("#messages .msg")).to_have_count(0)
    for _ in range(2):
        failed.first.get_by_role("button").click()
    expect(failed).to_have_count(0)
    expect(alice.page.locator("#composer-error")).to_be_empty()  # nothing wrong any more

    # Past the quota (2 MB per person here): the server's limit_reached message.
    for i in range(3):
        paste(alice.page, (f"part{i}.bin", "application/octet-stream", os.urandom(900 * 1024)))
    expect(chips(alice.page)).to_have_count(2, timeout=20_000)
    expect(failed).to_have_count(1, timeout=20_000)
    expect(failed.locator(".upload-error")).to_contain_text("your files take 2 MB")
    assert len(stored_uploads(server, alice.name)) == 2
    # The browser logs each refused request (400 broken image, 409 quota); nothing else.
    refused = "Failed to load resource: the server responded with a status of"
    assert [e for e in errors_of(alice) if refused not in e] == []
    assert len(errors_of(alice)) == 2


def test_at_most_ten_files_go_in_one_message(people):
    alice = people("alice")
    room = unique("ten")
    alice.open(f"room={room}")
    small = png((20, 20))
    paste(alice.page, *[(f"p{i}.png", "image/png", small) for i in range(11)])
    expect(chips(alice.page)).to_have_count(10, timeout=20_000)
    failed = alice.page.locator("#upload-tray .upload.failed")
    expect(failed).to_contain_text("a message takes at most 10 files")
    failed.get_by_role("button").click()
    alice.page.click("#send")
    msg = alice.page.locator("#messages .msg:not(.pending)").last
    expect(msg.locator(".attachment-image")).to_have_count(10)
    assert errors_of(alice) == []


def test_the_room_list_says_a_file_was_sent(people):
    alice, bob = people("alice"), people("bob")
    room = unique("preview")
    alice.open(f"room={room}")
    bob.open(f"room={room}")
    other = unique("elsewhere")
    bob.open(f"room={other}")  # bob reads another room; the first stays in his list
    paste(alice.page, ("photo.png", "image/png", png((50, 50))))
    expect(chips(alice.page)).to_have_count(1)
    alice.page.click("#send")
    item = bob.page.locator(f".room-item:has-text('{room}') .room-preview")
    expect(item).to_have_text(f"{alice.name} sent an image")
    mine = alice.page.locator(f".room-item:has-text('{room}') .room-preview")
    expect(mine).to_have_text("You sent an image")
    assert errors_of(alice, bob) == []


def test_on_a_phone_the_tray_thumbnails_and_lightbox_fit(people):
    alice = people("alice", device=PHONE)
    room = unique("phone")
    alice.open(f"room={room}")
    pick(alice.page, ("wide.png", "image/png", png((1200, 500))))
    expect(chips(alice.page)).to_have_count(1)
    alice.page.fill("#message", "a wide one")
    alice.page.screenshot(path=str(SHOTS / "attui-tray-phone.png"))
    alice.page.click("#send")
    thumb = alice.page.locator("#messages .msg:not(.pending) button.attachment-image")
    expect(thumb).to_have_count(1)
    alice.page.wait_for_function(
        "() => { const i = document.querySelector('.attachment-image img'); "
        "return i && i.complete && i.naturalWidth > 0; }"
    )
    assert fits_sideways(alice.page)
    alice.page.screenshot(path=str(SHOTS / "attui-message-phone.png"))
    thumb.click()
    box = alice.page.locator("#lightbox")
    expect(box).to_be_visible()
    alice.page.wait_for_function(
        "() => document.querySelector('.lightbox-image').naturalWidth === 1200"
    )
    image = box.locator(".lightbox-image").bounding_box()
    assert image["width"] <= 390 and image["x"] >= 0
    close = box.locator(".lightbox-close").bounding_box()
    assert close["x"] + close["width"] <= 390
    alice.page.screenshot(path=str(SHOTS / "attui-lightbox-phone.png"))
    box.locator(".lightbox-close").click()
    expect(box).to_be_hidden()
    assert errors_of(alice) == []


def test_a_finished_upload_waits_in_the_tray_across_a_reload_like_the_draft(people):
    alice, bob = people("alice"), people("bob")
    room = unique("reload")
    alice.open(f"room={room}")
    bob.open(f"room={room}")
    alice.page.fill("#message", "after the reload")
    paste(alice.page, ("kept.png", "image/png", png((200, 100))))
    expect(chips(alice.page)).to_have_count(1)
    alice.page.reload()
    alice.page.wait_for_selector("#status", state="hidden")
    expect(chips(alice.page).locator(".upload-name")).to_have_text("kept.png")
    expect(alice.page.locator("#message")).to_have_value("after the reload")
    alice.page.click("#send")
    msg = bob.page.locator("#messages .msg:not(.pending)").last
    expect(msg.locator(".body")).to_have_text("after the reload")
    expect(msg.locator(".attachment-image img")).to_have_attribute("alt", "kept.png")
    expect(chips(alice.page)).to_have_count(0)
    alice.page.reload()
    alice.page.wait_for_selector("#status", state="hidden")
    expect(alice.page.locator("#upload-tray")).to_be_hidden()  # sent, so not brought back
    assert errors_of(alice, bob) == []
