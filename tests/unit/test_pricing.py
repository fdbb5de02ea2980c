"""Order pricing: the language-neutral vectors every client must pass, the edges around them,
and properties that hold for any catalogue, rules and order."""

from __future__ import annotations

import json
import string
import subprocess
import sys
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal, localcontext
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mobile_protocol
from mobile_protocol.pricing import (
    DiscountRule,
    Order,
    OrderLine,
    PriceList,
    PricingError,
    Product,
    compare,
    parse_rule,
    price_order,
    to_wire,
)
from mobile_protocol.schemas import validator

VECTORS_FILE = Path(mobile_protocol.__file__).parent / "pricing_vectors.json"
SUITE = json.loads(VECTORS_FILE.read_text(encoding="utf-8"), parse_float=Decimal)
RULES = {raw["id"]: raw for raw in SUITE["rules"]}
PRODUCTS = {raw["id"]: Product(raw["id"], raw["product_line"]) for raw in SUITE["products"]}
PRICE_LIST = PriceList(SUITE["price_list"]["id"], SUITE["price_list"]["prices"])
PRICED = [vector for vector in SUITE["vectors"] if "expected" in vector]
REFUSED = [vector for vector in SUITE["vectors"] if "expected_error" in vector]


def an_order(raw: dict) -> Order:
    lines = tuple(OrderLine(line["product_id"], line["quantity"]) for line in raw["lines"])
    return Order(raw["account_id"], date.fromisoformat(raw["order_date"]), lines)


def price_vector(vector: dict):
    rules = [parse_rule(RULES[rule_id]) for rule_id in vector["rules"]]
    return price_order(an_order(vector["order"]), PRICE_LIST, PRODUCTS, rules)


def a_rule(**changes) -> dict:
    """A valid discount rule as synced, with ``changes``."""
    rule = {
        "id": "r-1",
        "kind": "discount",
        "priority": 1,
        "active": True,
        "valid_from": None,
        "valid_to": None,
        "product_id": None,
        "product_line": None,
        "account_id": None,
        "price_list_id": None,
        "percent": Decimal("5"),
    }
    return {**rule, **changes}


def price(lines, rules=(), prices=None):
    """Price ``(product_id, quantity)`` lines of account a-corner on 2026-06-15."""
    order = Order("a-corner", date(2026, 6, 15), tuple(OrderLine(*line) for line in lines))
    price_list = PRICE_LIST if prices is None else PriceList("pl-retail", prices)
    return price_order(order, price_list, PRODUCTS, [parse_rule(rule) for rule in rules])


# The vectors


@pytest.mark.parametrize("vector", PRICED, ids=[vector["name"] for vector in PRICED])
def test_vector_prices_as_expected(vector):
    priced = price_vector(vector)

    assert to_wire(priced) == vector["expected"]
    assert compare(vector["expected"], priced) == []


@pytest.mark.parametrize("vector", REFUSED, ids=[vector["name"] for vector in REFUSED])
def test_vector_is_refused_with_its_code_and_line(vector):
    with pytest.raises(PricingError) as refusal:
        price_vector(vector)

    assert refusal.value.code == vector["expected_error"]["code"]
    assert refusal.value.details["line"] == vector["expected_error"]["line"]


@pytest.mark.parametrize("raw", SUITE["rules"], ids=list(RULES))
def test_every_rule_of_the_vectors_parses_and_follows_the_schema(raw):
    assert validator("pricing-rule").is_valid(raw)
    assert parse_rule(raw).id == raw["id"]


@pytest.mark.parametrize(
    "case", SUITE["invalid_rules"], ids=[case["name"] for case in SUITE["invalid_rules"]]
)
def test_an_invalid_rule_is_refused(case):
    with pytest.raises(PricingError) as refusal:
        parse_rule(case["rule"])

    assert refusal.value.code == "invalid_rule"
    assert refusal.value.details["errors"]


def test_the_vectors_cover_every_kind_of_rule_and_error():
    kinds = {RULES[rule_id]["kind"] for vector in SUITE["vectors"] for rule_id in vector["rules"]}
    codes = {vector["expected_error"]["code"] for vector in REFUSED}
    assert kinds == {"discount", "volume_band", "bonus"}
    assert codes == {"no_price", "unknown_product", "invalid_quantity"}


# Exact money


def test_a_float_price_is_refused():
    with pytest.raises(PricingError) as refusal:
        PriceList("pl-retail", {"p-aspirin": 10.5})
    assert refusal.value.code == "invalid_amount"


def test_trailing_zeros_do_not_count_as_decimal_places():
    assert PriceList("pl-retail", {"p-aspirin": Decimal("10.000000")}).prices["p-aspirin"] == 10
    with pytest.raises(PricingError, match="decimal places"):
        PriceList("pl-retail", {"p-aspirin": Decimal("10.00001")})


@pytest.mark.parametrize("percent", [5.0, float("nan")])
def test_a_float_percent_is_refused_whether_synced_or_built(percent):
    with pytest.raises(PricingError, match="float") as synced:
        parse_rule(a_rule(percent=percent))
    with pytest.raises(PricingError, match="float") as built:
        DiscountRule(id="r-1", priority=1, percent=percent)
    assert synced.value.code == built.value.code == "invalid_rule"


@pytest.mark.parametrize("quantity", [2.0, Decimal("2"), True, 1_000_000_001])
def test_a_quantity_must_be_a_whole_number_of_units(quantity):
    with pytest.raises(PricingError) as refusal:
        price([("p-aspirin", quantity)])
    assert refusal.value.code == "invalid_quantity"


def test_line_amounts_are_in_cents_and_keep_the_percent_as_given():
    line = price([("p-sachet", 3)], [a_rule(percent=Decimal("12.5"))]).lines[0]

    amounts = (line.gross_amount, line.discount_amount, line.net_amount)
    assert [amount.as_tuple().exponent for amount in amounts] == [-2, -2, -2]
    assert line.discount_percent == Decimal("12.5")


def test_the_callers_decimal_context_does_not_change_a_price():
    rules = [a_rule(percent=Decimal("33.3333"))]
    expected = price([("p-sachet", 7777777)], rules, {"p-sachet": Decimal("123.4567")})
    with localcontext(prec=3, rounding=ROUND_DOWN):
        assert price([("p-sachet", 7777777)], rules, {"p-sachet": Decimal("123.4567")}) == expected


def test_the_largest_price_and_quantity_lose_no_digit():
    biggest = {"p-sachet": Decimal("99999999999999.9999")}
    priced = price([("p-sachet", 10**9)], [a_rule(percent=Decimal("33.3333"))], biggest)
    line = priced.lines[0]

    gross_cents = 99999999999999_9999 * 10**9 // 100  # ten-thousandths to cents, exact here
    discount_cents, remainder = divmod(gross_cents * 333333, 10**6)
    discount_cents += remainder * 2 >= 10**6
    assert line.gross_amount == Decimal(gross_cents).scaleb(-2)
    assert line.discount_amount == Decimal(discount_cents).scaleb(-2)


# Refusals


def test_a_missing_price_names_the_line_product_and_price_list():
    with pytest.raises(PricingError) as refusal:
        price([("p-aspirin", 1), ("p-unpriced", 2)])
    assert refusal.value.code == "no_price"
    assert refusal.value.details == {
        "line": 1,
        "product_id": "p-unpriced",
        "price_list_id": "pl-retail",
    }


def test_two_rules_with_one_id_are_refused_since_the_tie_break_could_not_decide():
    with pytest.raises(PricingError) as refusal:
        price([("p-aspirin", 1)], [a_rule(), a_rule(percent=Decimal("9"))])
    assert refusal.value.code == "duplicate_rule"


def test_an_order_date_with_a_time_is_refused():
    order = Order("a-corner", datetime(2026, 6, 15, 9), (OrderLine("p-aspirin", 1),))
    with pytest.raises(PricingError) as refusal:
        price_order(order, PRICE_LIST, PRODUCTS, [])
    assert refusal.value.code == "invalid_date"


def test_a_rule_refusal_lists_every_problem_with_its_path():
    raw = a_rule(kind="volume_band", colour="red", percent=None)
    raw["bands"] = [{"min_quantity": 0, "percent": Decimal("3")}]

    with pytest.raises(PricingError) as refusal:
        parse_rule(raw)

    paths = [error["path"] for error in refusal.value.details["errors"]]
    assert refusal.value.details["rule_id"] == "r-1"
    assert "bands[0].min_quantity" in paths and "$" in paths


# What the device showed


def test_compare_lists_each_value_the_device_showed_otherwise():
    server = price([("p-aspirin", 10), ("p-vitamin-c", 21)], [RULES["b-20-1-rep-incl"]])
    device = to_wire(server)
    device["lines"][1] = {
        **device["lines"][1],
        "charged_quantity": 21,
        "net_amount": Decimal("73.5"),
    }
    device["lines"].append({"product_id": "p-sachet", "quantity": 1})
    device["net_amount"] = Decimal("173.50")

    differences = compare(device, server)

    assert [(d.line, d.product_id, d.field, d.device, d.server) for d in differences] == [
        (1, "p-vitamin-c", "charged_quantity", 21, 20),
        (1, "p-vitamin-c", "net_amount", Decimal("73.5"), Decimal("70.00")),
        (2, "p-sachet", "line", {"product_id": "p-sachet", "quantity": 1}, None),
        (None, None, "net_amount", Decimal("173.50"), Decimal("170.00")),
    ]


def test_compare_takes_numbers_by_value_and_refuses_floats():
    server = price([("p-aspirin", 2)])
    device = {"lines": [{**to_wire(server)["lines"][0], "unit_price": Decimal("10")}]}
    device.update(gross_amount=20, discount_amount=0, net_amount=Decimal("20.0"))

    assert compare(device, server) == []
    with pytest.raises(PricingError):
        compare({**device, "net_amount": 20.0}, server)


def test_pricing_imports_neither_flask_nor_the_server():
    probe = (
        "import sys, mobile_protocol.pricing; print(sorted({'flask', 'sfa'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


# Properties


@st.composite
def raw_rules(draw) -> dict:
    kind = draw(st.sampled_from(["discount", "volume_band", "bonus"]))
    june = st.dates(date(2026, 6, 1), date(2026, 6, 30))
    start, end = sorted([draw(june), draw(june)])
    target = draw(st.sampled_from([{}, {"product_id": "p-aspirin"}, {"product_line": "vitamins"}]))
    rule = a_rule(
        id=draw(st.text(string.ascii_lowercase, min_size=1, max_size=3)),
        kind=kind,
        priority=draw(st.integers(0, 2)),
        active=draw(st.sampled_from([True, True, True, False])),
        valid_from=draw(st.none() | st.just(start.isoformat())),
        valid_to=draw(st.none() | st.just(end.isoformat())),
        account_id=draw(st.sampled_from([None, None, "a-corner", "a-acme"])),
        **target,
    )
    del rule["percent"]
    percents = st.decimals(0, 100, places=2)
    if kind == "discount":
        rule["percent"] = draw(percents)
    elif kind == "volume_band":
        thresholds = sorted(draw(st.lists(st.integers(1, 60), min_size=1, max_size=4, unique=True)))
        rule["bands"] = [{"min_quantity": q, "percent": draw(percents)} for q in thresholds]
    else:
        rule.update(buy=draw(st.integers(1, 25)), free=draw(st.integers(1, 5)))
        rule.update(
            repeating=draw(st.booleans()), mode=draw(st.sampled_from(["on_top", "inclusive"]))
        )
    return rule


rule_ids = st.text(string.ascii_letters, min_size=1, max_size=3)
rule_sets = st.lists(raw_rules(), max_size=6, unique_by=lambda rule: rule["id"])
prices = st.fixed_dictionaries(
    {product_id: st.decimals(0, 10**6, places=4) for product_id in PRICE_LIST.prices}
)
lines = st.lists(
    st.tuples(st.sampled_from(list(PRICE_LIST.prices)), st.integers(1, 200)), max_size=5
)
order_dates = st.dates(date(2026, 5, 25), date(2026, 7, 5))


def a_priced_order(rules, unit_prices, order_lines, on=date(2026, 6, 15)):
    order = Order("a-corner", on, tuple(OrderLine(*line) for line in order_lines))
    parsed = [parse_rule(rule) for rule in rules]
    return price_order(order, PriceList("pl-retail", unit_prices), PRODUCTS, parsed)


@settings(deadline=None)
@given(rule_sets, prices, lines, order_dates)
def test_every_line_nets_gross_less_discount_never_below_zero(rules, unit_prices, order_lines, on):
    for line in a_priced_order(rules, unit_prices, order_lines, on).lines:
        assert line.net_amount == line.gross_amount - line.discount_amount
        assert line.net_amount >= 0
        assert line.charged_quantity + line.inclusive_free_quantity == line.quantity


@settings(deadline=None)
@given(rule_sets, prices, lines)
def test_the_totals_are_the_sums_of_the_lines(rules, unit_prices, order_lines):
    priced = a_priced_order(rules, unit_prices, order_lines)
    for total in ("gross_amount", "discount_amount", "net_amount"):
        assert getattr(priced, total) == sum(getattr(line, total) for line in priced.lines)


@settings(deadline=None, max_examples=300)
@given(rule_sets, prices, lines, order_dates, st.randoms())
def test_the_order_of_the_rules_does_not_change_the_price(rules, unit_prices, order_lines, on, rng):
    priced = a_priced_order(rules, unit_prices, order_lines, on)
    for reordered in (rules[::-1], rng.sample(rules, len(rules))):
        assert a_priced_order(reordered, unit_prices, order_lines, on) == priced


@settings(deadline=None)
@given(st.lists(rule_ids, min_size=2, max_size=9, unique=True))
def test_of_rules_tied_on_priority_the_smallest_id_wins_in_any_order(ids):
    rules = [a_rule(id=rule_id, percent=Decimal(index)) for index, rule_id in enumerate(ids)]
    for listed in (rules, rules[::-1]):
        line = a_priced_order(listed, PRICE_LIST.prices, [("p-aspirin", 1)]).lines[0]
        assert line.price_rule_id == min(ids)


@settings(deadline=None)
@given(rule_sets, st.sampled_from(list(PRICE_LIST.prices)), st.integers(1, 200), st.integers(1, 60))
def test_ordering_more_never_earns_fewer_free_units(rules, product_id, quantity, more):
    fewer, larger = a_priced_order(
        rules, PRICE_LIST.prices, [(product_id, quantity), (product_id, quantity + more)]
    ).lines
    assert larger.bonus_quantity >= fewer.bonus_quantity
    assert larger.inclusive_free_quantity >= fewer.inclusive_free_quantity


@settings(deadline=None)
@given(st.dates(date(2026, 1, 1), date(2026, 12, 31)), st.integers(0, 40))
def test_validity_dates_are_inclusive_at_both_ends(start, days):
    end = start + timedelta(days=days)
    rule = a_rule(valid_from=start.isoformat(), valid_to=end.isoformat())
    inside = [start, end, start + timedelta(days=days // 2)]
    outside = [start - timedelta(days=1), end + timedelta(days=1)]

    for on in inside + outside:
        line = a_priced_order([rule], PRICE_LIST.prices, [("p-aspirin", 1)], on).lines[0]
        assert (line.price_rule_id == "r-1") is (on in inside)
