"""The protocol's documents, made from the payload models: ``python -m chat.export``
(``make protocol``) writes them, and ``tests/test_protocol.py`` fails when a committed one
differs from what the models export.

- ``docs/schemas/<event>.json``: each client event's payload and each server event
  (JSON Schema 2020-12); ``docs/schemas/<event>.ack.json``: each client event's ack;
  ``docs/schemas/http.<name>.json``: the answers of HTTP routes that carry protocol
  models (an upload's Attachment);
- ``docs/asyncapi.yaml``: AsyncAPI 3, the default namespace as a channel, each event a
  message, each ack a reply;
- ``static/js/protocol.js``: the event names, limits and name rules the page uses;
- ``clients/python/chatclient/events.py``: the Python client's typed events: a TypedDict
  per model (every server event, ack and client payload), the event names and limits.
"""

from __future__ import annotations

import io
import json
import keyword
import re
import sys
import textwrap
from pathlib import Path

from pydantic.json_schema import models_json_schema

# Declare the core events and the features' own.
from chat import attachments, mentions, moderation, payloads, reactions, roster, rules  # noqa: F401
from chat.errors import HTTP_STATUS
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


# HTTP answers made of the protocol's models: name -> model.
HTTP_REPLIES = {
    "upload_attachment": attachments.UploadReply,
    "token": payloads.TokenReply,
    "token_refresh": payloads.TokenReply,
}


def json_schemas() -> dict[str, dict]:
    """File name -> schema, for every event and ack, and the HTTP answers."""
    files = {}
    for name, event in sorted(CLIENT_EVENTS.items()):
        files[f"{name}.json"] = _schema(event.payload, name)
        files[f"{name}.ack.json"] = _ack_schema(event)
    for name, event in sorted(SERVER_EVENTS.items()):
        files[f"{name}.json"] = _schema(event.model, name)
    for name, model in sorted(HTTP_REPLIES.items()):
        files[f"http.{name}.json"] = _schema(model, f"{name} (HTTP)")
    # Not an event of the namespace: the data of the transport's CONNECT_ERROR packet.
    files["connect_error.json"] = _schema(payloads.ConnectRefused, "connect_error")
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
        "MAX_ATTACHMENTS": rules.MAX_ATTACHMENTS,
        # The defaults; a deployment may set others (the server answers 413 / 409).
        "MAX_UPLOAD_MB": rules.MAX_UPLOAD_MB,
        "UPLOAD_QUOTA_MB": rules.UPLOAD_QUOTA_MB,
        "THUMBNAIL_SIZE": rules.THUMBNAIL_SIZE,
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


# --- the Python client's typed events ------------------------------------------------

PYTHON_EVENTS = ROOT / "clients" / "python" / "chatclient" / "events.py"
_SCALARS = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "null": "None"}


def _refs(schema: dict) -> set[str]:
    return set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(schema)))


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _literal(value) -> str:
    return json.dumps(value) if isinstance(value, str) else repr(value)


def _python_type(schema: dict) -> str:
    """A JSON Schema (as pydantic exports it) as a Python annotation."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[1]
    if "const" in schema:
        return f"Literal[{_literal(schema['const'])}]"
    if "enum" in schema:
        if schema["enum"] == list(HTTP_STATUS):
            return "ErrorCode"
        return f"Literal[{', '.join(_literal(value) for value in schema['enum'])}]"
    for union in ("anyOf", "oneOf"):
        if union in schema:
            parts = [_python_type(option) for option in schema[union]]
            return " | ".join(dict.fromkeys(parts))
    if len(schema.get("allOf", ())) == 1:
        return _python_type(schema["allOf"][0])
    kind = schema.get("type")
    if kind == "array":
        return f"list[{_python_type(schema.get('items', {}))}]"
    if kind == "object":
        values = schema.get("additionalProperties")
        return f"dict[str, {_python_type(values) if isinstance(values, dict) else 'Any'}]"
    if isinstance(kind, list):
        return " | ".join(_SCALARS.get(k, "Any") for k in kind)
    return _SCALARS.get(kind, "Any")


def _comment(text: str, indent: str) -> list[str]:
    return textwrap.wrap(
        " ".join(text.split()),
        92 - len(indent),
        initial_indent=indent + "#: ",
        subsequent_indent=indent + "#: ",
        break_on_hyphens=False,
    )


def _docstring(text: str) -> list[str]:
    text = " ".join(text.split()).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    lines = textwrap.wrap(text, 88, break_on_hyphens=False)
    if len(lines) == 1:
        return [f'    """{lines[0]}"""']
    return [f'    """{lines[0]}', *(f"    {line}" for line in lines[1:]), '    """']


def _listing(opening: str, items: list[str], closing: str) -> list[str]:
    """A collection one item a line, with the trailing comma that keeps it so."""
    return [opening, *(f"    {item}," for item in items), closing]


def _typed_dict(name: str, schema: dict, about: str) -> list[str]:
    """The TypedDict of one model, after the aliases of any annotation too long for its
    line."""
    required = set(schema.get("required", ()))
    head, fields = [], []
    for field, spec in schema.get("properties", {}).items():
        annotation = _python_type(spec)
        if len(f"    {field}: NotRequired[{annotation}]") > 100 and "enum" in spec:
            alias = name + _camel(field)
            values = [_literal(value) for value in spec["enum"]]
            head += [*_listing(f"{alias} = Literal[", values, "]"), "", ""]
            annotation = alias
        if field not in required:
            annotation = f"NotRequired[{annotation}]"
        fields.append((field, annotation, spec.get("description")))
    if not all(f.isidentifier() and not keyword.iskeyword(f) for f, _, _ in fields):
        # Names Python cannot spell as attributes: the functional form.
        items = [f"{json.dumps(f)}: {annotation}" for f, annotation, _ in fields]
        body = _listing("    {", [f"    {item}" for item in items], "    },")
        return [*head, f"{name} = TypedDict(", f"    {json.dumps(name)},", *body, ")"]
    lines = [*head, f"class {name}(TypedDict):", *_docstring(about or name)]
    if fields:
        lines.append("")
    for i, (field, annotation, description) in enumerate(fields):
        if description:
            lines += ["", *_comment(description, "    ")] if i else _comment(description, "    ")
        lines.append(f"    {field}: {annotation}")
    return lines


def _in_dependency_order(schemas: dict[str, dict]) -> list[str]:
    """Model names, each after the models it refers to (TypedDicts name them at once)."""
    done: list[str] = []

    def visit(name: str) -> None:
        if name in done:
            return
        for ref in sorted(_refs(schemas[name]) - {name}):
            visit(ref)
        done.append(name)

    for name in sorted(schemas):
        visit(name)
    return done


def _about(schema: dict, usage: list[str]) -> str:
    return " ".join(filter(None, [schema.get("description", ""), *usage]))


def python_events() -> str:
    """chatclient/events.py: a TypedDict per payload model, the event names, the
    mappings from event name to type, and the limits a client needs."""
    schemas = asyncapi()["components"]["schemas"]
    usage: dict[str, list[str]] = {}
    for name, event in sorted(SERVER_EVENTS.items()):
        usage.setdefault(event.model.__name__, []).append(f"Carried by {name}.")
    for name, event in sorted(CLIENT_EVENTS.items()):
        usage.setdefault(event.payload.__name__, []).append(f"The payload of {name}.")
        usage.setdefault(event.ack.__name__, []).append(f"The success ack of {name}.")
    usage.setdefault("ErrorAck", []).append("The ack of any refused event.")
    models = _in_dependency_order(schemas)
    for name in models:  # the models inside others: where they are found
        for part in sorted(_refs(schemas[name]) - {name}):
            if part not in usage:
                usage[part] = [f"Part of {name}."]
            elif usage[part][-1].startswith("Part of "):
                usage[part][-1] = usage[part][-1][:-1] + f", {name}."
    lines = [
        '"""The chat protocol\'s events, acks and payloads as typed dictionaries, the event',
        "names and the limits a client needs.",
        "",
        "Generated from the server's payload models (chat/payloads.py and the features' own) by",
        "`make protocol` (python -m chat.export): do not edit. Each TypedDict is what the JSON",
        "schema of that model in docs/schemas describes; fields marked NotRequired may be absent.",
        '"""',
        "",
        "from typing import Any, Literal, NotRequired, TypedDict",
        "",
        "# Events a client emits (each answered by an ack).",
    ]
    constants = {}
    for name in sorted(CLIENT_EVENTS):
        constants[name.upper()] = name
        lines.append(f"{name.upper()} = {json.dumps(name)}")
    lines += ["", "# Events the server emits."]
    for name in sorted(SERVER_EVENTS):
        if name.upper() not in constants:
            constants[name.upper()] = name
            lines.append(f"{name.upper()} = {json.dumps(name)}")
    lines += [
        "",
        *_listing("CLIENT_EVENTS = (", [n.upper() for n in sorted(CLIENT_EVENTS)], ")"),
        *_listing("SERVER_EVENTS = (", [n.upper() for n in sorted(SERVER_EVENTS)], ")"),
        "",
        "# Limits (code points, messages, ids) the server holds payloads to.",
        f"MAX_MESSAGE_LENGTH = {rules.MAX_MESSAGE_LENGTH}",
        f"MAX_CLIENT_ID_LENGTH = {rules.MAX_CLIENT_ID_LENGTH}",
        f"PAGE_SIZE = {rules.PAGE_SIZE}",
        f"MAX_PAGE_SIZE = {rules.MAX_PAGE_SIZE}",
        f"REPLAY_LIMIT = {rules.REPLAY_LIMIT}",
        f"MAX_ID = {rules.MAX_ID}",
        "",
        "# Every error code (acks, chat_error and the HTTP API).",
        *_listing("ErrorCode = Literal[", [json.dumps(code) for code in HTTP_STATUS], "]"),
    ]
    for name in models:
        lines += [
            "",
            "",
            *_typed_dict(name, schemas[name], _about(schemas[name], usage.get(name, []))),
        ]
    aliases = []
    for name, event in sorted(SERVER_EVENTS.items()):
        aliases.append((_camel(name), event.model.__name__))
    for name, event in sorted(CLIENT_EVENTS.items()):
        aliases.append((_camel(name) + "Ack", event.ack.__name__))
    taken = set(schemas)
    lines += ["", "", "# One name per server event and per ack, where the model's name differs."]
    for alias, model in aliases:
        if alias not in taken:
            taken.add(alias)
            lines.append(f"{alias} = {model}")
    server = [f"{n.upper()}: {e.model.__name__}" for n, e in sorted(SERVER_EVENTS.items())]
    acks = [f"{n.upper()}: {e.ack.__name__}" for n, e in sorted(CLIENT_EVENTS.items())]
    bodies = [f"{n.upper()}: {e.payload.__name__}" for n, e in sorted(CLIENT_EVENTS.items())]
    lines += [
        "",
        "# What each server event carries.",
        *_listing("SERVER_EVENT_TYPES: dict[str, Any] = {", server, "}"),
        "# The success ack of each client event (a refused one is an ErrorAck).",
        *_listing("ACK_TYPES: dict[str, Any] = {", acks, "}"),
        "# The payload of each client event.",
        *_listing("PAYLOAD_TYPES: dict[str, Any] = {", bodies, "}"),
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
    files[PYTHON_EVENTS] = python_events()
    return files


def main() -> int:
    written = documents()
    folder = ROOT / "docs" / "schemas"
    folder.mkdir(parents=True, exist_ok=True)
    for stale in set(folder.glob("*.json")) - set(written):
        stale.unlink()
    for path, text in written.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    print(f"wrote {len(written)} files", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
