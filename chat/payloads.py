"""Payload models of the core protocol: rooms (public, private, direct), messages (with
what conversations add to them: mentions, reactions, replies), typing, reading, watching,
presence and sessions (docs/protocol.md). Feature modules declare their own events."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from chat import rules
from chat.fields import (
    CaptionText,
    ClientId,
    MessageId,
    MessageText,
    PageSize,
    RoomName,
    Timestamp,
    Username,
)
from chat.protocol import Ack, Payload, Shape, client_event, refuse, server_event

# --- what the server sends -----------------------------------------------------------


class Reaction(Shape):
    """One emoji's reactions to a message."""

    emoji: str = Field(description="One emoji, in its fully-qualified form")
    count: int = Field(description="How many users reacted with it")
    users: list[str] = Field(
        max_length=rules.MAX_REACTION_USERS,
        description=f"Who reacted with it, oldest first, at most {rules.MAX_REACTION_USERS}",
    )


class ReplyTo(Shape):
    """The message a reply answers, as it is now."""

    id: int
    username: str
    excerpt: str | None = Field(
        description=f"The first {rules.EXCERPT_LENGTH} code points of its current text; "
        "null once it is deleted"
    )
    deleted: bool


class Attachment(Shape):
    """A file in a message, or just uploaded (POST /api/rooms/<room>/attachments)."""

    id: int
    name: str = Field(
        description="The uploader's file name, for display only: no path, no control "
        "characters, at most 255 code points"
    )
    size: int = Field(description="Bytes, as served")
    type: str = Field(
        description="Its media type, sniffed from the bytes (never from the name or the "
        "uploader's word): image/png, image/jpeg, image/gif, image/webp for images shown "
        "inline; anything else, e.g. application/pdf or application/octet-stream, is a "
        "download"
    )
    width: int | SkipJsonSchema[None] = Field(
        None, description="Images shown inline only: pixels, as displayed"
    )
    height: int | SkipJsonSchema[None] = Field(
        None, description="Images shown inline only: pixels, as displayed"
    )
    url: str = Field(
        description="Its download, a path on this server (/attachments/<id>/<name>), for "
        "readers of its room; the name in it is only for the browser"
    )
    thumb_url: str | SkipJsonSchema[None] = Field(
        None,
        description=f"Images shown inline only: a WebP of at most "
        f"{rules.THUMBNAIL_SIZE}x{rules.THUMBNAIL_SIZE} pixels",
    )


@server_event("recieve_message", "message_edited")
class Message(Shape):
    """A message, as stored (recieve_message: a new one; message_edited: its new text)."""

    id: int = Field(description="Grows with every message (one sequence for all rooms)")
    room: str
    username: str
    message: str | None = Field(description="null once deleted")
    created_at: Timestamp
    edited_at: Timestamp | None
    deleted: bool
    client_id: str | None
    mentions: list[str] = Field(
        description="The members the text mentions (@name), as registered, in order of "
        "first appearance, each once; empty when deleted"
    )
    reactions: list[Reaction] = Field(
        max_length=rules.MAX_REACTION_KINDS,
        description="Ordered by each emoji's first use; empty when deleted",
    )
    reply_to: ReplyTo | None = Field(
        description="The message this one answers; null when it answers none (or is deleted)"
    )
    attachments: list[Attachment] = Field(
        max_length=rules.MAX_ATTACHMENTS,
        description="Its files, in the order they were uploaded; empty when none or deleted",
    )


Role = Literal["owner", "moderator", "member"]


class Summary(Shape):
    """A room of the user's, at a glance."""

    room: str
    kind: Literal["public", "private", "direct"]
    unread: int = Field(description="Others' undeleted messages newer than your last read id")
    mentions: int = Field(
        description="Your mentions in undeleted messages newer than your last read id"
    )
    topic: str | None = Field(description="The room's topic; null when it has none")
    last_message: Message | None
    peer: str | SkipJsonSchema[None] = Field(None, description="direct rooms: the other user")
    peer_online: bool | SkipJsonSchema[None] = Field(
        None, description="direct rooms: whether the peer has any connection"
    )


@server_event("room_added")
class RoomAdded(Summary):
    """You became a member of a room by someone else's action; a watching client sends
    watch_rooms again to receive it."""


@server_event("rejoin_room")
class RejoinRoom(Shape):
    """The history a joiner lacks: the newest page, or everything after its last_id."""

    room: str
    messages: list[Message]
    has_more: bool
    reset: bool = Field(description="true: too much was missed; drop what you had")


@server_event("join_room_announcement", "leave_room_announcement")
class RoomPerson(Shape):
    """Someone opened the room (was not online in it before) or closed it everywhere; or
    became a member of it, or stopped being one (``membership``)."""

    room: str
    username: str
    membership: bool = Field(
        description="true: a change of membership (this join made them a member; their "
        "membership ended), which pages show as 'joined'/'left'; false: they only opened "
        "or closed the room"
    )


@server_event("typing_on")
class TypingOn(Shape):
    """Someone in the room started or stopped typing (relayed on news only)."""

    room: str
    username: str
    typing: bool


@server_event("messages_seen")
class MessagesSeen(Shape):
    """A reader's last read id moved forward."""

    room: str
    username: str
    message_id: int


@server_event("message_deleted")
class MessageDeleted(Shape):
    """A message was deleted (its text is gone for good), by its author or a moderator."""

    room: str
    id: int
    by: str = Field(description="Who deleted it: its author, or the room's owner or a moderator")


@server_event("room_removed")
class RoomRemoved(Shape):
    """Your membership of the room ended (you left it, or were kicked or banned); your
    connections no longer have it open or watched."""

    room: str
    banned: bool | SkipJsonSchema[None] = Field(
        None,
        description="true: you were banned; you cannot join or read the room until unbanned "
        "(absent otherwise)",
    )
    by: str | SkipJsonSchema[None] = Field(
        None,
        description="The owner or moderator who removed or banned you (absent when you "
        "left yourself)",
    )


@server_event("presence_changed")
class PresenceChanged(Shape):
    """A direct peer's first connection opened or last one closed."""

    username: str
    online: bool


@server_event("signed_out")
class SignedOut(Shape):
    """This connection's sign-in ended; the server disconnects it next."""


# Why a connection was refused at connect: stable codes (docs/protocol.md, Identity).
ConnectCode = Literal["unauthorized", "too_many_connections", "unavailable", "internal_error"]


class Refusal(Shape):
    code: ConnectCode
    message: str = Field(description="What happened, for people; may change")


class ConnectRefused(Shape):
    """connect_error (the Socket.IO CONNECT_ERROR packet's data): the server refused the
    connection. ``message`` is the stable code again, for clients that read only the
    message; ``data`` is {code, message}."""

    message: ConnectCode
    data: Refusal


class TokenReply(Shape):
    """POST /api/token and POST /api/token/refresh: a signed token that expires."""

    token: str
    expires_in: int = Field(description="Seconds until the token stops working")


@server_event("chat_error")
class ChatError(Shape):
    """A refused event that asked for no ack."""

    event: str
    code: str
    message: str
    retry_after: float | SkipJsonSchema[None] = None


# --- client events and their acks ----------------------------------------------------


class JoinAck(Ack):
    room: str
    online: list[str] = Field(description="Who has the room open, the joiner included")
    seen: dict[str, int] = Field(description="Members' last read ids")
    role: Role | None = Field(description="Your role in the room; null in a direct room")


@client_event("joined_room", ack=JoinAck, errors=("not_found", "limit_reached"))
class JoinRoom(Payload):
    """Open a room ({room}) or a direct room ({peer}); replays what you lack as
    rejoin_room. A name not taken yet makes a room, which you own (private: true makes
    it private)."""

    room: RoomName | None = None
    peer: Username | None = None
    last_id: MessageId | None = Field(None, description="The newest id you already have")
    private: bool | None = Field(
        None,
        description="true: the room this join makes is private (its members only; "
        "invite others). Joining a private room you are a member of with it is a plain "
        "join; naming a public room with it is invalid_payload",
    )

    @model_validator(mode="after")
    def _one_target(self):
        if (self.room is None) == (self.peer is None):
            raise refuse("give either room or peer")
        if self.private and (self.peer is not None or rules.direct_participants(self.room)):
            raise refuse("private: a direct room cannot be private")
        return self


class SendAck(Ack):
    id: int
    created_at: Timestamp


@client_event("send_message", ack=SendAck, errors=("not_in_room", "not_found", "too_long"))
class SendMessage(Payload):
    """Store a message and emit recieve_message to the room (the sender included)."""

    room: RoomName
    message: CaptionText = ""
    client_id: ClientId | None = None
    reply_to: MessageId | None = Field(
        None, description="The id of the message this one answers: of this room, not deleted"
    )
    attachments: list[MessageId] = Field(
        default_factory=list,
        description="Ids of your uploads to this room that no message holds yet, each once "
        f"(at most {rules.MAX_ATTACHMENTS}); with any, the text may be empty",
        # Checked below: pydantic's own length error would read as the code too_long.
        json_schema_extra={"maxItems": rules.MAX_ATTACHMENTS, "uniqueItems": True},
    )

    @model_validator(mode="after")
    def _text_or_files(self):
        if len(self.attachments) > rules.MAX_ATTACHMENTS:
            raise refuse(f"attachments: at most {rules.MAX_ATTACHMENTS} in one message")
        if len(set(self.attachments)) != len(self.attachments):
            raise refuse("attachments: each id once")
        if not self.message and not self.attachments:
            raise refuse("message: is empty")
        return self


@client_event("typing_status", ack=Ack, errors=("not_in_room",))
class TypingStatus(Payload):
    """Tell the room you are (or stopped) typing."""

    room: RoomName
    typing: bool


class HistoryAck(Ack):
    messages: list[Message] = Field(description="Oldest first")
    has_more: bool = Field(description="Older messages than the page's exist")
    has_newer: bool = Field(description="Newer messages than the page's exist")


@client_event("load_history", ack=HistoryAck, errors=("not_found",))
class LoadHistory(Payload):
    """A page of messages, oldest first: older than before_id (the newest page when no id
    is given), newer than after_id, or around around_id. Needs read access, not a join."""

    room: RoomName
    before_id: MessageId | None = None
    after_id: MessageId | None = Field(None, description="The messages newer than this one")
    around_id: MessageId | None = Field(
        None,
        description="This message (of the room), up to half the page older than it and "
        "the rest newer",
    )
    limit: PageSize | None = None

    @model_validator(mode="after")
    def _one_anchor(self):
        if sum(x is not None for x in (self.before_id, self.after_id, self.around_id)) > 1:
            raise refuse("give at most one of before_id, after_id, around_id")
        return self


class SeenAck(Ack):
    room: str
    message_id: int


@client_event("mark_seen", ack=SeenAck, errors=("not_in_room", "not_found"))
class MarkSeen(Payload):
    """Move your last read id forward (never back); the others get messages_seen."""

    room: RoomName
    message_id: MessageId


class EditAck(Ack):
    id: int
    edited_at: Timestamp | None = Field(
        description="null when the text was unchanged and never edited"
    )


@client_event("edit_message", ack=EditAck, errors=("not_in_room", "not_found", "too_long"))
class EditMessage(Payload):
    """Replace the text of your own message; the room gets message_edited."""

    room: RoomName
    id: MessageId
    message: MessageText


class DeleteAck(Ack):
    id: int


@client_event("delete_message", ack=DeleteAck, errors=("not_in_room", "not_found"))
class DeleteMessage(Payload):
    """Delete your own message; the room gets message_deleted."""

    room: RoomName
    id: MessageId


class LeaveAck(Ack):
    room: str


@client_event("leave_room", ack=LeaveAck, errors=("not_in_room",))
class LeaveRoom(Payload):
    """Close the room on this connection (a watched room stays watched)."""

    room: RoomName


class WatchAck(Ack):
    rooms: list[Summary]


@client_event("watch_rooms", ack=WatchAck)
class WatchRooms(Payload):
    """Receive the messages, edits and deletes of every room you are a member of."""
