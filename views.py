"""Pages and the health check."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError

from auth import LoginForm
from chat import accounts, downloads, rooms, rules, sql, summaries
from chat.errors import Failure
from chat.identity import bearer_token

log = logging.getLogger(__name__)
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
    me = current_user.username
    if peer is not None:
        if not rules.is_username(peer) or peer.lower() == me.lower():
            abort(400, "Pick another user's name to chat with.")
        other = accounts.find_user(peer)
        if other is None:
            abort(404, f"There is no user named {peer}.")
        return _chat_page(rules.direct_room_name(me, other.username), other.username, True)
    if not rules.is_room_name(room):
        abort(400, "A room name is 1-64 letters, digits, '-', '_' or '.'.")
    if not rooms.may_open(room, rooms.UserRef(current_user.id, me)):
        abort(403, "This room is not one you may open.")
    if rules.direct_participants(room):
        return _chat_page(room, rules.other_participant(room, me), True)
    return _chat_page(room, room, False)


def _chat_page(room: str | None, title: str | None, direct: bool):
    """The one chat page: the room list beside the open room (none on /)."""
    rooms = summaries.room_list(current_user.id, current_user.username)
    if isinstance(rooms, Failure):  # over the room-list limit: watch_rooms fills it later
        rooms = []
    return render_template("chat.html", room=room, title=title, direct=direct, rooms=rooms)


@bp.get("/attachments/<int:attachment_id>/<name>")
def attachment(attachment_id: int, name: str):
    """An attachment, for readers of its room (a session cookie or a Bearer token); 404
    for anyone else, whether or not it exists. The name is only for the browser."""
    return _download(attachment_id, thumb=False)


@bp.get("/attachments/<int:attachment_id>/thumb/<name>")
def attachment_thumbnail(attachment_id: int, name: str):
    """An image attachment's thumbnail (WebP, at most 400x400), as the attachment."""
    return _download(attachment_id, thumb=True)


def _download(attachment_id: int, thumb: bool):
    token = bearer_token(request)
    user = accounts.user_from_token(token) if token is not None else current_user
    if user is None or not user.is_authenticated:
        abort(404)
    response = downloads.download(attachment_id, user.id, user.username, thumb)
    if response is None:
        abort(404)
    return response


@bp.get("/healthz")
def healthz():
    """200 while the database takes what a message needs (a write), else 503."""
    try:
        sql.check_writable()
    except SQLAlchemyError as error:
        log.warning("health check: the database takes no writes: %s", error)
        return {"status": "unavailable", "db": "unavailable"}, 503
    return {"status": "ok", "db": "ok"}
