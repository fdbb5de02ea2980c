"""A rep's day in the field, offline: everything goes into the device's mutation queue.

The rep corrects a few accounts' phones, emails and addresses, records one to three visits
(with the contact seen, products discussed and samples left) and takes up to two orders, some
of them submitted before the day ends. Choices come from ``rng`` and the records on the
device, taken in their business order (codes, SKUs), so a seed gives the same day. Edits are
stamped by the device's clock when queued (``edited_at``); the times of visits and orders fall
on the simulated ``day``.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from mobile_protocol.client import Device

ACCOUNT_FIELDS = ("phone", "email", "address")
STREETS = ("Calle", "Carrera", "Avenida", "Diagonal", "Transversal")
OUTCOMES = ("completed", "completed", "completed", "rescheduled", "no_show")
VISIT_NOTES = (
    "Presented the new presentation; asked for samples.",
    "Reviewed stock on the shelf; re-order next week.",
    "Doctor interested in the cardiovascular line.",
    "Pharmacist requested a price comparison.",
)


@dataclass(frozen=True)
class AccountEdit:
    """Fields of one account the rep changed today."""

    account_id: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Catalogue:
    """What a rep can sell or show: product ids by SKU, and by price list."""

    products: list[str]
    priced: dict[str, list[str]]

    @classmethod
    def on(cls, device: Device) -> Catalogue:
        """The catalogue as ``device`` holds it (the same on every device)."""
        skus = {product["id"]: product["sku"] for product in _view(device, "products")}
        priced: dict[str, list[str]] = defaultdict(list)
        for item in _view(device, "price_list_items"):
            priced[item["price_list_id"]].append(item["product_id"])
        for products in priced.values():
            products.sort(key=lambda product_id: skus.get(product_id, ""))
        return cls(sorted(skus, key=skus.__getitem__), dict(priced))


@dataclass
class DayOfWork:
    """What one rep recorded offline on one day."""

    account_edits: list[AccountEdit] = field(default_factory=list)
    visits: int = 0
    orders: int = 0
    submitted_orders: int = 0


class FieldDay:
    """One rep's offline work on ``day``, recorded in ``device``'s queue."""

    def __init__(
        self, device: Device, rng: random.Random, day: date, catalogue: Catalogue | None = None
    ) -> None:
        self.device = device
        self.rng = rng
        self.day = day
        self.catalogue = catalogue or Catalogue.on(device)
        self.accounts = sorted(_view(device, "accounts"), key=lambda a: a["code"])
        self.contacts: dict[str, list[dict]] = defaultdict(list)
        for contact in sorted(_view(device, "contacts"), key=lambda c: c["code"] or ""):
            self.contacts[contact["account_id"]].append(contact)

    def work(self) -> DayOfWork:
        """Queues the day's edits, visits and orders; returns what was recorded."""
        done = DayOfWork()
        if not self.accounts:
            return done
        edited = self.rng.sample(self.accounts, min(len(self.accounts), self.rng.randint(1, 3)))
        for account in edited:
            done.account_edits.append(self.edit_account(account))
        for _ in range(self.rng.randint(1, 3)):
            self.record_visit(self.rng.choice(self.accounts))
            done.visits += 1
        for _ in range(self.rng.randint(0, 2)):
            done.submitted_orders += self.take_order(self.rng.choice(self.accounts))
            done.orders += 1
        return done

    def edit_account(self, account: dict[str, Any]) -> AccountEdit:
        """Corrects one to three of the account's phone, email and address."""
        names = self.rng.sample(ACCOUNT_FIELDS, self.rng.randint(1, len(ACCOUNT_FIELDS)))
        values = {name: self._new_value(name, account) for name in sorted(names)}
        self.device.queue.record_update("accounts", account["id"], values)
        return AccountEdit(account["id"], tuple(sorted(names)))

    def record_visit(self, account: dict[str, Any]) -> None:
        contacts = self.contacts.get(account["id"], [])
        start = self._at(self.rng.randint(8, 16), self.rng.choice((0, 15, 30, 45)))
        discussed = self._some_products(account, self.rng.randint(1, 3))
        samples = [{"product_id": p, "quantity": self.rng.randint(1, 6)} for p in discussed[:1]]
        fields = {
            "account_id": account["id"],
            "contact_id": self.rng.choice(contacts)["id"] if contacts else None,
            "planned_at": _wire(start),
            "started_at": _wire(start + timedelta(minutes=self.rng.randint(0, 10))),
            "ended_at": _wire(start + timedelta(minutes=self.rng.randint(15, 50))),
            "outcome": self.rng.choice(OUTCOMES),
            "notes": self.rng.choice(VISIT_NOTES),
            "products_discussed": discussed,
            "samples": samples if self.rng.random() < 0.6 else [],
        }
        self.device.queue.record_create("visits", _new_id(), fields)

    def take_order(self, account: dict[str, Any]) -> int:
        """A draft order with one to four lines, submitted half of the time; returns 1 if it
        was submitted."""
        order_id, placed = _new_id(), self._at(self.rng.randint(9, 17), 0)
        delivery = self.day + timedelta(days=self.rng.randint(1, 5))
        self.device.queue.record_create(
            "orders",
            order_id,
            {
                "account_id": account["id"],
                "placed_at": _wire(placed),
                "requested_delivery_date": delivery.isoformat(),
                "notes": self.rng.choice((None, "Deliver before noon.", "Call on arrival.")),
            },
        )
        for product_id in self._some_products(account, self.rng.randint(1, 4)):
            line = {
                "order_id": order_id,
                "product_id": product_id,
                "quantity": self.rng.randint(1, 48),
                "bonus_quantity": self.rng.choice((0, 0, 0, 1, 2)),
            }
            self.device.queue.record_create("order_lines", _new_id(), line)
        if self.rng.random() < 0.5:
            return 0
        self.device.queue.record_update("orders", order_id, {"status": "submitted"})
        return 1

    def _some_products(self, account: dict[str, Any], count: int) -> list[str]:
        """Products of the account's price list (any product if it has none)."""
        price_list = account.get("price_list_id") or ""
        products = self.catalogue.priced.get(price_list) or self.catalogue.products
        return self.rng.sample(products, min(count, len(products)))

    def _new_value(self, name: str, account: dict[str, Any]) -> str:
        rng = self.rng
        if name == "phone":
            mobile = f"3{rng.randint(0, 2)}{rng.randint(0, 9)}"
            return f"+57 {mobile} {rng.randint(200, 999)} {rng.randint(0, 9999):04d}"
        if name == "email":
            return f"compras{rng.randint(1, 999)}.{account['code'].lower()}@clientes.example.com"
        street = f"{rng.choice(STREETS)} {rng.randint(1, 150)}"
        return f"{street} #{rng.randint(1, 120)}-{rng.randint(1, 99):02d}"

    def _at(self, hour: int, minute: int) -> datetime:
        return datetime.combine(self.day, time(hour, minute), UTC)


def _view(device: Device, entity: str) -> list[dict[str, Any]]:
    return device.store.local_view(entity)


def _wire(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _new_id() -> str:
    return str(uuid.uuid4())
