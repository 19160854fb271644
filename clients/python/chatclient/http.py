"""The HTTP side of the protocol a client needs: an account and a token
(``POST /api/register``, ``POST /api/token``), and authenticated JSON reads."""

from __future__ import annotations

from typing import Any

import requests

from chatclient.errors import ChatError

TIMEOUT = 10.0


def _answer(response: requests.Response) -> Any:
    """The JSON body of a success, or the ChatError of ``{error: {code, message}}``."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.ok:
        return body
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        error = {"code": "internal_error", "message": f"HTTP {response.status_code}"}
    if error.get("retry_after") is None and response.headers.get("Retry-After", "").isdigit():
        error = {**error, "retry_after": float(response.headers["Retry-After"])}
    raise ChatError.from_error(error, status=response.status_code)


def _post(
    url: str, path: str, body: dict | None, timeout: float, headers: dict | None = None
) -> Any:
    try:
        response = requests.post(
            url.rstrip("/") + path, json=body, headers=headers, timeout=timeout
        )
    except requests.RequestException as error:
        raise ChatError("unavailable", f"{url} is unreachable: {error}") from error
    return _answer(response)


def register(url: str, username: str, password: str, *, timeout: float = TIMEOUT) -> bool:
    """Make the account; True if it was made, False if the name is taken (409), which is
    what a second run of a script sees. Other refusals raise ChatError."""
    try:
        _post(url, "/api/register", {"username": username, "password": password}, timeout)
    except ChatError as error:
        if error.code == "username_taken":
            return False
        raise
    return True


def sign_in(url: str, username: str, password: str, *, timeout: float = TIMEOUT) -> dict:
    """``{token, expires_in}`` for the account; ChatError ``unauthorized`` (401) for a wrong
    name or password, ``rate_limited`` (429, with ``retry_after``) after too many."""
    return _post(url, "/api/token", {"username": username, "password": password}, timeout)


def refresh_token(url: str, token: str, *, timeout: float = TIMEOUT) -> dict:
    """``{token, expires_in}``: a new token for the holder of ``token`` (``POST
    /api/token/refresh``); the old one keeps working until it expires. ChatError
    ``unauthorized`` (401) when ``token`` no longer works."""
    headers = {"Authorization": f"Bearer {token}"}
    return _post(url, "/api/token/refresh", None, timeout, headers)


def get(url: str, path: str, token: str, *, timeout: float = TIMEOUT, **params: Any) -> Any:
    """``GET path`` with the token (``Authorization: Bearer``): the JSON body."""
    headers = {"Authorization": f"Bearer {token}"}
    query = {key: value for key, value in params.items() if value is not None}
    try:
        response = requests.get(
            url.rstrip("/") + path, headers=headers, params=query, timeout=timeout
        )
    except requests.RequestException as error:
        raise ChatError("unavailable", f"{url} is unreachable: {error}") from error
    return _answer(response)
