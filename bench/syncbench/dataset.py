"""The benchmark's field force, as one ``sfa-import/1`` document.

A country, 3 regions and 12 sales territories. The first territory holds exactly 1,500
accounts (3,000 contacts): the initial-sync figure is measured on it. The other 11 share the
rest of the 10,000 accounts, so the manager, who holds the country, has all 10,000 in scope.
One rep per territory, one manager, one admin. The catalogue is ``import_bench``'s: 2,000
products, 3 price lists with an item per product, and a stock level per product.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import import_bench as catalogue

PASSWORD = "bench-password-2026"
DOMAIN = "bench.sfa.example"
ACCOUNTS = 10_000
FIRST_TERRITORY_ACCOUNTS = 1_500
REGIONS = (("AND", "Andina"), ("CAR", "Caribe"), ("PAC", "Pacifico"))
TERRITORIES_PER_REGION = 4


@dataclass(frozen=True)
class Login:
    email: str
    role: str
    territory: str


def territory_tree() -> list[dict]:
    rows = [{"code": "CO", "name": "Colombia", "parent": None, "type": "country"}]
    for code, name in REGIONS:
        rows.append({"code": code, "name": name, "parent": "CO", "type": "region"})
        rows.extend(
            {"code": f"{code}-{n:02d}", "name": f"{name} {n}", "parent": code, "type": "territory"}
            for n in range(1, TERRITORIES_PER_REGION + 1)
        )
    return rows


def sales_territories() -> list[str]:
    return [row["code"] for row in territory_tree() if row["type"] == "territory"]


def reps() -> list[Login]:
    """One rep per sales territory, in territory order: ``reps()[0]`` holds the 1,500 accounts."""
    return [
        Login(f"rep{n:02d}@{DOMAIN}", "rep", code)
        for n, code in enumerate(sales_territories(), start=1)
    ]


MANAGER = Login(f"manager@{DOMAIN}", "manager", "CO")
ADMIN = Login(f"admin@{DOMAIN}", "admin", "CO")


def territory_of(index: int, leaves: list[str]) -> str:
    """The first 1,500 accounts go to the first territory, the rest round the other 11."""
    if index < FIRST_TERRITORY_ACCOUNTS:
        return leaves[0]
    return leaves[1 + (index - FIRST_TERRITORY_ACCOUNTS) % (len(leaves) - 1)]


def build_document(seed: int) -> dict:
    """The same seed always gives the same document."""
    rng = random.Random(seed)
    leaves = sales_territories()
    products, prices = catalogue.products(rng)
    accounts, contacts = catalogue.accounts_and_contacts(rng, ACCOUNTS, leaves)
    for index, account in enumerate(accounts):
        account["territory"] = territory_of(index, leaves)
    users = [
        {
            "email": login.email,
            "name": f"{login.role.title()} {login.email.split('@')[0]}",
            "role": login.role,
            "password": PASSWORD,
            "territories": [] if login.role == "admin" else [login.territory],
        }
        for login in (*reps(), MANAGER, ADMIN)
    ]
    return {
        "format": "sfa-import/1",
        "territories": territory_tree(),
        "users": users,
        "products": products,
        "price_lists": catalogue.price_lists(prices),
        "accounts": accounts,
        "contacts": contacts,
        "stock": [{"sku": p["sku"], "available": rng.randint(0, 8_000)} for p in products],
        "quotas": catalogue.quotas(rng, leaves),
    }
