"""The protocol's payload models: how they are declared, registered and applied.

Every client event has a payload model (validating what arrives) and an ack model (what
its success ack carries); every server event has a model of what it carries. The models
are the single source of truth: socket handlers validate with them, and ``export.py``
turns them into ``docs/schemas/*.json``, ``docs/asyncapi.yaml`` and
``static/js/protocol.js``. A feature module declares its own models with ``client_event``
and ``server_event``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from chat.errors import HTTP_STATUS, Failure, invalid

# Error types raised by our validators that are codes of their own (else invalid_payload).
OWN_CODES = frozenset({"too_long"})


class Payload(BaseModel):
    """A client event's payload: one JSON object, strict types (no "5" for 5, no 1 for
    true), unknown fields ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    username: str | None = Field(
        None,
        description="Optional; compared case-insensitively with the connection's user, "
        "and the event is refused (forbidden) when it differs. Never changes who speaks.",
    )


class Shape(BaseModel):
    """What the server sends (an ack's body, a server event): exactly these fields."""

    model_config = ConfigDict(extra="forbid")


class Ack(Shape):
    ok: Literal[True]


class Error(Shape):
    code: Literal[tuple(HTTP_STATUS)]  # type: ignore[valid-type]
    message: str
    retry_after: float | SkipJsonSchema[None] = Field(
        None, description="rate_limited only: seconds until the event would pass"
    )


class ErrorAck(Shape):
    """The ack of any refused event."""

    ok: Literal[False]
    error: Error


@dataclass(frozen=True)
class ClientEvent:
    name: str
    payload: type[Payload]
    ack: type[Ack]
    errors: tuple[str, ...]  # the codes this event may answer, besides the common ones

    @property
    def summary(self) -> str:
        return " ".join((self.payload.__doc__ or "").split())


@dataclass(frozen=True)
class ServerEvent:
    name: str
    model: type[Shape]

    @property
    def summary(self) -> str:
        return " ".join((self.model.__doc__ or "").split())


CLIENT_EVENTS: dict[str, ClientEvent] = {}
SERVER_EVENTS: dict[str, ServerEvent] = {}
# Codes any event may answer: a dead database or queue, a bug, a flood, a foreign username.
COMMON_ERRORS = ("invalid_payload", "forbidden", "rate_limited", "unavailable", "internal_error")


def client_event(name: str, *, ack: type[Ack], errors: tuple[str, ...] = ()):
    """Declare the payload model of the client event ``name``; its docstring is the
    event's summary in the generated documents."""

    def register(model: type[Payload]) -> type[Payload]:
        if name in CLIENT_EVENTS:
            raise ValueError(f"client event {name} declared twice")
        CLIENT_EVENTS[name] = ClientEvent(name, model, ack, errors)
        return model

    return register


def server_event(*names: str):
    """Declare the model of what the server events ``names`` carry."""

    def register(model: type[Shape]) -> type[Shape]:
        for name in names:
            if name in SERVER_EVENTS:
                raise ValueError(f"server event {name} declared twice")
            SERVER_EVENTS[name] = ServerEvent(name, model)
        return model

    return register


def parse(model: type[Payload], data: object) -> Payload | Failure:
    """``data`` as the model, or a Failure that names the field (``room: …``)."""
    if not isinstance(data, dict):
        return invalid("payload must be one JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        return failure_of(error)


def failure_of(error: ValidationError) -> Failure:
    first = error.errors(include_url=False, include_context=False, include_input=False)[0]
    field = ".".join(str(part) for part in first["loc"])
    reason = first["msg"]
    if first["type"] not in OWN_CODES:
        reason = reason[:1].lower() + reason[1:]
    text = f"{field}: {reason}" if field else reason
    return Failure(first["type"] if first["type"] in OWN_CODES else "invalid_payload", text)


# --- field types shared by the models ------------------------------------------------


def rule(check, **schema):
    """A string field checked by ``check`` (which returns the value or raises
    ``refuse``), described in JSON Schema by ``schema``."""
    return Annotated[str, AfterValidator(check), Field(json_schema_extra=schema or None)]


def refuse(reason: str, code: str = "invalid_payload"):
    return PydanticCustomError(code, reason)
