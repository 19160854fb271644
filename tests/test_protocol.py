"""The payload models are the protocol's single source of truth: the published schemas,
AsyncAPI document and page constants are what they export, every handled event has a
model and a budget, and a refusal names the field."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, validators
from ruamel.yaml import YAML

import events
from chat import export
from chat.protocol import CLIENT_EVENTS, SERVER_EVENTS, Payload, client_event
from chat.ratelimit import EVENT_BUDGETS
from tests.helpers import events as received
from tests.helpers import join

ROOT = Path(__file__).resolve().parent.parent
ASYNCAPI_SCHEMA = (
    ROOT / "node_modules" / "@asyncapi" / "specs" / "schemas" / "3.0.0-without-$id.json"
)


@pytest.mark.parametrize("path", sorted(export.documents()), ids=lambda p: p.name)
def test_committed_documents_are_what_the_models_export(path):
    expected = export.documents()[path]
    assert path.exists(), f"{path.relative_to(ROOT)} is missing: run make protocol"
    assert path.read_text() == expected, f"{path.relative_to(ROOT)} is stale: run make protocol"


def test_no_schema_is_left_over_from_a_removed_event():
    published = {p.name for p in (ROOT / "docs" / "schemas").glob("*.json")}
    assert published == {p.name for p in export.documents() if p.suffix == ".json"}


@pytest.mark.parametrize("name", sorted(export.json_schemas()))
def test_every_schema_is_valid_json_schema_2020_12(name):
    Draft202012Validator.check_schema(export.json_schemas()[name])


@functools.cache
def _asyncapi_validator():
    schema = json.loads(ASYNCAPI_SCHEMA.read_text())
    return validators.validator_for(schema)(schema)


def test_the_asyncapi_document_is_valid_asyncapi_3():
    document = YAML(typ="safe").load((ROOT / "docs" / "asyncapi.yaml").read_text())
    assert document["asyncapi"] == "3.0.0"
    errors = list(_asyncapi_validator().iter_errors(document))
    assert not errors, errors[0].message
    broken = copy.deepcopy(document)
    broken["operations"]["send_message"]["action"] = "shout"
    assert list(_asyncapi_validator().iter_errors(broken))  # the check can fail


def test_the_asyncapi_document_has_every_event_and_each_ack_as_a_reply():
    document = export.asyncapi()
    operations = document["operations"]
    for name in CLIENT_EVENTS:
        assert operations[name]["action"] == "receive"
        [reply] = operations[name]["reply"]["messages"]
        assert reply == {"$ref": f"#/channels/default/messages/{name}.ack"}
    for name in SERVER_EVENTS:
        assert operations[name]["action"] == "send"


def test_every_handled_event_has_a_model_and_a_budget_and_every_model_a_handler():
    handled = events.HANDLED_EVENTS
    assert handled == set(CLIENT_EVENTS)
    assert handled <= set(EVENT_BUDGETS), handled - set(EVENT_BUDGETS)


def test_an_event_without_a_budget_refuses_to_load():
    @client_event("shout_at_everyone", ack=CLIENT_EVENTS["typing_status"].ack)
    class Shout(Payload):
        """A made-up event."""

    try:

        def shout_at_everyone(me, payload):
            return {}

        with pytest.raises(LookupError, match="no budget"):
            events.chat_event(shout_at_everyone)
        assert "shout_at_everyone" not in events.HANDLED_EVENTS
    finally:
        del CLIENT_EVENTS["shout_at_everyone"]


def test_an_event_without_a_model_refuses_to_load():
    def sing(me, payload):
        return {}

    with pytest.raises(KeyError):
        events.chat_event(sing)


@pytest.mark.parametrize(
    ("event", "payload", "message"),
    [
        ("send_message", {"room": "r"}, "message: is empty"),
        ("send_message", {"room": "r", "message": 5}, "message: input should be a valid string"),
        ("send_message", {"room": "r", "message": "  "}, "message: is empty"),
        ("send_message", {"room": "no spaces", "message": "x"}, "room: must be a room name"),
        ("send_message", {"room": "r", "message": "x", "client_id": ""}, "client_id: must be"),
        ("joined_room", {"room": "r", "last_id": "5"}, "last_id: input should be a valid integer"),
        ("load_history", {"room": "r", "limit": 101}, "limit: input should be less than"),
        ("typing_status", {"room": "r", "typing": 1}, "typing: input should be a valid boolean"),
        ("edit_message", {"room": "r", "message": "x"}, "id: field required"),
    ],
)
def test_a_refused_payload_names_its_field(connect, event, payload, message):
    alice = connect("alice")
    join(alice, "r")
    received(alice)
    ack = alice.emit(event, payload, callback=True)
    assert ack["error"]["code"] == "invalid_payload"
    assert ack["error"]["message"].startswith(message), ack


def test_strict_types_refuse_what_lax_parsing_would_coerce(connect):
    alice = connect("alice")
    join(alice, "r")
    for payload in ({"room": "r", "message_id": "1"}, {"room": "r", "message_id": 1.0}):
        ack = alice.emit("mark_seen", payload, callback=True)
        assert ack["error"]["code"] == "invalid_payload", payload
    ack = alice.emit("typing_status", {"room": "r", "typing": "true"}, callback=True)
    assert ack["error"]["code"] == "invalid_payload"
