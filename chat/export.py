"""The protocol's documents, made from the payload models: ``python -m chat.export``
(``make protocol``) writes them, and ``tests/test_protocol.py`` fails when a committed one
differs from what the models export.

- ``docs/schemas/<event>.json``: each client event's payload and each server event
  (JSON Schema 2020-12); ``docs/schemas/<event>.ack.json``: each client event's ack;
- ``docs/asyncapi.yaml``: AsyncAPI 3, the default namespace as a channel, each event a
  message, each ack a reply;
- ``static/js/protocol.js``: the event names, limits and name rules the page uses.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

from pydantic.json_schema import models_json_schema

# Declare the core events and the features' own.
from chat import mentions, moderation, payloads, reactions, rules  # noqa: F401
from chat.protocol import CLIENT_EVENTS, COMMON_ERRORS, SERVER_EVENTS, ErrorAck

ROOT = Path(__file__).resolve().parent.parent
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _schema(model, event: str) -> dict:
    schema = model.model_json_schema(ref_template="#/$defs/{model}")
    return {"$schema": DIALECT, **schema, "title": event}


def _ack_schema(event) -> dict:
    ok = event.ack.model_json_schema(ref_template="#/$defs/{model}")
    error = ErrorAck.model_json_schema(ref_template="#/$defs/{model}")
    defs = {**ok.pop("$defs", {}), **error.pop("$defs", {})}
    defs[event.ack.__name__], defs["ErrorAck"] = ok, error
    return {
        "$schema": DIALECT,
        "title": f"{event.name} ack",
        "description": f"The ack of {event.name}: success, or an error with its code.",
        "oneOf": [{"$ref": f"#/$defs/{event.ack.__name__}"}, {"$ref": "#/$defs/ErrorAck"}],
        "$defs": defs,
    }


def json_schemas() -> dict[str, dict]:
    """File name -> schema, for every event and ack."""
    files = {}
    for name, event in sorted(CLIENT_EVENTS.items()):
        files[f"{name}.json"] = _schema(event.payload, name)
        files[f"{name}.ack.json"] = _ack_schema(event)
    for name, event in sorted(SERVER_EVENTS.items()):
        files[f"{name}.json"] = _schema(event.model, name)
    return files


def asyncapi() -> dict:
    models = {e.payload for e in CLIENT_EVENTS.values()} | {e.ack for e in CLIENT_EVENTS.values()}
    models |= {e.model for e in SERVER_EVENTS.values()} | {ErrorAck}
    _, top = models_json_schema(
        [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )
    schemas = top["$defs"]
    channel = {"$ref": "#/channels/default"}
    messages, channel_messages, operations = {}, {}, {}

    def message(key: str, name: str, summary: str, payload: dict, **extra) -> dict:
        messages[key] = {"name": name, "title": name, "summary": summary, "payload": payload}
        messages[key].update(extra)
        channel_messages[key] = {"$ref": f"#/components/messages/{key}"}
        return {"$ref": f"#/channels/default/messages/{key}"}

    for name, event in sorted(CLIENT_EVENTS.items()):
        codes = sorted(set(COMMON_ERRORS) | set(event.errors))
        sent = message(
            name,
            name,
            event.summary,
            {"$ref": f"#/components/schemas/{event.payload.__name__}"},
            description=f"Errors: {', '.join(codes)}.",
        )
        ack = {
            "oneOf": [
                {"$ref": f"#/components/schemas/{event.ack.__name__}"},
                {"$ref": "#/components/schemas/ErrorAck"},
            ]
        }
        reply = message(f"{name}.ack", f"{name} ack", f"The ack of {name}.", ack)
        operations[name] = {
            "action": "receive",
            "channel": channel,
            "summary": event.summary,
            "messages": [sent],
            "reply": {"channel": channel, "messages": [reply]},
        }
    for name, event in sorted(SERVER_EVENTS.items()):
        ref = message(
            name, name, event.summary, {"$ref": f"#/components/schemas/{event.model.__name__}"}
        )
        operations[name] = {
            "action": "send",
            "channel": channel,
            "summary": event.summary,
            "messages": [ref],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "chat-on-flask",
            "version": "1",
            "description": (
                "The chat protocol: Socket.IO v5 events on the default namespace. Every "
                "client event accepts an ack callback; its reply is the ack. Generated from "
                "the payload models (python -m chat.export); the prose is docs/protocol.md."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:5000",
                "pathname": "/socket.io/",
                "protocol": "ws",
                "description": "make run; Socket.IO clients 3.x/4.x, python-socketio 5",
            }
        },
        "channels": {
            "default": {
                "address": "/",
                "title": "The default namespace",
                "messages": channel_messages,
            }
        },
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def protocol_js() -> str:
    limits = {
        "MAX_MESSAGE_LENGTH": rules.MAX_MESSAGE_LENGTH,
        "MAX_CLIENT_ID_LENGTH": rules.MAX_CLIENT_ID_LENGTH,
        "PAGE_SIZE": rules.PAGE_SIZE,
        "MAX_PAGE_SIZE": rules.MAX_PAGE_SIZE,
    }
    patterns = {
        "USERNAME": f"^{rules.USERNAME_PATTERN}$",
        "PUBLIC_ROOM": f"^{rules.PUBLIC_ROOM_PATTERN}$",
        "ROOM": f"^({rules.ROOM_PATTERN})$",
    }
    lines = [
        "// Generated from chat/payloads.py and chat/rules.py by `make protocol`: do not edit.",
        "",
        f"export const CLIENT_EVENTS = Object.freeze({json.dumps(sorted(CLIENT_EVENTS))});",
        f"export const SERVER_EVENTS = Object.freeze({json.dumps(sorted(SERVER_EVENTS))});",
        f"export const LIMITS = Object.freeze({json.dumps(limits, indent=2)});",
        f"export const PATTERNS = Object.freeze({json.dumps(patterns, indent=2)});",
        "",
    ]
    return "\n".join(lines)


def _yaml(document: dict) -> str:
    from ruamel.yaml import YAML  # a development tool; the server never writes YAML

    yaml = YAML()
    yaml.width = 100
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    yaml.dump(document, out)
    return "# Generated from the payload models by `make protocol`: do not edit.\n" + out.getvalue()


def documents() -> dict[Path, str]:
    """Every generated file and its text."""
    files = {
        ROOT / "docs" / "schemas" / name: json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
        for name, schema in json_schemas().items()
    }
    files[ROOT / "docs" / "asyncapi.yaml"] = _yaml(asyncapi())
    files[ROOT / "static" / "js" / "protocol.js"] = protocol_js()
    return files


def main() -> int:
    written = documents()
    folder = ROOT / "docs" / "schemas"
    folder.mkdir(parents=True, exist_ok=True)
    for stale in set(folder.glob("*.json")) - set(written):
        stale.unlink()
    for path, text in written.items():
        path.write_text(text)
    print(f"wrote {len(written)} files", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
