"""The back office at work while the reps are in the field.

Between a rep's offline edits and the rep's next sync, head office re-keys the phones and
addresses of some of the very accounts reps are correcting (concurrent edits, which the
conflict policies must settle: ``latest_wins`` for the phone, ``review`` for the address), and
moves a few accounts to another territory (one rep's device must lose them and their visits
and orders, another's receive them). Its changes go in as an ``sfa-import/1`` document, each
account row built from the account as the server holds it now, so nothing else changes.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mobile_protocol.client import Device
from sfa.accounts.models import MASTER_FIELDS
from sfa.demo.dataset import FORMAT
from sfa.simulate.field_day import AccountEdit

TERRITORIES_PATH = "/api/v1/territories"
PRICE_LISTS_PATH = "/api/v1/price-lists"
ACCOUNTS_PATH = "/api/v1/accounts"
CONTESTED_FIELDS = frozenset({"phone", "address"})
CONTESTED_SHARE = 0.3  # of the accounts reps edited that day
ACCOUNT_COLUMNS = MASTER_FIELDS

MasterDataImport = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class BackOfficeDay:
    """What the back office changed on one day."""

    edited_accounts: int
    reassigned_accounts: int


class BackOffice:
    """Head office, signed in on ``admin`` (an administrator, who sees every account) and
    sending its changes through ``send``."""

    def __init__(self, admin: Device, send: MasterDataImport) -> None:
        self.admin = admin
        self.send = send
        territories = admin.server.send("GET", TERRITORIES_PATH)["items"]
        self.territory_codes = {t["id"]: t["code"] for t in territories}
        self.sales_territories = sorted(
            (t["id"] for t in territories if t["type"] == "territory"),
            key=self.territory_codes.__getitem__,
        )
        price_lists = admin.server.send("GET", PRICE_LISTS_PATH)["items"]
        self.price_list_codes = {p["id"]: p["code"] for p in price_lists}

    def change(
        self,
        rng: random.Random,
        edits: Sequence[AccountEdit],
        fleet_accounts: Mapping[str, Sequence[str]],
        moves: int,
    ) -> BackOfficeDay:
        """Moves ``moves`` accounts of the fleet's territories (``fleet_accounts``: territory
        id -> account ids) to another territory, preferably another simulated rep's; then
        re-keys the phone and address, where the rep changed them, of a share of the other
        accounts in ``edits``. All in one import."""
        rows: dict[str, dict[str, Any]] = {}
        reassignments = self._reassignments(rng, fleet_accounts, moves)
        for account_id, territory_id in reassignments:
            rows[account_id] = self._current_row(account_id)
            rows[account_id]["territory"] = self.territory_codes[territory_id]
        contested = {e.account_id: e for e in edits if CONTESTED_FIELDS & set(e.fields)}
        candidates = [contested[a] for a in sorted(contested) if a not in rows]
        chosen = rng.sample(candidates, _share(len(candidates))) if candidates else []
        for edit in chosen:
            row = rows[edit.account_id] = self._current_row(edit.account_id)
            for name in sorted(CONTESTED_FIELDS & set(edit.fields)):
                row[name] = _office_value(rng, name)
        if rows:
            self.send({"format": FORMAT, "accounts": list(rows.values())})
        return BackOfficeDay(edited_accounts=len(chosen), reassigned_accounts=len(reassignments))

    def _reassignments(
        self, rng: random.Random, fleet_accounts: Mapping[str, Sequence[str]], moves: int
    ) -> list[tuple[str, str]]:
        """(account id, destination territory id) pairs, each account at most once."""
        origins = sorted((t for t, a in fleet_accounts.items() if a), key=self.territory_codes.get)
        chosen: dict[str, str] = {}
        for _ in range(moves):
            if not origins:
                break
            origin = rng.choice(origins)
            account_id = rng.choice(fleet_accounts[origin])
            elsewhere = [t for t in origins if t != origin] or [
                t for t in self.sales_territories if t != origin
            ]
            if elsewhere and account_id not in chosen:
                chosen[account_id] = rng.choice(elsewhere)
        return list(chosen.items())

    def _current_row(self, account_id: str) -> dict[str, Any]:
        """The account as an import row, with the server's current values."""
        account = self.admin.server.send("GET", f"{ACCOUNTS_PATH}/{account_id}")
        price_list = account["price_list_id"]
        return {
            **{name: account[name] for name in ACCOUNT_COLUMNS},
            "territory": self.territory_codes[account["territory_id"]],
            "price_list": self.price_list_codes[price_list] if price_list else None,
        }


def _share(candidates: int) -> int:
    return min(candidates, max(1, round(candidates * CONTESTED_SHARE)))


def _office_value(rng: random.Random, name: str) -> str:
    if name == "phone":
        return f"+57 60{rng.randint(1, 8)} {rng.randint(200, 899)} {rng.randint(0, 9999):04d}"
    street = f"Carrera {rng.randint(1, 150)} #{rng.randint(1, 120)}-{rng.randint(1, 99):02d}"
    return f"{street} Local {rng.randint(1, 30)}"
