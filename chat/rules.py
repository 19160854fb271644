"""Every input rule of the protocol, and the one rule of who may read a room.

The payload models (``payloads.py``) apply these to socket events, the routes to query
strings and JSON bodies, the pages to forms; ``static/js/protocol.js`` carries the same
limits and patterns to the browser (generated from here by ``make protocol``).
"""

from __future__ import annotations

import re

from chat.errors import Failure, invalid

MAX_MESSAGE_LENGTH = 4000
MAX_CLIENT_ID_LENGTH = 64
PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
REPLAY_LIMIT = 1000
DIRECTORY_SIZE = 50
MAX_REACTION_KINDS = 20  # distinct emoji on one message
MAX_REACTION_USERS = 100  # users named per emoji (the count says how many in all)
EXCERPT_LENGTH = 120  # code points of the original a reply shows
MAX_TOPIC_LENGTH = 250  # code points of a room's topic
MAX_REASON_LENGTH = 250  # code points of a moderation action's reason
MAX_ATTACHMENTS = 10  # files in one message
MAX_UPLOAD_MB, UPLOAD_QUOTA_MB = 10, 500  # per file, per user: the settings' defaults
THUMBNAIL_SIZE = 400  # an image's thumbnail fits in this many pixels each way
MAX_ID = 2**31 - 1  # PostgreSQL integer columns stop here
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256  # a bound on hashing work, not a policy
MAX_JSON_DEPTH = 8  # the API's bodies are flat objects

MIN_USERNAME_LENGTH, MAX_USERNAME_LENGTH = 3, 32
USERNAME_PATTERN = r"[A-Za-z0-9_.-]{3,32}"
PUBLIC_ROOM_PATTERN = r"[A-Za-z0-9_.-]{1,64}"
DIRECT_ROOM_PATTERN = r"dm:([a-z0-9_.-]{3,32}):([a-z0-9_.-]{3,32})"
ROOM_PATTERN = f"{PUBLIC_ROOM_PATTERN}|dm:[a-z0-9_.-]{{3,32}}:[a-z0-9_.-]{{3,32}}"

USERNAME_RE = re.compile(USERNAME_PATTERN)
PUBLIC_ROOM_RE = re.compile(PUBLIC_ROOM_PATTERN)
ROOM_PREFIX_RE = re.compile(r"[A-Za-z0-9_.-]{0,64}")
DIRECT_ROOM_RE = re.compile(DIRECT_ROOM_PATTERN)
# C0 controls except \t and \n, DEL, C1 controls, and lone surrogates (valid in JSON and
# in a Python str, but no database can store them).
FORBIDDEN_CHARS_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# A client_id is an opaque token: no control characters at all.
FORBIDDEN_ID_CHARS_RE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# Neither database stores NUL or a lone surrogate (valid in JSON strings and in Python).
UNSTORABLE_RE = re.compile("[\x00\ud800-\udfff]")


# --- text ----------------------------------------------------------------------------


def clean_message(text: object) -> str | Failure:
    """The stored form of a message body (trimmed), or why it is refused."""
    if not isinstance(text, str):
        return invalid("message must be a string")
    text = text.strip()
    if not text:
        return invalid("message is empty")
    if len(text) > MAX_MESSAGE_LENGTH:
        return Failure("too_long", f"message is longer than {MAX_MESSAGE_LENGTH} characters")
    if FORBIDDEN_CHARS_RE.search(text):
        return invalid("message contains control characters")
    return text


def client_id_problem(client_id: str) -> str | None:
    if not 1 <= len(client_id) <= MAX_CLIENT_ID_LENGTH or FORBIDDEN_ID_CHARS_RE.search(client_id):
        return f"must be 1-{MAX_CLIENT_ID_LENGTH} characters without control characters"
    return None


def check_id(value: object, field: str, required: bool = False) -> int | Failure | None:
    """An id from 0 to MAX_ID, None when optional and absent (booleans are not ids)."""
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
        return invalid(f"{field} must be an integer from 0 to {MAX_ID}")
    return value


def check_limit(value: object, default: int, largest: int) -> int | Failure:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= largest:
        return invalid(f"limit must be an integer from 1 to {largest}")
    return value


def unstorable(value: object) -> str | None:
    """Why a parsed JSON value is refused before it reaches a query or a hash (nested
    too deep, NUL or a lone surrogate in a string), or None. Iterative: a deep value
    cannot exhaust the stack."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return "the JSON is nested too deeply"
        if isinstance(item, str):
            if UNSTORABLE_RE.search(item):
                return "strings must not contain NUL or lone surrogates"
        elif isinstance(item, dict):
            stack.extend((key, depth) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return None


# --- accounts ------------------------------------------------------------------------

USERNAME_RULE = "3-32 letters, digits, '_', '.' or '-'"


def is_username(value: object) -> bool:
    return isinstance(value, str) and USERNAME_RE.fullmatch(value) is not None


def check_password(password: object, field: str = "password") -> Failure | None:
    if not isinstance(password, str) or not (
        MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH
    ):
        return invalid(f"{field} must be {MIN_PASSWORD_LENGTH}-{MAX_PASSWORD_LENGTH} characters")
    return None


def check_credentials(username: object, password: object) -> Failure | None:
    if not is_username(username):
        return invalid(f"username must be {USERNAME_RULE}")
    return check_password(password)


# --- rooms ---------------------------------------------------------------------------

ROOM_RULE = "1-64 letters, digits, '-', '_' or '.', or a dm: name"


def is_room_name(name: object) -> bool:
    """A public room name, or a direct room's canonical ``dm:<a>:<b>`` name."""
    return isinstance(name, str) and bool(
        PUBLIC_ROOM_RE.fullmatch(name) or direct_participants(name)
    )


def direct_room_name(a: str, b: str) -> str:
    first, second = sorted((a.lower(), b.lower()))
    return f"dm:{first}:{second}"


def direct_participants(name: str) -> tuple[str, str] | None:
    """The two lower-cased usernames of a canonical direct room name (sorted, distinct)."""
    match = DIRECT_ROOM_RE.fullmatch(name)
    return (match[1], match[2]) if match and match[1] < match[2] else None


def other_participant(room: str, username: str) -> str:
    """The other (lower-cased) username of a direct room's name."""
    first, second = direct_participants(room) or (room, room)
    return second if first == username.lower() else first


# --- who may read and open a room ----------------------------------------------------

ROLES = ("owner", "moderator", "member")
MODERATORS = ("owner", "moderator")  # the roles that moderate a room


def can_read(room: str, username: str, kind: str | None, member: bool, banned: bool) -> bool:
    """Whether this user may read the room: the one read rule, which history, search,
    mentions, the member list and pages all call (``rooms.access`` reads what it needs
    in one query; ``rooms.READABLE`` says the same in SQL, for lists across rooms).

    ``kind`` is the room's (None: no such room), ``member`` whether the user is one,
    ``banned`` whether they are banned from it. A direct room: its two users. A public
    room: anyone not banned. A private room: its members. A room that does not exist:
    nobody (so a private room's name reads the same whether or not it exists).
    """
    participants = direct_participants(room)
    if participants is not None:
        return kind == "direct" and username.lower() in participants
    if kind is None or banned:
        return False
    return kind == "public" or member


def can_open(room: str, username: str, kind: str | None, member: bool, banned: bool) -> bool:
    """Whether ``joined_room`` may open the room (and a page show it): as ``can_read``,
    except that a room that does not exist yet may be opened, since a join creates it
    (a direct room: by one of its two users)."""
    participants = direct_participants(room)
    if participants is not None:
        return username.lower() in participants
    return kind is None or can_read(room, username, kind, member, banned)


def can_moderate(role: str | None) -> bool:
    """Whether a member of this role deletes others' messages, kicks, bans, unbans and
    sets the topic (promote and demote: the owner only)."""
    return role in MODERATORS


NOT_YOURS = Failure("forbidden", "this direct room belongs to two other users")
# An event of a room whose membership ended (a kick or ban on another process) while this
# connection still had it open: the drop_room control action closes it here too.
NOT_A_MEMBER = Failure("not_in_room", "you are no longer a member of this room")


def not_readable(room: str) -> Failure:
    """The refusal of a room this user may not read: the same whether it is private,
    banned to them or does not exist."""
    return Failure("forbidden", f"there is no room {room} that you may read")
