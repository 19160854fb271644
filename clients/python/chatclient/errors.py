"""Errors as one exception type: the server's refusals (acks, ``chat_error``, HTTP) and
the client's own (``timeout``, ``closed``)."""

from __future__ import annotations


class ChatError(Exception):
    """A refused request: ``code`` is the protocol's error code (``not_in_room``,
    ``rate_limited``, ``unauthorized``, …) or the client's own (``timeout``, ``closed``);
    ``retry_after`` is set for ``rate_limited`` (seconds until it would pass); ``status``
    is the HTTP status of an API error; ``event`` the Socket.IO event refused."""

    def __init__(
        self,
        code: str,
        message: str = "",
        *,
        retry_after: float | None = None,
        status: int | None = None,
        event: str | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.status = status
        self.event = event

    @classmethod
    def from_error(cls, error: object, **context) -> ChatError:
        """From an ack's or an HTTP body's ``error`` object: ``{code, message,
        retry_after?}``."""
        if not isinstance(error, dict):
            return cls("internal_error", f"unexpected error {error!r}", **context)
        retry_after = error.get("retry_after")
        return cls(
            str(error.get("code", "internal_error")),
            str(error.get("message", "")),
            retry_after=float(retry_after) if isinstance(retry_after, int | float) else None,
            **context,
        )


class ChatTimeout(ChatError):
    """No answer within the request's deadline (retries included); the request may or may
    not have taken effect (a send with the same ``client_id`` is stored at most once)."""

    def __init__(self, message: str = "no answer in time", **context) -> None:
        super().__init__("timeout", message, **context)


class ChatClosed(ChatError):
    """The client is closed (by ``close()``, a sign-out, or a refusal it cannot recover
    from), so the request was not sent."""

    def __init__(self, message: str = "the client is closed", **context) -> None:
        super().__init__("closed", message, **context)
