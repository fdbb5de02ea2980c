"""The protocol's JSON Schemas say what PROTOCOL.md says, and refuse what it forbids."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from mobile_protocol.schemas import ENTITIES, SCHEMA_DIR, load_schema, validator
from tests.unit.test_device_fake_server import NOW, record

SPEC = (Path(__file__).resolve().parents[2] / "mobile_protocol" / "PROTOCOL.md").read_text()


def spec_record_fields() -> dict[str, dict[str, bool]]:
    """PROTOCOL.md's "Record fields" list: per entity, each field and whether it may be null."""
    section = SPEC.split("Record fields, by entity", 1)[1].split("\n\n", 2)[1]
    entries = re.split(r"\n(?=- `)", section.replace("\n  ", " "))
    fields = {}
    for entry in entries:
        entity, listed = re.fullmatch(r"- `(\w+)`: (.*)", entry.strip(), re.DOTALL).groups()
        listed = re.sub(r"\([^)]*\)", "", listed)  # "(`open`, `resolved`)" are values
        fields[entity] = {
            name: bool(nullable) for name, nullable in re.findall(r"`(\w+)(\?)?`", listed)
        }
    return fields


def spec_entities() -> set[str]:
    table = SPEC.split("## Entities", 1)[1].split("Record fields", 1)[0]
    rows = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    return {name for cell in rows for name in re.findall(r"`(\w+)`", cell)}


def a_mutation(**changes) -> dict:
    mutation = {
        "id": str(uuid.uuid4()),
        "entity": "accounts",
        "op": "update",
        "record_id": "a-1",
        "base_revision": 3,
        "fields": {"phone": "+57 1"},
        "edited_at": NOW,
    }
    return {**mutation, **changes}


def a_push(*mutations: dict) -> dict:
    return {"protocol": 1, "device_time": NOW, "mutations": list(mutations)}


def a_page(**changes) -> dict:
    page = {"protocol": 1, "changes": {}, "has_more": False, "cursor": "c2", "server_time": NOW}
    return {**page, **changes}


def is_valid(schema: str, message: object) -> bool:
    return validator(schema).is_valid(message)


def test_there_is_one_record_schema_per_entity_of_the_spec():
    files = {path.name for path in SCHEMA_DIR.glob("record-*.json")}
    assert spec_entities() == set(ENTITIES) == set(spec_record_fields())
    assert files == {f"record-{entity}.json" for entity in ENTITIES}


@pytest.mark.parametrize("entity", ENTITIES)
def test_each_record_schema_lists_exactly_the_fields_of_the_spec(entity):
    schema = load_schema(f"record-{entity}")
    fields = {"id": False, **spec_record_fields()[entity]}

    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == set(schema["required"]) == set(fields)
    for name, nullable in fields.items():
        types = schema["properties"][name].get("type", [])
        assert ("null" in types) is nullable or "type" not in schema["properties"][name], name


def test_a_record_with_a_field_too_many_or_of_the_wrong_type_is_refused():
    assert is_valid("record-accounts", record("accounts", "a-1"))
    assert not is_valid("record-accounts", record("accounts", "a-1", colour="red"))
    assert not is_valid("record-accounts", record("accounts", "a-1", credit_limit="5000"))
    assert not is_valid("record-accounts", record("accounts", "a-1", revision=1.5))
    assert not is_valid("record-stock", record("stock", "p-1", available=None))
    assert not is_valid("record-visits", record("visits", "v-1", planned_at="tomorrow"))
    assert not is_valid("record-orders", record("orders", "o-1", requested_delivery_date="30/11"))
    assert not is_valid("record-quotas", record("quotas", "q-1", period="2026-13"))
    assert not is_valid("record-forecasts", record("forecasts", "f-1", category="maybe"))
    assert not is_valid("record-visits", record("visits", "v-1", samples=[{"product_id": "p-1"}]))


def test_a_pull_page_checks_each_record_against_the_schema_of_its_entity():
    good = {"upserts": [record("contacts", "c-1")], "removals": ["c-2"]}
    assert is_valid("pull-response", a_page(changes={"contacts": good}))
    assert not is_valid("pull-response", a_page(changes={"accounts": good}))
    assert not is_valid("pull-response", a_page(changes={"pharmacies": good}))
    assert not is_valid("pull-response", a_page(changes={"contacts": {"upserts": []}}))


def test_a_page_with_more_to_come_carries_a_continuation_and_the_last_one_the_cursor():
    assert is_valid("pull-response", a_page(has_more=True, continuation="p2", cursor=None))
    assert not is_valid("pull-response", a_page(has_more=True, cursor=None))
    assert not is_valid("pull-response", a_page(has_more=False, cursor=None))
    assert not is_valid("pull-response", a_page(protocol=2))


def test_a_push_carries_at_most_500_mutations():
    assert is_valid("push-request", a_push(*(a_mutation() for _ in range(500))))
    assert not is_valid("push-request", a_push(*(a_mutation() for _ in range(501))))


@pytest.mark.parametrize(
    "changes, valid",
    [
        ({}, True),
        ({"op": "create", "base_revision": None}, True),
        ({"base_revision": None}, True),
        ({"op": "upsert"}, False),
        ({"id": "6f1c"}, False),
        ({"edited_at": "2026-11-23 09:12:44"}, False),
        ({"edited_at": "2026-02-30T09:12:44Z"}, False),
        ({"base_revision": "3"}, False),
        ({"fields": None}, False),
        ({"record_id": ""}, False),
        ({"device": "pixel"}, False),
    ],
)
def test_a_mutation_follows_the_spec(changes, valid):
    assert is_valid("push-request", a_push(a_mutation(**changes))) is valid


def test_a_mutation_without_edit_time_is_malformed():
    mutation = a_mutation()
    del mutation["edited_at"]
    assert not is_valid("push-request", a_push(mutation))


CONFLICT = {
    "field": "phone",
    "policy": "latest_wins",
    "winner": "server",
    "server_value": "+57 1",
    "client_value": "+57 2",
}


@pytest.mark.parametrize(
    "result, valid",
    [
        ({"status": "applied", "record_id": "a-1", "revision": 5}, True),
        ({"status": "applied", "record_id": "a-1"}, False),
        ({"status": "merged", "record_id": "a-1", "revision": 5, "conflicts": [CONFLICT]}, True),
        ({"status": "merged", "record_id": "a-1", "revision": 5, "conflicts": []}, False),
        ({"status": "rejected", "record_id": "a-1", "code": "out_of_scope", "reason": "no"}, True),
        (
            {
                "status": "rejected",
                "record_id": None,
                "code": "invalid_mutation",
                "reason": "no",
                "details": {"errors": []},
            },
            True,
        ),
        ({"status": "rejected", "record_id": "a-1", "code": "nope", "reason": "no"}, False),
        ({"status": "rejected", "record_id": "a-1", "code": "not_found"}, False),
        (
            {
                "status": "duplicate",
                "original": {"status": "applied", "record_id": "a", "revision": 1},
            },
            True,
        ),
        ({"status": "duplicate", "original": {"status": "duplicate", "original": {}}}, False),
        ({"status": "queued", "record_id": "a-1"}, False),
    ],
)
def test_a_push_result_carries_the_fields_of_its_status(result, valid):
    answer = {"protocol": 1, "results": [{"id": str(uuid.uuid4()), **result}]}
    assert is_valid("push-response", answer) is valid


def test_a_push_result_names_its_mutation():
    answer = {"protocol": 1, "results": [{"status": "applied", "record_id": "a", "revision": 1}]}
    assert not is_valid("push-response", answer)


def test_an_error_body_has_a_code_a_message_and_details():
    assert is_valid("error", {"error": {"code": "busy", "message": "retry", "details": {}}})
    assert not is_valid("error", {"error": {"code": "busy", "message": "retry"}})
    assert not is_valid("error", {"code": "busy", "message": "retry", "details": {}})


def test_schemas_load_by_name_with_or_without_their_extension():
    assert load_schema("push-request") == load_schema("push-request.json")
    assert validator("error.json") is validator("error")
