"""Small helpers the tests share."""

from __future__ import annotations

import re


def csrf_token(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*?value="([^"]+)"', page)[1]


def events(sock, name: str | None = None) -> list:
    """Drain what the client received: [(name, payload)], or payloads of one event."""
    received = [(e["name"], e["args"][0] if e["args"] else None) for e in sock.get_received()]
    if name is None:
        return received
    return [payload for event, payload in received if event == name]


def join(sock, room: str, **extra) -> dict:
    ack = sock.emit("joined_room", {"room": room, **extra}, callback=True)
    assert ack["ok"], ack
    return ack


def send(sock, room: str, message: str, **extra) -> dict:
    return sock.emit("send_message", {"room": room, "message": message, **extra}, callback=True)
