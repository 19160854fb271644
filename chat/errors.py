"""Expected failures as values, and the one table of error codes and HTTP statuses."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Failure:
    """Why an operation was refused; it changed nothing."""

    code: str
    message: str
    retry_after: float | None = None  # seconds, for rate_limited

    def as_dict(self) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.retry_after is not None:
            error["retry_after"] = self.retry_after
        return error


# Every error code and the HTTP status a route answers it with (sockets send the code).
# An HTTP error with a status is called by the first code listed for it.
HTTP_STATUS = {
    "invalid_payload": 400,
    "too_long": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "username_taken": 409,
    "not_in_room": 409,
    "limit_reached": 409,
    "too_large": 413,
    "rate_limited": 429,
    "internal_error": 500,
    "unavailable": 503,
}

# What an HTTP error Werkzeug raises (abort, 404, 405, CSRF, too large) is called.
CODE_OF_STATUS = {status: code for code, status in reversed(HTTP_STATUS.items())}


def invalid(message: str) -> Failure:
    return Failure("invalid_payload", message)


def not_found(message: str) -> Failure:
    return Failure("not_found", message)


def forbidden(message: str) -> Failure:
    return Failure("forbidden", message)


def rate_limited(message: str, wait: float) -> Failure:
    return Failure("rate_limited", message, round(wait, 3))


UNAVAILABLE_DB = Failure("unavailable", "the database is unavailable, try again")
UNAVAILABLE_QUEUE = Failure("unavailable", "the message service is unavailable, try again")
