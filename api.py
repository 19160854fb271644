"""The JSON API: every ``/api/*`` route, one blueprint, one rule of who is calling.

A Bearer token authenticates a call by itself (the cookie is then ignored, and no CSRF
token is needed: no other site can set that header); otherwise the session cookie does,
and its writes need the CSRF token in ``X-CSRFToken`` (as the forms do). Errors are
``{error: {code, message}}`` with the status of ``chat.errors.HTTP_STATUS``.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

import auth
from chat import (
    accounts,
    attachments,
    membership,
    mentions,
    outbox,
    rooms,
    roster,
    rules,
    search,
    summaries,
)
from chat.errors import HTTP_STATUS, Failure, invalid
from chat.history import history
from chat.identity import bearer_token
from chat.payloads import LoadHistory
from chat.protocol import parse
from models import MAX_INTEGER, User

bp = Blueprint("api", __name__, url_prefix="/api")

# Authenticated by the password in the body, not by a cookie or a token.
PUBLIC = {"api.register", "api.token"}
SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")


def json_error(failure: Failure):
    return {"error": failure.as_dict()}, HTTP_STATUS[failure.code]


@bp.before_request
def _identify():
    """Who is calling (``g.caller``, and ``g.by_cookie``), or 401."""
    g.caller, g.by_cookie = None, False
    if request.endpoint in PUBLIC:
        return None
    token = bearer_token(request)
    if token is not None:
        g.caller = accounts.user_from_token(token)
    elif current_user.is_authenticated:
        if request.method not in SAFE_METHODS:
            _require_csrf_header()
        g.caller, g.by_cookie = current_user._get_current_object(), True
    if g.caller is None:
        return json_error(Failure("unauthorized", "sign in or send a Bearer token"))
    return None


@bp.after_request
def _flush(response):
    outbox.flush()  # what the route queued: its writes are committed
    return response


def _require_csrf_header() -> None:
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    names = current_app.config.get("WTF_CSRF_HEADERS", ["X-CSRFToken", "X-CSRF-Token"])
    token = next((request.headers[name] for name in names if name in request.headers), None)
    try:
        validate_csrf(token)
    except ValidationError as error:
        raise CSRFError(error.args[0]) from error


def _json_body(shape: str) -> dict | Failure:
    body = request.get_json(silent=True)  # malformed or too deep to parse: None
    if not isinstance(body, dict):
        return invalid(f"send a JSON object {shape}")
    problem = rules.unstorable(body)
    return invalid(problem) if problem else body


def _int_arg(name: str) -> int | str | Failure | None:
    """A query argument as an int when it is one, refused past what an Integer column
    holds; anything else is left for validation."""
    value = request.args.get(name)
    if value is None or not (value.isascii() and value.isdigit()):
        return value
    # Digits counted first: int() refuses more than 4,300 of them with a ValueError.
    if len(value.lstrip("0")) > len(str(MAX_INTEGER)) or int(value) > MAX_INTEGER:
        return invalid(f"{name}: must be an integer from 0 to {MAX_INTEGER}")
    return int(value)


def _me() -> User:
    return g.caller


def _caller() -> rooms.UserRef:
    return rooms.UserRef(g.caller.id, g.caller.username)


# --- accounts ------------------------------------------------------------------------


@bp.post("/register")
def register():
    """{username, password} -> 201 {username}; 409 username_taken; 400 invalid_payload;
    429 after too many new accounts from one address."""
    body = _json_body("{username, password}")
    if isinstance(body, Failure):
        return json_error(body)
    failure = rules.check_credentials(body.get("username"), body.get("password"))
    if failure:
        return json_error(failure)
    if not accounts.registration_allowed(auth.client_address()):
        return json_error(accounts.TOO_MANY_ACCOUNTS)
    user = accounts.create_user(body["username"], body["password"])
    if user is None:
        return json_error(Failure("username_taken", "that username is taken"))
    return {"username": user.username}, 201


@bp.post("/token")
def token():
    """{username, password} -> 200 {token, expires_in}; 401 unauthorized; 429."""
    body = _json_body("{username, password}")
    if isinstance(body, Failure):
        return json_error(body)
    user = accounts.sign_in(body.get("username"), body.get("password"), auth.client_address())
    if isinstance(user, Failure):
        return json_error(user)
    return accounts.issue_token(user)


@bp.post("/token/refresh")
def token_refresh():
    """Bearer token -> 200 {token, expires_in}: a new token of the caller. The old one
    keeps working until it expires (or the user signs out everywhere, which ends both);
    401 without a valid Bearer token (a session cookie does not refresh)."""
    if g.by_cookie:
        return json_error(Failure("unauthorized", "send the token to refresh as a Bearer token"))
    return accounts.issue_token(_me())


@bp.post("/logout-everywhere")
def logout_everywhere():
    """-> 204: every session and API token of the caller ends (this one too)."""
    accounts.end_every_session(_me())
    if g.by_cookie:
        auth.forget_browser()
    return "", 204


@bp.post("/password")
def password():
    """{password, new_password} -> 204: the password changes and every session and API
    token of the caller ends; a browser that asked goes on in a new session. 401 on a
    wrong password, 400 on a new password that breaks the rules."""
    body = _json_body("{password, new_password}")
    if isinstance(body, Failure):
        return json_error(body)
    failure = accounts.change_password(
        _me(), body.get("password"), body.get("new_password"), auth.client_address()
    )
    if failure:
        return json_error(failure)
    if g.by_cookie:
        auth.start_session(_me())
    return "", 204


# --- rooms ---------------------------------------------------------------------------


@bp.get("/rooms")
def room_list():
    """{rooms: [Summary]}: the rooms you are a member of, the most recently active first."""
    found = summaries.room_list(_me().id, _me().username)
    return json_error(found) if isinstance(found, Failure) else {"rooms": found}


@bp.delete("/rooms/<room>/membership")
def end_membership(room: str):
    """204: you are no longer a member; your connections stop having the room open or
    watched (a direct room comes back with its next message). 404 if you were not one."""
    me = _me()
    failure = membership.end(me.id, me.username, room)
    return json_error(failure) if failure else ("", 204)


@bp.get("/directory")
def directory():
    """{rooms: [{room, members, last_message_at}]}: public rooms whose name starts with
    ?q= (case-insensitive), the most recently active first (?limit= up to 100)."""
    limit = _int_arg("limit")
    if isinstance(limit, Failure):
        return json_error(limit)
    found = summaries.directory(request.args.get("q", ""), limit)
    return json_error(found) if isinstance(found, Failure) else found


@bp.get("/rooms/<room>/messages")
def room_messages(room: str):
    """{messages, has_more, has_newer}: the same page as load_history (?before_id= or
    ?after_id= or ?around_id=, and ?limit=)."""
    query = {"room": room}
    for name in ("before_id", "after_id", "around_id", "limit"):
        query[name] = value = _int_arg(name)
        if isinstance(value, Failure):
            return json_error(value)
    payload = parse(LoadHistory, query)
    if isinstance(payload, Failure):
        return json_error(payload)
    page = history(_caller(), payload)
    return json_error(page) if isinstance(page, Failure) else page


@bp.get("/rooms/<room>/members")
def room_members(room: str):
    """{members: [{username, role, online}], has_more}: the room's members by username
    (?after= a username, ?limit= up to 100), for whoever may read the room."""
    limit = _int_arg("limit")
    if isinstance(limit, Failure):
        return json_error(limit)
    page = roster.members_page(_caller(), room, request.args.get("after"), limit)
    return json_error(page) if isinstance(page, Failure) else page


@bp.get("/rooms/<room>/audit")
def room_audit(room: str):
    """{entries: [{id, at, actor, action, target, message_id, reason, topic}]}: the room's
    moderation record, newest first (?before_id=, ?limit= up to 100); its owner and
    moderators only (403 for anyone else)."""
    before_id, limit = _int_arg("before_id"), _int_arg("limit")
    for value in (before_id, limit):
        if isinstance(value, Failure):
            return json_error(value)
    page = roster.audit_page(_caller(), room, before_id, limit)
    return json_error(page) if isinstance(page, Failure) else page


@bp.get("/mentions")
def my_mentions():
    """{messages, has_more}: your mentions across the rooms you can read, newest first
    (?before_id=&limit=, limit up to 100)."""
    before_id, limit = _int_arg("before_id"), _int_arg("limit")
    for value in (before_id, limit):
        if isinstance(value, Failure):
            return json_error(value)
    page = mentions.mentions_page(_me().id, before_id, limit)
    return json_error(page) if isinstance(page, Failure) else page


# --- attachments ---------------------------------------------------------------------


@bp.post("/rooms/<room>/attachments")
def upload_attachment(room: str):
    """multipart/form-data with the field ``file`` -> 201 {attachment}: your upload to
    this room (you are a member), waiting for send_message's attachments. 413 too_large
    past MAX_UPLOAD_MB, 409 limit_reached past UPLOAD_QUOTA_MB, 400 for an empty file or a
    broken image, 403 forbidden for a non-member and for a room you may not read (one that
    does not exist included, as for every read)."""
    if not rules.is_room_name(room):
        return json_error(invalid(f"room: must be a room name ({rules.ROOM_RULE})"))
    found = attachments.upload(_me().id, _me().username, room, request.environ)
    if isinstance(found, Failure):
        response, status = json_error(found)
        # Whatever of the body is still unread is not worth reading: the connection ends.
        return response, status, {"Connection": "close"}
    return {"attachment": found}, 201


# --- search --------------------------------------------------------------------------


@bp.get("/search")
def search_messages():
    """{messages, has_more}: the messages you may read that match ?q=, newest first
    (?room=, ?from=, ?before_id=, ?limit= up to 50; docs/protocol.md)."""
    query = {
        "q": request.args.get("q"),
        "room": request.args.get("room"),
        "from": request.args.get("from"),
        "before_id": _int_arg("before_id"),
        "limit": _int_arg("limit"),
    }
    for value in query.values():
        if isinstance(value, Failure):
            return json_error(value)
    payload = parse(search.SearchQuery, query)
    if isinstance(payload, Failure):
        return json_error(payload)
    found = search.search(_me().id, _me().username, payload)
    return json_error(found) if isinstance(found, Failure) else found
