import json
from decimal import Decimal

import pytest

from sfa.errors import flatten_messages
from sfa.http.endpoints import parse_json
from sfa.wire import wire_number


@pytest.mark.parametrize(
    "amount, expected",
    [
        ("5000000.0000", "5000000"),
        ("30250.5000", "30250.5"),
        ("0.0001", "0.0001"),
        ("123456789012345678", "123456789012345678"),
        ("99999999999.9999", "99999999999.9999"),
    ],
)
def test_amounts_go_out_as_json_numbers_with_their_exact_digits(amount, expected):
    assert json.dumps(wire_number(Decimal(amount))) == expected


def test_decimals_in_requests_parse_exactly_and_nan_is_refused():
    assert parse_json(b'{"price": 0.1}')["price"] == Decimal("0.1")
    with pytest.raises(ValueError):
        parse_json(b'{"price": NaN}')


def test_nested_validation_messages_become_located_paths():
    messages = {
        "accounts": {12: {"territory": ["unknown"], "colour": ["Unknown field."]}},
        "format": ["Missing data for required field."],
        "_schema": ["Invalid input type."],
    }
    assert flatten_messages(messages) == [
        {"path": "accounts[12].territory", "message": "unknown"},
        {"path": "accounts[12].colour", "message": "Unknown field."},
        {"path": "format", "message": "Missing data for required field."},
        {"path": "$", "message": "Invalid input type."},
    ]
