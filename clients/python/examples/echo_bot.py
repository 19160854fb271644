"""A bot that answers commands in the rooms it joins, by replying to them:

- ``!echo TEXT``: TEXT back;
- ``!time``: the current UTC time, ISO 8601;
- ``!help``: what it understands.

    python examples/echo_bot.py --url http://127.0.0.1:5000 --user echo --password … \\
        --register --room lobby --room random

It answers only commands sent after it joined (none from the history), each once: after a
reconnect the client replays what it missed, and a reply's client_id is derived from the
command's id, so even a resent reply is stored once. SIGTERM or Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import signal
import sys

from chatclient import CLOSED, ChatClient, ChatError, events

HELP = "commands: !echo TEXT, !time, !help"


def answer(text: str) -> str | None:
    """The bot's answer to a message, or None when it is no command."""
    command, _, rest = text.strip().partition(" ")
    if command == "!echo" and rest.strip():
        return rest.strip()
    if command == "!time":
        return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    if command == "!help":
        return HELP
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", default=os.environ.get("CHAT_PASSWORD"))
    parser.add_argument("--register", action="store_true")
    parser.add_argument("--room", action="append", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if not args.password:
        parser.error("give --password or CHAT_PASSWORD")

    bot = ChatClient(args.url, username=args.user, password=args.password, register=args.register)

    @bot.on(events.RECIEVE_MESSAGE)
    def on_message(message: events.Message) -> None:
        if message["deleted"] or message["username"].lower() == args.user.lower():
            return
        reply = answer(message["message"] or "")
        if reply is None:
            return
        try:
            bot.reply(message, reply, client_id=f"answer-{message['id']}")
        except ChatError as error:
            logging.warning("could not answer #%s: %s", message["id"], error)

    bot.on(CLOSED, lambda data: logging.info("stopped: %s", data["message"]))
    signal.signal(signal.SIGTERM, lambda *_: bot.close())
    try:
        bot.connect()
        for room in args.room:
            bot.join(room, history=False)
        logging.info("answering in %s", ", ".join(bot.rooms))
        bot.wait()
    except ChatError as error:
        logging.error("%s: %s", error.code, error.message)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        bot.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
