"""The demo company's import document: shape, consistency and limits, without a database."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from sfa.demo.dataset import DEMO_PASSWORD, build_demo_document, demo_logins

LENGTH_LIMITS = {
    "code": 64,
    "sku": 64,
    "territory": 64,
    "account": 64,
    "parent": 64,
    "price_list": 64,
    "product_line": 64,
    "name": 200,
    "phone": 40,
    "email": 254,
    "tax_id": 40,
    "address": 300,
    "city": 100,
    "specialty": 100,
    "channel": 40,
}
KEYS = {
    "territories": "code",
    "users": "email",
    "accounts": "code",
    "contacts": "code",
    "products": "sku",
    "price_lists": "code",
    "stock": "sku",
}


@pytest.fixture(scope="module")
def document() -> dict:
    return build_demo_document()


def codes(document: dict, section: str) -> set[str]:
    return {row[KEYS[section]] for row in document[section]}


def users_with_role(document: dict, role: str) -> list[dict]:
    return [user for user in document["users"] if user["role"] == role]


def leaf_territories(document: dict) -> set[str]:
    return {t["code"] for t in document["territories"] if t["type"] == "territory"}


def test_the_same_seed_gives_the_same_company_and_another_seed_a_different_one(document):
    assert build_demo_document(2026) == document
    assert build_demo_document(7) != document


def test_the_company_has_the_size_of_the_demo(document):
    types = Counter(t["type"] for t in document["territories"])
    roles = Counter(u["role"] for u in document["users"])
    assert (types["country"], types["region"]) == (1, 3) and 10 <= types["territory"] <= 15
    assert 25 <= roles["rep"] <= 35
    assert (roles["manager"], roles["admin"], roles["erp"]) == (3, 1, 1)
    assert 2_500 <= len(document["accounts"]) <= 3_500
    assert 4_500 <= len(document["contacts"]) <= 7_500
    assert 700 <= len(document["products"]) <= 900
    inactive = sum(not a["active"] for a in document["accounts"]) / len(document["accounts"])
    assert 0.005 <= inactive <= 0.05
    lines = {p["product_line"] for p in document["products"]}
    assert 6 <= len(lines) <= 10
    assert codes(document, "price_lists") == {"RETAIL", "WHOLESALE", "INSTITUTIONAL"}
    assert len(document["stock"]) == len(document["products"])
    assert len(document["quotas"]) == types["territory"] * len(lines) * 15


def test_every_code_is_unique_within_its_section(document):
    for section in KEYS:
        assert len(codes(document, section)) == len(document[section]), section
    quota_keys = {(q["territory"], q["period"], q["product_line"]) for q in document["quotas"]}
    assert len(quota_keys) == len(document["quotas"])


def test_every_reference_points_to_something_in_the_document(document):
    territories, skus = codes(document, "territories"), codes(document, "products")
    accounts, price_lists = codes(document, "accounts"), codes(document, "price_lists")
    lines = {p["product_line"] for p in document["products"]}
    assert {t["parent"] for t in document["territories"]} - {None} <= territories
    assert {code for u in document["users"] for code in u["territories"]} <= territories
    assert {a["territory"] for a in document["accounts"]} == leaf_territories(document)
    assert {a["price_list"] for a in document["accounts"]} <= price_lists
    assert {c["account"] for c in document["contacts"]} <= accounts
    for price_list in document["price_lists"]:
        assert sorted(item["sku"] for item in price_list["items"]) == sorted(skus)
    assert {s["sku"] for s in document["stock"]} == skus
    assert {q["territory"] for q in document["quotas"]} == leaf_territories(document)
    assert {q["product_line"] for q in document["quotas"]} == lines


def test_the_territory_tree_has_one_root_and_no_cycles(document):
    parents = {t["code"]: t["parent"] for t in document["territories"]}
    assert [code for code, parent in parents.items() if parent is None] == ["CO"]
    for code in parents:
        seen = set()
        while code is not None:
            assert code not in seen, f"cycle through {code}"
            seen.add(code)
            code = parents[code]


def test_each_rep_covers_one_sales_territory_and_each_territory_has_at_least_two_reps(document):
    leaves = leaf_territories(document)
    reps = users_with_role(document, "rep")
    assert all(len(rep["territories"]) == 1 and rep["territories"][0] in leaves for rep in reps)
    reps_per_territory = Counter(rep["territories"][0] for rep in reps)
    assert set(reps_per_territory) == leaves and min(reps_per_territory.values()) >= 2


def test_each_manager_leads_a_region_and_everyone_logs_in_with_the_demo_password(document):
    regions = {t["code"] for t in document["territories"] if t["type"] == "region"}
    managers = users_with_role(document, "manager")
    assert all(len(m["territories"]) == 1 and m["territories"][0] in regions for m in managers)
    assert {u["password"] for u in document["users"]} == {DEMO_PASSWORD}
    assert all(u["email"].endswith("@demo.sfa.example") for u in document["users"])


def test_the_login_list_starts_with_the_admin_then_managers_reps_and_ends_with_the_erp(document):
    logins = demo_logins(document)
    assert logins[0] == ("admin@demo.sfa.example", "admin", "")
    assert logins[-1] == ("erp@demo.sfa.example", "erp", "")
    roles = [role for _, role, _ in logins]
    assert roles == sorted(roles, key=["admin", "manager", "rep", "erp"].index)
    assert ("manager.andina@demo.sfa.example", "manager", "CO-AND") in logins


def test_the_document_survives_a_json_round_trip_unchanged(document):
    assert json.loads(json.dumps(document)) == document


def test_every_amount_is_a_whole_number_of_pesos(document):
    amounts = [a["credit_limit"] for a in document["accounts"]]
    amounts += [i["price"] for pl in document["price_lists"] for i in pl["items"]]
    amounts += [s["available"] for s in document["stock"]]
    amounts += [q["amount"] for q in document["quotas"]]
    assert all(type(amount) is int and amount >= 0 for amount in amounts)


def test_wholesale_is_cheaper_than_retail_for_every_product(document):
    retail, wholesale = (
        {i["sku"]: i["price"] for i in pl["items"]} for pl in document["price_lists"][:2]
    )
    assert all(wholesale[sku] < price for sku, price in retail.items())


def test_every_text_fits_its_column(document):
    for section in [*KEYS, "quotas"]:
        for row in document[section]:
            for field, limit in LENGTH_LIMITS.items():
                value = row.get(field)
                assert not isinstance(value, str) or 0 < len(value) <= limit, (section, row)
