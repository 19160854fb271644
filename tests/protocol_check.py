"""Every payload a test client receives, checked against the published schemas
(docs/schemas/*.json): server events against ``<event>.json``, acks against
``<event>.ack.json`` (an unknown event's ack against the error ack)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

from jsonschema import Draft202012Validator

SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "schemas"


@functools.cache
def validator(name: str) -> Draft202012Validator | None:
    path = SCHEMAS / f"{name}.json"
    if not path.exists():
        return None
    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def check_event(name: str, args: list) -> None:
    found = validator(name)
    assert found is not None, f"the server sent {name!r}, which no schema describes"
    assert len(args) == 1, f"{name} carries {len(args)} arguments, not one payload"
    errors = sorted(found.iter_errors(args[0]), key=str)
    assert not errors, f"{name} does not match its schema: {errors[0].message} in {args[0]!r}"


def check_ack(event: str, ack: object) -> None:
    found = validator(f"{event}.ack")
    if found is None:  # an event the server does not handle: refused
        found = validator("joined_room.ack")
        assert isinstance(ack, dict) and ack.get("ok") is False, ack
    errors = sorted(found.iter_errors(ack), key=str)
    assert not errors, f"the ack of {event} does not match its schema: {errors[0].message}: {ack!r}"
