"""Pages and the health check."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

import chat
import events
from auth import LoginForm, json_error
from models import MAX_INTEGER, db

bp = Blueprint("views", __name__)


@bp.get("/")
def index():
    if not current_user.is_authenticated:
        return render_template("login.html", form=LoginForm())
    return _chat_page(None, None, False)


@bp.get("/chat")
@login_required
def chat_page():
    """/chat?room=NAME for a room, /chat?with=USERNAME for a direct chat."""
    room, peer = request.args.get("room"), request.args.get("with")
    if (room is None) == (peer is None):
        return redirect(url_for("views.index"))
    if peer is not None:
        if not chat.USERNAME_RE.fullmatch(peer) or peer.lower() == current_user.username.lower():
            abort(400, "Pick another user's name to chat with.")
        other = chat.find_user(peer)
        if other is None:
            abort(404, f"There is no user named {peer}.")
        room = chat.direct_room_name(current_user.username, other.username)
        title = other.username
        direct = True
    else:
        if not chat.is_room_name(room):
            abort(400, "A room name is 1-64 letters, digits, '-', '_' or '.'.")
        participants = chat.direct_participants(room)
        if participants and current_user.username.lower() not in participants:
            abort(403, "This direct chat belongs to two other users.")
        direct = participants is not None
        title = (
            next(p for p in participants if p != current_user.username.lower()) if direct else room
        )
    return _chat_page(room, title, direct)


def _chat_page(room: str | None, title: str | None, direct: bool):
    """The one chat page: the room list beside the open room (none on /)."""
    rooms = events.room_list(current_user.id, current_user.username)
    return render_template("chat.html", room=room, title=title, direct=direct, rooms=rooms)


@bp.get("/api/rooms")
@login_required
def api_rooms():
    """{rooms: [Summary]}: the rooms you are a member of, the most recently active first."""
    return {"rooms": events.room_list(current_user.id, current_user.username)}


@bp.delete("/api/rooms/<room>/membership")
@login_required
def api_remove_room(room: str):
    """204: you are no longer a member; your connections stop having the room open or
    watched (a direct room comes back with its next message). 404 if you were not one."""
    if not chat.is_room_name(room):
        return json_error(chat.invalid("not a room name"), 400)
    found = chat.find_room(room)
    if found is None or not chat.remove_member(found[0], current_user.id):
        return json_error(chat.Failure("not_found", f"you are not a member of {room}"), 404)
    events.remove_room(current_user.id, room)
    return "", 204


@bp.get("/api/directory")
@login_required
def api_directory():
    """{rooms: [{room, members, last_message_at}]}: public rooms whose name starts with
    ?q= (case-insensitive), the most recently active first (?limit= up to 100)."""
    found = chat.directory(request.args.get("q", ""), _int_arg("limit"))
    if isinstance(found, chat.Failure):
        return json_error(found, chat.HTTP_STATUS[found.code])
    return found


@bp.get("/api/rooms/<room>/messages")
@login_required
def api_room_messages(room: str):
    """{messages, has_more}: the same page as load_history (?before_id=&limit=)."""
    before_id, limit = _int_arg("before_id"), _int_arg("limit")
    for value in (before_id, limit):
        if isinstance(value, chat.Failure):
            return json_error(value)
    page = chat.read_page(current_user.username, room, before_id, limit)
    if isinstance(page, chat.Failure):
        return json_error(page)
    return page


def _int_arg(name: str) -> int | str | chat.Failure | None:
    """A query argument as an int when it is one, refused past what an Integer column
    holds; anything else is left for validation."""
    value = request.args.get(name)
    if value is None or not (value.isascii() and value.isdigit()):
        return value
    # Digits counted first: int() refuses more than 4,300 of them with a ValueError.
    if len(value.lstrip("0")) > len(str(MAX_INTEGER)) or int(value) > MAX_INTEGER:
        return chat.invalid(f"{name} must be an integer from 0 to {MAX_INTEGER}")
    return int(value)


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return {"status": "unavailable", "db": "unavailable"}, 503
    return {"status": "ok", "db": "ok"}
