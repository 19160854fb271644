"""The command line: ``python -m chatclient --url URL --room ROOM [--user U --password P]``.

Sends each line of stdin to the room and prints the room's messages to stdout (the
newest page first, then as they come), one a line: ``[room #id] user: text``. Status
(connected, reconnecting, who joined) goes to stderr. It reconnects by itself and
catches up without gaps or repeats. A line ``/join ROOM`` opens another room and sends
there from then on; ``//text`` sends ``/text``. It ends at the end of stdin.

The password may come from ``CHAT_PASSWORD`` (or a prompt), a token from ``CHAT_TOKEN``.
"""

from __future__ import annotations

import argparse
import getpass
import os
import queue
import sys
import threading
from typing import Any

from chatclient import events
from chatclient.client import (
    CLOSED,
    CONNECTED,
    DISCONNECTED,
    RECONNECTING,
    REJOIN_FAILED,
    ChatClient,
)
from chatclient.errors import ChatClosed, ChatError

_print_lock = threading.Lock()


def _out(text: str, stream=None) -> None:
    with _print_lock:
        print(text, file=stream or sys.stdout, flush=True)


def _status(text: str) -> None:
    _out(f"* {text}", sys.stderr)


def format_message(message: dict[str, Any], verb: str = "") -> str:
    """``[room #id] user: text``, with what it answers and how it changed."""
    head = f"[{message['room']} #{message['id']}] {message['username']}"
    if message.get("reply_to"):
        head += f" (reply to #{message['reply_to']['id']})"
    if message.get("deleted"):
        return f"{head} deleted a message"
    return f"{head}{verb}: {message['message']}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m chatclient",
        description="Chat in a room: lines of stdin are sent, the room's messages printed.",
    )
    parser.add_argument("--url", required=True, help="the server, e.g. http://127.0.0.1:5000")
    parser.add_argument(
        "--room",
        action="append",
        required=True,
        help="a room to open (repeatable); lines go to the first",
    )
    parser.add_argument("--user", help="your username")
    parser.add_argument("--password", help="your password (or CHAT_PASSWORD, or a prompt)")
    parser.add_argument("--token", help="a token from POST /api/token (or CHAT_TOKEN)")
    parser.add_argument("--register", action="store_true", help="make the account if needed")
    parser.add_argument(
        "--no-history", action="store_true", help="print only messages newer than the join"
    )
    parser.add_argument(
        "--deadline",
        type=float,
        default=120.0,
        help="seconds a line keeps being retried (reconnects included) before it is given up",
    )
    return parser.parse_args(argv)


def make_client(args: argparse.Namespace) -> ChatClient:
    token = args.token or os.environ.get("CHAT_TOKEN")
    password = args.password or os.environ.get("CHAT_PASSWORD")
    if token is None:
        if args.user is None:
            raise SystemExit("give --user (and a password) or --token")
        if password is None:
            password = getpass.getpass(f"password for {args.user}: ")
    return ChatClient(
        args.url,
        username=args.user,
        password=password,
        token=token,
        register=args.register,
        deadline=args.deadline,
    )


def watch(client: ChatClient) -> None:
    """Print what happens in the open rooms."""
    client.on(events.RECIEVE_MESSAGE, lambda m: _out(format_message(m)))
    client.on(events.MESSAGE_EDITED, lambda m: _out(format_message(m, " (edited)")))
    client.on(events.MESSAGE_DELETED, lambda d: _out(f"[{d['room']} #{d['id']}] (message deleted)"))
    client.on(
        events.JOIN_ROOM_ANNOUNCEMENT, lambda d: _status(f"{d['username']} joined {d['room']}")
    )
    client.on(
        events.LEAVE_ROOM_ANNOUNCEMENT, lambda d: _status(f"{d['username']} left {d['room']}")
    )
    client.on(
        events.REJOIN_ROOM,
        lambda d: d.get("reset") and _status(f"{d['room']}: too much missed; newest page"),
    )
    client.on(events.CHAT_ERROR, lambda d: _status(f"error: {d['code']}: {d['message']}"))
    client.on(CONNECTED, lambda d: _status("reconnected" if d["reconnect"] else "connected"))
    client.on(DISCONNECTED, lambda d: _status(f"disconnected ({d['reason']}); reconnecting"))
    client.on(RECONNECTING, lambda d: _status(f"{d['error']}; again in {d['delay']:.1f} s"))
    client.on(REJOIN_FAILED, lambda d: _status(f"cannot open {d['room']}: {d['message']}"))
    client.on(CLOSED, lambda d: d["code"] != "closed" and _status(f"stopped: {d['message']}"))


def _read_lines(into: queue.Queue) -> None:
    for line in sys.stdin:
        into.put(line.rstrip("\r\n"))
    into.put(None)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    client = make_client(args)
    watch(client)
    try:
        client.connect()
        for room in args.room:
            client.join(room, history=not args.no_history)
    except ChatError as error:
        _status(f"{error.code}: {error.message}")
        client.close()
        return 2
    current = client.rooms[0] if client.rooms else args.room[0]
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_read_lines, args=(lines,), daemon=True).start()
    status = 0
    while True:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            if client.wait(0):
                break
            continue
        if line is None:
            break
        if not line.strip():
            continue
        try:
            if line.startswith("/join "):
                current = client.join(line[6:].strip(), history=not args.no_history)["room"]
                _status(f"now sending to {current}")
            else:
                client.send(current, line[1:] if line.startswith("//") else line)
        except ChatClosed as error:
            _status(f"stopped: {error.message}")
            status = 1
            break
        except ChatError as error:
            _status(f"not sent: {error.code}: {error.message}")
    try:
        client.close()
        client.wait(0)
    except ChatError as error:
        _status(f"stopped: {error.message}")
        status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())
