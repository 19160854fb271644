"""A Python client of the chat-on-flask protocol (docs/protocol.md): sign in, connect,
join, send with retries, reconnect without gaps or duplicates, page history, react,
reply, type, watch rooms.

    from chatclient import ChatClient

    with ChatClient("http://127.0.0.1:5000", username="alice", password="…") as chat:
        chat.on("recieve_message", lambda m: print(m["username"], m["message"]))
        chat.join("lobby")
        chat.send("lobby", "hello")
        chat.wait()
"""

from chatclient import events
from chatclient.client import (
    CLOSED,
    CONNECTED,
    DISCONNECTED,
    RECONNECTING,
    REJOIN_FAILED,
    WATCHED,
    ChatClient,
)
from chatclient.errors import ChatClosed, ChatError, ChatTimeout
from chatclient.http import refresh_token, register, sign_in

__all__ = [
    "CLOSED",
    "CONNECTED",
    "DISCONNECTED",
    "RECONNECTING",
    "REJOIN_FAILED",
    "WATCHED",
    "ChatClient",
    "ChatClosed",
    "ChatError",
    "ChatTimeout",
    "events",
    "refresh_token",
    "register",
    "sign_in",
]
__version__ = "0.1.0"
