"""The chat protocol's events, acks and payloads as typed dictionaries, the event
names and the limits a client needs.

Generated from the server's payload models (chat/payloads.py and the features' own) by
`make protocol` (python -m chat.export): do not edit. Each TypedDict is what the JSON
schema of that model in docs/schemas describes; fields marked NotRequired may be absent.
"""

from typing import Any, Literal, NotRequired, TypedDict

# Events a client emits (each answered by an ack).
DELETE_MESSAGE = "delete_message"
EDIT_MESSAGE = "edit_message"
INVITE = "invite"
JOINED_ROOM = "joined_room"
LEAVE_ROOM = "leave_room"
LOAD_HISTORY = "load_history"
MARK_SEEN = "mark_seen"
MODERATE = "moderate"
REACT = "react"
SEND_MESSAGE = "send_message"
SET_TOPIC = "set_topic"
TYPING_STATUS = "typing_status"
WATCH_ROOMS = "watch_rooms"

# Events the server emits.
CHAT_ERROR = "chat_error"
JOIN_ROOM_ANNOUNCEMENT = "join_room_announcement"
LEAVE_ROOM_ANNOUNCEMENT = "leave_room_announcement"
MENTIONED = "mentioned"
MESSAGE_DELETED = "message_deleted"
MESSAGE_EDITED = "message_edited"
MESSAGES_SEEN = "messages_seen"
PRESENCE_CHANGED = "presence_changed"
REACTION_CHANGED = "reaction_changed"
RECIEVE_MESSAGE = "recieve_message"
REJOIN_ROOM = "rejoin_room"
ROLE_CHANGED = "role_changed"
ROOM_ADDED = "room_added"
ROOM_REMOVED = "room_removed"
ROOM_UPDATED = "room_updated"
SIGNED_OUT = "signed_out"
TYPING_ON = "typing_on"

CLIENT_EVENTS = (
    DELETE_MESSAGE,
    EDIT_MESSAGE,
    INVITE,
    JOINED_ROOM,
    LEAVE_ROOM,
    LOAD_HISTORY,
    MARK_SEEN,
    MODERATE,
    REACT,
    SEND_MESSAGE,
    SET_TOPIC,
    TYPING_STATUS,
    WATCH_ROOMS,
)
SERVER_EVENTS = (
    CHAT_ERROR,
    JOIN_ROOM_ANNOUNCEMENT,
    LEAVE_ROOM_ANNOUNCEMENT,
    MENTIONED,
    MESSAGE_DELETED,
    MESSAGE_EDITED,
    MESSAGES_SEEN,
    PRESENCE_CHANGED,
    REACTION_CHANGED,
    RECIEVE_MESSAGE,
    REJOIN_ROOM,
    ROLE_CHANGED,
    ROOM_ADDED,
    ROOM_REMOVED,
    ROOM_UPDATED,
    SIGNED_OUT,
    TYPING_ON,
)

# Limits (code points, messages, ids) the server holds payloads to.
MAX_MESSAGE_LENGTH = 4000
MAX_CLIENT_ID_LENGTH = 64
PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
REPLAY_LIMIT = 1000
MAX_ID = 2147483647

# Every error code (acks, chat_error and the HTTP API).
ErrorCode = Literal[
    "invalid_payload",
    "too_long",
    "unauthorized",
    "forbidden",
    "not_found",
    "username_taken",
    "not_in_room",
    "limit_reached",
    "too_large",
    "rate_limited",
    "internal_error",
    "unavailable",
]


class Ack(TypedDict):
    """The success ack of moderate. The success ack of typing_status."""

    ok: Literal[True]


class Attachment(TypedDict):
    """A file in a message, or just uploaded (POST /api/rooms/<room>/attachments). Part of
    Message.
    """

    id: int

    #: The uploader's file name, for display only: no path, no control characters, at
    #: most 255 code points
    name: str

    #: Bytes, as served
    size: int

    #: Its media type, sniffed from the bytes (never from the name or the uploader's
    #: word): image/png, image/jpeg, image/gif, image/webp for images shown inline;
    #: anything else, e.g. application/pdf or application/octet-stream, is a download
    type: str

    #: Images shown inline only: pixels, as displayed
    width: NotRequired[int]

    #: Images shown inline only: pixels, as displayed
    height: NotRequired[int]

    #: Its download, a path on this server (/attachments/<id>/<name>), for readers of
    #: its room; the name in it is only for the browser
    url: str

    #: Images shown inline only: a WebP of at most 400x400 pixels
    thumb_url: NotRequired[str]


class ChatError(TypedDict):
    """A refused event that asked for no ack. Carried by chat_error."""

    event: str
    code: str
    message: str
    retry_after: NotRequired[float]


class DeleteAck(TypedDict):
    """The success ack of delete_message."""

    ok: Literal[True]
    id: int


class DeleteMessage(TypedDict):
    """Delete your own message; the room gets message_deleted. The payload of delete_message."""

    #: Optional; compared case-insensitively with the connection's user, and the event
    #: is refused (forbidden) when it differs. Never changes who speaks.
    username: NotRequired[str | None]

    #: A public room (1-64 of A-Z a-z 0-9 - _ .) or a direct room dm:<a>:<b> (both
    #: usernames lower-cased and sorted)
    room: str
    id: int


class EditAck(TypedDict):
    """The success ack of edit_message."""

    ok: Literal[True]
    id: int

    #: null when the text was unchanged and never edited
    edited_at: str | None


class EditMessage(TypedDict):
    """Replace the text of your own message; the room gets message_edited. The payload of
    edit_message.
    """

    #: Optional; compared case-insensitively with the connection's user, and the event
    #: is refused (forbidden) when it differs. Never changes who speaks.
    username: NotRequired[str | None]

    #: A public room (1-64 of A-Z a-z 0-9 - _ .) or a direct room dm:<a>:<b> (both
    #: usernames lower-cased and sorted)
    room: str
    id: int

    #: Trimmed (str.strip), then 1-4000 code points; no control characters but newline
    #: and tab (over 4000: too_long)
    message: str


class Error(TypedDict):
    """Part of ErrorAck."""

    code: ErrorCode
    message: str

    #: rate_limited only: seconds until the event would pass
    retry_after: NotRequired[float]


class ErrorAck(TypedDict):
    """The ack of any refused event. The ack of any refused event."""

    ok: Literal[False]
    error: Error


class Reaction(TypedDict):
    """One emoji's reactions to a message. Part of Message."""

    #: One emoji, in its fully-qualified form
    emoji: str

    #: How many users reacted with it
    count: int

    #: Who reacted with it, oldest first, at most 100
    users: list[str]


class ReplyTo(TypedDict):
    """The message a reply answers, as it is now. Part of Message."""

    id: int
    username: str

    #: The first 120 code points of its current text; null once it is deleted
    excerpt: str | None
    deleted: bool


class Message(TypedDict):
    """A message, as stored (recieve_message: a new one; message_edited: its new text). Carried
    by message_edited. Carried by recieve_message.
    """

    #: Grows with every message (one sequence for all rooms)
    id: int
    room: str
    username: str

    #: null once deleted
    message: str | None
    created_at: str
    edited_at: str | None
    deleted: bool
    client_id: str | None

    #: The members the text mentions (@name), as registered, in order of first
    #: appearance, each once; empty when deleted
    mentions: list[str]

    #: Ordered by each emoji's first use; empty when deleted
    reactions: list[Reaction]

    #: The message this one answers; null when it answers none (or is deleted)
    reply_to: ReplyTo | None

    #: Its files, in the order they were uploaded; empty when none or deleted
    attachments: list[Attachment]


class HistoryAck(TypedDict):
    """The success ack of load_history."""

    ok: Literal[True]

    #: Oldest first
    messages: list[Message]

    #: Older messages than the page's exist
    has_more: bool

    #: Newer messages than the page's exist
    has_newer: bool


class Invite(TypedDict):
    """Make a user a member of the room (any member of a private room; the owner or a moderator
    of a public one); they get room_added. The payload of invite.
    """

    #: Optional; compared case-insensitively with the connection's user, and the event
    #: is refused (forbidden) when it differs. Never changes who speaks.
    username: NotRequired[str | None]

    #: A public room (1-64 of A-Z a-z 0-9 - _ .) or a direct room dm:<a>:<b> (both
    #: usernames lower-cased and sorted)
    room: str
    target: str


class InviteAck(TypedDict):
    """The success ack of invite."""

    ok: Literal[True]
    room: str

    #: The invited user, as registered
    username: str


class JoinAck(TypedDict):
    """The success ack of joined_room."""

    ok: Literal[True]
    room: str

    #: Who has the room open, the joiner included
    online: list[str]

    #: Members' last read ids
    seen: dict[str, int]

    #: Your role in the room; null in a direct room
    role: Literal["owner", "moderator", "member"] | None


class JoinRoom(TypedDict):
    """Open a room ({room}) or a direct room ({peer}); replays what you lack as rejoin_room. A
    name not taken yet makes a room, which you own (private: true makes it private). The
    payload of joined_room.
    """

    #: Optional; compared case-insensitively with the connection's user, and the event
    #: is refused (forbidden) when it differs. Never changes who speaks.
    username: NotRequired[str | None]
    room: NotRequired[str | None]
    peer: NotRequired[str | None]

    #: The newest id you already have
    last_id: NotRequired[int | None]

    #: true: the room this join makes is private (its members only; invite others).
    #: Joining a private room you are a member of with it is a plain join; naming a
    #: public room with it is invalid_payload
    private: NotRequired[bool | None]


class LeaveAck(TypedDict):
    """The success ack of leave_room."""

    ok: Literal[True]
    room: str


class LeaveRoom(TypedDict):
    """Close the room on this connection (a watched room stays watched). The payload of
    leave_room.
    """

    #: Optional; compared case-insensitively with the connection's user, and the event
    #: is refused (forbidden) when it differs. Never changes who speaks.
    username: NotRequired[str | None]

    #: A public room (1-64 of A-Z a-z 0-9 - _ .) or a direct room dm:<a>:<b> (both
    #: usernames lower-cased and sorted)
    room: str


class LoadHistory(TypedDict):
    """A page of messages, oldest first: older than before_id (the newest page when no id is
    given), newer than after_id, or around around_id. Needs read access, not a join. The
    payload of load_history.
    """

    #: Optional; compared case-insensitively with the connection's user, and the event
    #: is refused (forbidden) when it differs. Never changes who speaks.
    username: NotRequired[str | None]

    #: A public room (1-64 of A-Z a-z 0-9 - _ .) or a direct room dm:<a>:<b> (both
    #: usernames lower-cased and sorted)
    room: str
    before_id: NotRequired[int | None]

    #: The messages newer than this one
    after_id: NotRequired[int | None]

    #: This message (of the room), up to half the page older than it and the rest newer
    around_id: NotRequired[int | None]
    limit: NotRequired[int | None]


class MarkSeen(TypedDict):
    """Move your last read id forward (never back); the others get messages_seen. The payload
    of mark_seen.
    """

    #: Optional; compared case-insensitively with the connection's user, and the event
    #: is refused (forbidden) when it differs. Never changes who speaks.
    username: NotRequired[str | None]

    #: A public room (1-64 of A-Z a-z 0-9 - _ .) or a direct room dm:<a>:<b> (both
    #: usernames lower-cased and sorted)
    room: str
    message_id: int


class Mentioned(TypedDict):
    """A message mentions you (a new one, or an edit that newly does), whether or not you have
    its room open or watched. Carried by mentioned.
    """

    room: str

    #: The message as it is now
    message: Message


class MessageDeleted(TypedDict):
    """A message was deleted (its text is gone for good), by its author or a moderator. Carried
    by message_deleted.
    """

    room: str
    id: int

    #: Who deleted it: its author, or the room's owner or a moderator
    by: str


class MessagesSeen(TypedDict):
    """A reader's last read id moved forward. Carried by messages_seen."""

    room: str
    username: str
    message_id: int


class Moderate(TypedDict):
    """As the room's owner or a moderator: delete anyone's message (id), kick, ban or unban a
    user (target); as its owner: promote a member to moderator or demote one back (target).
    Recorded in the room's audit. The payload of moderate.
    """

    #: Optional; compared case-insensitively with the connection's user, and the event
    #: is refused (forbidden) when it differs. Never changes who speaks.
    username: NotRequired[str | None]

    #: A public room (1-64 of A-Z a-z 0-9 - _ .) or a direct room dm:<a>:<b> (both
    #: usernames lower-cased and sorted)
    room: str
    action: Literal["delete", "kick", "ban", "unban", "promote", "demote"]

    #: The user acted on (kick, ban, unban, promote, demote)
    target: NotRequired[str | None]

    #: The message to delete (delete)
    id: NotRequired[int | None]
    reason: NotRequired[str | None]


class PresenceChanged(TypedDict):
    """A direct peer's first connection opened or last one closed. Carried by presence_changed."""

    username: str
    online: bool


class React(TypedDict):
    """Add (on: true) or take back (on: false) your reaction to a message of the room; the
    room's open connections get reaction_changed when that changed anything. The payload of
    react.
    """

    #: Optional; compared case-insensitively with the connection's user, and the event
    #: is refused (forbidden) when it differs. Never changes who speaks.
    username: NotRequired[str | None]

    #: A public room (1-64 of A-Z a-z 0-9 - _ .) or a direct room dm:<a>:<b> (both
    #: usernames lower-cased and sorted)
    room: str
    id: int

    #: Exactly one emoji (one grapheme cluster; skin tones and ZWJ sequences allowed);
    #: stored in its fully-qualified form
    emoji: str
    on: bool


class ReactAck(TypedDict):
    """The success ack of react."""

    ok: Literal[True]
    id: int

    #: The emoji as stored (its fully-qualified form)
    emoji: str
    count: int
    users: list[str]


class ReactionChanged(TypedDict):
    """Someone added or took back a reaction: that emoji's reactions to the message now.
    Carried by reaction_changed.
    """

    room: str

    #: The message
    id: int
    emoji: str

    #: How many users reacted with it (0: none any more)
    count: int

    #: Who reacted with it, oldest first, at most 100
    users: list[str]


class RejoinRoom(TypedDict):
    """The history a joiner lacks: the newest page, or everything after its last_id. Carried by
    rejoin_room.
    """

    room: str
    messages: list[Message]
    has_more: bool

    #: true: too much was missed; drop what you had
    reset: bool


class RoleChanged(TypedDict):
    """The owner promoted a member to moderator or demoted a moderator (to the room's open and
    watching connections: the member lists, and the user's own actions, follow at once).
    Carried by role_changed.
    """

    room: str

    #: Whose role changed
    username: str
    role: Literal["moderator", "member"]

    #: The owner who changed it
    by: str


class RoomAdded(TypedDict):
    """You became a member of a room by someone else's action; a watching client sends
    watch_rooms again to receive it. Carried by room_added.
    """

    room: str
    kind: Literal["public", "private", "direct"]

    #: Others' undeleted messages newer than your last read id
    unread: int

    #: Your mentions in undeleted messages newer than your last read id
    mentions: int

    #: The room's topic; null when it has none
    topic: str | None
    last_message: Message | None

    #: direct rooms: the other user
    peer: NotRequired[str]

    #: direct rooms: whether the peer has any connection
    peer_online: NotRequired[bool]


class RoomPerson(TypedDict):
    """Someone opened the room (was not online in it before) or closed it everywhere; or became
    a member of it, or stopped being one (``membership``). Carried by
    join_room_announcement. Carried by leave_room_announcement.
    """

    room: str
    username: str

    #: true: a change of membership (this join made them a member; their membership
    #: ended), which pages show as 'joined'/'left'; false: they only opened or closed
    #: the room
    membership: bool


class RoomRemoved(TypedDict):
    """Your membership of the room ended (you left it, or were kicked or banned); your
    connections no longer have it open or watched. Carried by room_removed.
    """

    room: str

    #: true: you were banned; you cannot join or read the room until unbanned (absent
    #: otherwise)
    banned: NotRequired[bool]

    #: The owner or moderator who removed or banned you (absent when you left yourself)
    by: NotRequired[str]


class RoomUpdated(TypedDict):
    """The room's topic changed (set or cleared). Carried by room_updated."""

    room: str

    #: null: the room has no topic any more
    topic: str | None


class SeenAck(TypedDict):
    """The success ack of mark_seen."""

    ok: Literal[True]
    room: str
    message_id: int


class SendAck(TypedDict):
    """The success ack of send_message."""

    ok: Literal[True]
    id: int
    created_at: str


class SendMessage(TypedDict):
    """Store a message and emit recieve_message to the room (the sender included). The payload
    of send_message.
    """

    #: Optional; compared case-insensitively with the connection's user, and the event
    #: is refused (forbidden) when it differs. Never changes who speaks.
    username: NotRequired[str | None]

    #: A public room (1-64 of A-Z a-z 0-9 - _ .) or a direct room dm:<a>:<b> (both
    #: usernames lower-cased and sorted)
    room: str

    #: Trimmed (str.strip), then 0-4000 code points, empty only when the message carries
    #: attachments; no control characters but newline and tab (over 4000: too_long)
    message: NotRequired[str]
    client_id: NotRequired[str | None]

    #: The id of the message this one answers: of this room, not deleted
    reply_to: NotRequired[int | None]

    #: Ids of your uploads to this room that no message holds yet, each once (at most
    #: 10); with any, the text may be empty
    attachments: NotRequired[list[int]]


class SetTopic(TypedDict):
    """As the room's owner or a moderator, set (or, empty, clear) its topic; the room's open
    and watching connections get room_updated. The payload of set_topic.
    """

    #: Optional; compared case-insensitively with the connection's user, and the event
    #: is refused (forbidden) when it differs. Never changes who speaks.
    username: NotRequired[str | None]

    #: A public room (1-64 of A-Z a-z 0-9 - _ .) or a direct room dm:<a>:<b> (both
    #: usernames lower-cased and sorted)
    room: str

    #: Trimmed, up to 250 code points, no control characters but newline and tab
    #: (longer: too_long); empty clears the topic
    topic: str


class SignedOut(TypedDict):
    """This connection's sign-in ended; the server disconnects it next. Carried by signed_out."""


class Summary(TypedDict):
    """A room of the user's, at a glance. Part of WatchAck."""

    room: str
    kind: Literal["public", "private", "direct"]

    #: Others' undeleted messages newer than your last read id
    unread: int

    #: Your mentions in undeleted messages newer than your last read id
    mentions: int

    #: The room's topic; null when it has none
    topic: str | None
    last_message: Message | None

    #: direct rooms: the other user
    peer: NotRequired[str]

    #: direct rooms: whether the peer has any connection
    peer_online: NotRequired[bool]


class TopicAck(TypedDict):
    """The success ack of set_topic."""

    ok: Literal[True]
    room: str

    #: The topic now; null when it has none
    topic: str | None


class TypingOn(TypedDict):
    """Someone in the room started or stopped typing (relayed on news only). Carried by
    typing_on.
    """

    room: str
    username: str
    typing: bool


class TypingStatus(TypedDict):
    """Tell the room you are (or stopped) typing. The payload of typing_status."""

    #: Optional; compared case-insensitively with the connection's user, and the event
    #: is refused (forbidden) when it differs. Never changes who speaks.
    username: NotRequired[str | None]

    #: A public room (1-64 of A-Z a-z 0-9 - _ .) or a direct room dm:<a>:<b> (both
    #: usernames lower-cased and sorted)
    room: str
    typing: bool


class WatchAck(TypedDict):
    """The success ack of watch_rooms."""

    ok: Literal[True]
    rooms: list[Summary]


class WatchRooms(TypedDict):
    """Receive the messages, edits and deletes of every room you are a member of. The payload
    of watch_rooms.
    """

    #: Optional; compared case-insensitively with the connection's user, and the event
    #: is refused (forbidden) when it differs. Never changes who speaks.
    username: NotRequired[str | None]


# One name per server event and per ack, where the model's name differs.
JoinRoomAnnouncement = RoomPerson
LeaveRoomAnnouncement = RoomPerson
MessageEdited = Message
RecieveMessage = Message
DeleteMessageAck = DeleteAck
EditMessageAck = EditAck
JoinedRoomAck = JoinAck
LeaveRoomAck = LeaveAck
LoadHistoryAck = HistoryAck
MarkSeenAck = SeenAck
ModerateAck = Ack
SendMessageAck = SendAck
SetTopicAck = TopicAck
TypingStatusAck = Ack
WatchRoomsAck = WatchAck

# What each server event carries.
SERVER_EVENT_TYPES: dict[str, Any] = {
    CHAT_ERROR: ChatError,
    JOIN_ROOM_ANNOUNCEMENT: RoomPerson,
    LEAVE_ROOM_ANNOUNCEMENT: RoomPerson,
    MENTIONED: Mentioned,
    MESSAGE_DELETED: MessageDeleted,
    MESSAGE_EDITED: Message,
    MESSAGES_SEEN: MessagesSeen,
    PRESENCE_CHANGED: PresenceChanged,
    REACTION_CHANGED: ReactionChanged,
    RECIEVE_MESSAGE: Message,
    REJOIN_ROOM: RejoinRoom,
    ROLE_CHANGED: RoleChanged,
    ROOM_ADDED: RoomAdded,
    ROOM_REMOVED: RoomRemoved,
    ROOM_UPDATED: RoomUpdated,
    SIGNED_OUT: SignedOut,
    TYPING_ON: TypingOn,
}
# The success ack of each client event (a refused one is an ErrorAck).
ACK_TYPES: dict[str, Any] = {
    DELETE_MESSAGE: DeleteAck,
    EDIT_MESSAGE: EditAck,
    INVITE: InviteAck,
    JOINED_ROOM: JoinAck,
    LEAVE_ROOM: LeaveAck,
    LOAD_HISTORY: HistoryAck,
    MARK_SEEN: SeenAck,
    MODERATE: Ack,
    REACT: ReactAck,
    SEND_MESSAGE: SendAck,
    SET_TOPIC: TopicAck,
    TYPING_STATUS: Ack,
    WATCH_ROOMS: WatchAck,
}
# The payload of each client event.
PAYLOAD_TYPES: dict[str, Any] = {
    DELETE_MESSAGE: DeleteMessage,
    EDIT_MESSAGE: EditMessage,
    INVITE: Invite,
    JOINED_ROOM: JoinRoom,
    LEAVE_ROOM: LeaveRoom,
    LOAD_HISTORY: LoadHistory,
    MARK_SEEN: MarkSeen,
    MODERATE: Moderate,
    REACT: React,
    SEND_MESSAGE: SendMessage,
    SET_TOPIC: SetTopic,
    TYPING_STATUS: TypingStatus,
    WATCH_ROOMS: WatchRooms,
}
