"""The protocol's field types: what a room name, a username, a message's text, a client id,
a message id, a page size and a timestamp accept, with the rule each states in the
published schema (docs/protocol.md). Every payload model builds on them: the core's
(``payloads.py``) and the features' own."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from chat import rules
from chat.protocol import refuse, rule


def _room(value: str) -> str:
    if not rules.is_room_name(value):
        raise refuse(f"must be a room name ({rules.ROOM_RULE})")
    return value


def _username(value: str) -> str:
    if not rules.is_username(value):
        raise refuse(f"must be a username ({rules.USERNAME_RULE})")
    return value


def _message_or_empty(value: str) -> str:
    text = value.strip()
    if len(text) > rules.MAX_MESSAGE_LENGTH:
        raise refuse(f"is longer than {rules.MAX_MESSAGE_LENGTH} characters", "too_long")
    if rules.FORBIDDEN_CHARS_RE.search(text):
        raise refuse("contains control characters")
    return text


def _message(value: str) -> str:
    text = _message_or_empty(value)
    if not text:
        raise refuse("is empty")
    return text


def _client_id(value: str) -> str:
    if problem := rules.client_id_problem(value):
        raise refuse(problem)
    return value


RoomName = rule(
    _room,
    pattern=f"^({rules.ROOM_PATTERN})$",
    description="A public room (1-64 of A-Z a-z 0-9 - _ .) or a direct room dm:<a>:<b> "
    "(both usernames lower-cased and sorted)",
)
Username = rule(_username, pattern=f"^{rules.USERNAME_PATTERN}$")
MessageText = rule(
    _message,
    minLength=1,
    maxLength=rules.MAX_MESSAGE_LENGTH,
    description="Trimmed (str.strip), then 1-4000 code points; no control characters "
    "but newline and tab (over 4000: too_long)",
)
CaptionText = rule(
    _message_or_empty,
    maxLength=rules.MAX_MESSAGE_LENGTH,
    description="Trimmed (str.strip), then 0-4000 code points, empty only when the "
    "message carries attachments; no control characters but newline and tab (over 4000: "
    "too_long)",
)
ClientId = rule(
    _client_id,
    minLength=1,
    maxLength=rules.MAX_CLIENT_ID_LENGTH,
    description="The sender's id of this message: a retry with the same one is stored once",
)
MessageId = Annotated[int, Field(ge=0, le=rules.MAX_ID)]
PageSize = Annotated[int, Field(ge=1, le=rules.MAX_PAGE_SIZE)]
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
