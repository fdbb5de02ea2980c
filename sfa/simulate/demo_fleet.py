"""The field force the simulator drives: the demo company's reps, and its admin as the back
office. A smaller company (fewer accounts per rep) makes a quick run; the catalogue, price
lists, quotas and people stay those of the demo."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sfa.demo.dataset import ACCOUNTS_PER_REP, DEMO_DOMAIN, build_demo_document

ADMIN_EMAIL = f"admin@{DEMO_DOMAIN}"


def demo_fleet_document(accounts_per_rep: int = ACCOUNTS_PER_REP) -> dict[str, Any]:
    """The demo ``sfa-import/1`` document, keeping only the first ``accounts_per_rep`` accounts
    per rep in each territory (and their contacts); the whole demo at the default."""
    document = build_demo_document()
    if accounts_per_rep >= ACCOUNTS_PER_REP:
        return document
    reps = Counter(
        territory
        for user in document["users"]
        if user["role"] == "rep"
        for territory in user["territories"]
    )
    kept: Counter[str] = Counter()
    accounts = []
    for account in document["accounts"]:
        territory = account["territory"]
        if kept[territory] < reps[territory] * accounts_per_rep:
            kept[territory] += 1
            accounts.append(account)
    codes = {account["code"] for account in accounts}
    document["accounts"] = accounts
    document["contacts"] = [c for c in document["contacts"] if c["account"] in codes]
    return document


def demo_rep_emails() -> list[str]:
    """The demo reps' sign-in emails, ``rep01`` first."""
    users = build_demo_document()["users"]
    return sorted(user["email"] for user in users if user["role"] == "rep")
