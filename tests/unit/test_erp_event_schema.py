"""The ERP contract: the order-event and acknowledgement schemas are sound, accept their
examples (and the guide's), and refuse what docs/erp-feed.md forbids."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "sfa" / "erp" / "schemas"
GUIDE = (ROOT / "docs" / "erp-feed.md").read_text(encoding="utf-8")
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
DROP = object()  # a change that removes the key


def load(path: Path) -> Any:
    """JSON with exact decimals: the way the guide tells the ERP to read it."""
    return json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)


def schema(name: str) -> dict[str, Any]:
    return load(SCHEMAS / f"{name}.json")


def example(name: str) -> dict[str, Any]:
    return load(SCHEMAS / "examples" / f"{name}.json")


def errors(schema_name: str, document: Any) -> list[str]:
    checker = Draft202012Validator.FORMAT_CHECKER
    validator = Draft202012Validator(schema(schema_name), format_checker=checker)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def changed(document: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy with each ``a__b__0__c=value`` set (or removed, with DROP)."""
    result = copy.deepcopy(document)
    for path, value in changes.items():
        *parents, last = [int(key) if key.isdigit() else key for key in path.split("__")]
        target = result
        for key in parents:
            target = target[key]
        if value is DROP:
            del target[last]
        else:
            target[last] = value
    return result


def objects_in(node: Any) -> list[dict[str, Any]]:
    """Every schema object that describes a JSON object (``"type": "object"``)."""
    found = []
    if isinstance(node, dict):
        if node.get("type") == "object":
            found.append(node)
        for key, value in node.items():
            if key != "examples":
                found.extend(objects_in(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(objects_in(value))
    return found


def guide_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", GUIDE, re.DOTALL)


@pytest.mark.parametrize("name", ["order-event", "ack"])
def test_each_schema_is_a_valid_draft_2020_12_schema(name):
    document = schema(name)
    assert document["$schema"] == DRAFT_2020_12
    Draft202012Validator.check_schema(document)


@pytest.mark.parametrize("name", ["order-event", "ack"])
def test_every_object_of_the_contract_refuses_unknown_keys(name):
    objects = objects_in(schema(name))
    assert objects
    assert all(node["additionalProperties"] is False for node in objects)


def test_every_key_of_an_event_is_always_present():
    for node in objects_in(schema("order-event")):
        assert set(node["required"]) == set(node["properties"])


@pytest.mark.parametrize(
    ("schema_name", "example_name"),
    [
        ("order-event", "order-submitted"),
        ("order-event", "order-cancelled"),
        ("ack", "ack-accepted-backordered"),
    ],
)
def test_each_example_file_follows_its_schema(schema_name, example_name):
    assert errors(schema_name, example(example_name)) == []


def test_the_examples_inside_the_schemas_are_the_example_files():
    assert schema("order-event")["examples"] == [
        example("order-submitted"),
        example("order-cancelled"),
    ]
    assert schema("ack")["examples"] == [example("ack-accepted-backordered")]


def test_the_json_examples_of_the_guide_follow_the_contract():
    documents = [json.loads(block, parse_float=Decimal) for block in guide_blocks("json")]
    events = [doc for doc in documents if "event_id" in doc]
    acks = [doc for doc in documents if "delivery_id" in doc]
    assert events and acks
    assert [errors("order-event", doc) for doc in events] == [[] for _ in events]
    assert [errors("ack", doc) for doc in acks] == [[] for _ in acks]


def test_the_example_order_adds_up_as_pricing_prices_it():
    def rounded(value: Decimal) -> Decimal:
        return Decimal(value).quantize(Decimal("0.01"), ROUND_HALF_UP)

    order = example("order-submitted")["order"]
    gross_total = discount_total = net_total = Decimal(0)
    for number, line in enumerate(order["lines"], start=1):
        assert line["line_number"] == number
        assert line["free_quantity"] <= line["quantity"]
        charged = line["quantity"] - line["free_quantity"]
        gross = rounded(charged * line["unit_price"])
        discount = rounded(gross * line["discount_percent"] / 100)
        assert line["discount_amount"] == discount
        assert line["net_amount"] == gross - discount
        gross_total, discount_total = gross_total + gross, discount_total + discount
        net_total += line["net_amount"]
    assert order["totals"] == {"gross": gross_total, "discount": discount_total, "net": net_total}
    assert example("order-cancelled")["order"]["totals"] == order["totals"]


def test_an_event_may_leave_every_nullable_field_null():
    event = changed(
        example("order-submitted"),
        order__placed_at=None,
        order__requested_delivery_date=None,
        order__notes=None,
        order__currency=None,
        order__price_list=None,
        order__account__tax_id=None,
        order__account__city=None,
        order__account__address=None,
        order__rep__territory_code=None,
    )
    assert errors("order-event", event) == []


SUBMITTED_BREAKS = {
    "amount as a string": {"order__lines__0__unit_price": "12.50"},
    "total as a string": {"order__totals__net": "763741.5"},
    "amount with 5 decimals": {"order__lines__2__net_amount": Decimal("128641.50001")},
    "negative discount": {"order__lines__0__discount_amount": -1},
    "percent above 100": {"order__lines__0__discount_percent": 101},
    "unknown top-level key": {"erp_status": "new"},
    "unknown key in a line": {"order__lines__0__tax": 0},
    "unknown key in the account": {"order__account__phone": "+57 604 555 0101"},
    "missing event_id": {"event_id": DROP},
    "missing nullable key": {"order__notes": DROP},
    "event_id not a uuid": {"event_id": "evt-1"},
    "quantity 0": {"order__lines__0__quantity": 0},
    "fractional quantity": {"order__lines__0__quantity": Decimal("2.5")},
    "negative bonus": {"order__lines__0__bonus_quantity": -1},
    "line number 0": {"order__lines__0__line_number": 0},
    "timestamp without Z": {"occurred_at": "2026-11-23T14:15:31.204"},
    "timestamp with an offset": {"occurred_at": "2026-11-23T14:15:31.204+00:00"},
    "timestamp without milliseconds": {"order__placed_at": "2026-11-23T14:02:10Z"},
    "date with a time": {"order__requested_delivery_date": "2026-11-25T00:00:00.000Z"},
    "date that does not exist": {"order__requested_delivery_date": "2026-02-30"},
    "lower-case currency": {"order__currency": "cop"},
    "unknown type": {"type": "order.amended"},
    "version 2": {"version": 2},
    "submitted without lines": {"order__lines": []},
    "submitted but cancelled": {"order__status": "cancelled"},
    "submitted with a reason": {"order__reason": "duplicate"},
    "submitted never submitted": {"order__submitted_at": None},
}


@pytest.mark.parametrize("changes", SUBMITTED_BREAKS.values(), ids=SUBMITTED_BREAKS.keys())
def test_a_submitted_event_that_breaks_the_contract_is_refused(changes):
    assert errors("order-event", changed(example("order-submitted"), **changes))


def test_a_cancellation_must_say_the_order_is_cancelled():
    event = changed(example("order-cancelled"), order__status="sent_to_erp")
    assert errors("order-event", event)


ACK_BREAKS = {
    "unknown line status": {"lines__0__status": "partially_accepted"},
    "negative quantity": {"lines__1__backordered_quantity": -4},
    "price as a string": {"lines__2__unit_price": "22490"},
    "unknown key in a line": {"lines__0__note": "ok"},
    "line without line_id": {"lines__0__line_id": DROP},
    "unknown type": {"type": "order.delivered"},
    "empty delivery_id": {"delivery_id": ""},
    "missing nullable key": {"invoice_id": DROP},
    "timestamp without Z": {"occurred_at": "2026-11-23T14:21:07.000"},
}


@pytest.mark.parametrize("changes", ACK_BREAKS.values(), ids=ACK_BREAKS.keys())
def test_an_acknowledgement_that_breaks_the_contract_is_refused(changes):
    assert errors("ack", changed(example("ack-accepted-backordered"), **changes))


def test_an_acknowledgement_line_needs_only_its_id():
    ack = changed(
        example("ack-accepted-backordered"),
        type="order.shipped",
        lines=[{"line_id": "96bc803f-22da-4f8b-a687-e324e4fc6315", "shipped_quantity": 24}],
        shipment_id="0080012345",
    )
    assert errors("ack", ack) == []


def test_the_guides_signature_check_takes_fresh_signatures_and_refuses_stale_or_forged_ones():
    (code,) = [block for block in guide_blocks("python") if "def verify_signature" in block]
    namespace: dict[str, Any] = {}
    exec(compile(code, "docs/erp-feed.md", "exec"), namespace)  # the guide's snippet, as printed
    verify, refused = namespace["verify_signature"], namespace["SignatureError"]
    secret, body, sent_at = "s3cret", b'{"event_id": "e-1"}', 1795000000

    def header(t: int = sent_at, signed: bytes = body) -> str:
        digest = hmac.new(secret.encode(), f"{t}.".encode() + signed, hashlib.sha256)
        return f"t={t},v1={digest.hexdigest()}"

    verify(secret, header(), body, now=sent_at + 299)
    for bad_header, now, code_expected in [
        (header(), sent_at + 301, "stale_signature"),
        (header(), sent_at - 301, "stale_signature"),
        (header(signed=b'{"event_id": "e-2"}'), sent_at, "invalid_signature"),
        (header().replace("v1=", "v0="), sent_at, "invalid_signature"),
        ("garbage", sent_at, "invalid_signature"),
    ]:
        with pytest.raises(refused, match=code_expected):
            verify(secret, bad_header, body, now=now)
