"""Two years of past orders for the demo field force, so forecasts and the managers' dashboard
have actuals to show.

:func:`generate_history` is pure: from plain facts (reps and their accounts, products and their
prices) and a seed it makes the same orders every time. Reps take orders on working days (none
on Sundays or Colombian public holidays, fewer on Saturdays); each product line follows its own
seasonal curve, grows a little every year and wobbles from week to week; amounts are priced
exactly, with the rounding of ``mobile_protocol.pricing``. :func:`load_history` reads the facts
from the database, generates, and bulk-inserts orders, lines and each order's last status
change; the caller commits.
"""

from __future__ import annotations

import random
import time
from bisect import bisect
from calendar import monthrange
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from itertools import accumulate
from typing import TYPE_CHECKING, TypeVar
from zoneinfo import ZoneInfo

from mobile_protocol.pricing.money import line_gross, minus, percent_of, total
from sfa.demo.vocabulary import LINE_SHARES

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

ProgressFactory = Callable[[str, int], Callable[[int], None]]
T = TypeVar("T")
PackedProduct = tuple["HistoryProduct", int]  # a product and the pack multiple it is sold in

BOGOTA = ZoneInfo("America/Bogota")
ORDERS_PER_REP_DAY = 3.0  # Monday to Friday, at scale 1: sales near the demo quotas
SATURDAY_SHARE = 0.4
RECENT_DAYS = 10  # the ERP may still be working on orders this young
DROPPED_SHARE = 0.015  # rejected by the ERP or cancelled by the customer
BACKORDER_SHARE = 0.05
DISCOUNTS = tuple(Decimal(p) for p in ("5", "6", "7.5", "8", "10"))
NO_DISCOUNT = Decimal("0.00")
CHUNK = 2_000

# Product line: sales multiplier per month (January first), then yearly growth. Respiratory and
# anti-infective lines peak in the rainy seasons (April-May, October-November); analgesics are
# steady with a December bump; vitamins peak with the school calendars (January, August);
# dermatology in the mid-year holidays and sun; gastro with the year-end feasts; chronic lines
# (cardiovascular, diabetes) are flat and grow fastest.
LINE_SEASONS: dict[str, tuple[tuple[float, ...], float]] = {
    "RESPIRATORY": ((0.75, 0.8, 0.95, 1.35, 1.4, 1.05, 0.9, 0.85, 0.95, 1.35, 1.4, 1.0), 1.05),
    "ANTIBIOTICS": ((0.9, 0.9, 1.0, 1.15, 1.2, 1.0, 0.9, 0.9, 0.95, 1.15, 1.2, 0.95), 1.04),
    "ANALGESICS": ((0.95, 0.95, 1.0, 1.05, 1.05, 1.0, 0.95, 0.95, 1.0, 1.05, 1.05, 1.25), 1.06),
    "VITAMINS": ((1.35, 1.2, 0.95, 0.9, 0.85, 0.85, 1.05, 1.3, 1.0, 0.85, 0.85, 0.9), 1.08),
    "DERMATOLOGY": ((0.9, 0.85, 0.9, 0.95, 1.05, 1.25, 1.3, 1.15, 0.95, 0.9, 0.85, 0.95), 1.06),
    "GASTRO": ((1.15, 0.95, 0.95, 0.95, 1.0, 1.0, 0.95, 0.95, 0.95, 1.0, 1.0, 1.2), 1.05),
    "CARDIOVASCULAR": ((1.0,) * 12, 1.07),
    "DIABETES": ((1.0,) * 12, 1.09),
}
FLAT_SEASON = ((1.0,) * 12, 1.06)
# Account kind: how often it orders, lines per order (low, mode, high), packs per line (low,
# high), share of discounted lines. Pharmacies order often and little; distributors and
# hospitals seldom, much, and with more negotiated discounts.
KIND_PROFILES = {
    "pharmacy": (1.0, (1, 4, 12), (1, 3), 0.05),
    "practice": (0.3, (1, 2, 5), (1, 2), 0.05),
    "hospital": (0.45, (3, 6, 12), (2, 10), 0.15),
    "distributor": (0.6, (4, 9, 12), (5, 24), 0.25),
}
# Where the ERP stands on the last days' orders: weights of each status, by age in days
RECENT_STATUSES = ("sent_to_erp", "accepted", "partially_backordered", "shipped")
RECENT_SPREAD = ((45, 45, 10, 0), (10, 50, 10, 30), (10, 50, 10, 30), (0, 10, 10, 80))
REASONS = {
    "rejected": ("credit limit exceeded", "account blocked in the ERP"),
    "cancelled": ("customer cancelled", "duplicate order", "customer changed supplier"),
}


@dataclass(frozen=True)
class HistoryAccount:
    id: str
    kind: str
    price_list_id: str
    territory_id: str | None = None  # the demo's accounts have always been where they are


@dataclass(frozen=True)
class HistoryRep:
    user_id: str
    accounts: tuple[HistoryAccount, ...]  # the accounts of the rep's territories


@dataclass(frozen=True)
class HistoryProduct:
    id: str
    sku: str
    product_line: str
    prices: Mapping[str, Decimal]  # unit price by price list id


@dataclass(frozen=True)
class HistoryFacts:
    reps: tuple[HistoryRep, ...]
    products: tuple[HistoryProduct, ...]
    currencies: Mapping[str, str]  # by price list id


@dataclass(frozen=True, slots=True)
class OrderLineDraft:
    id: str
    product_id: str
    sku: str
    quantity: int
    unit_price: Decimal
    discount_percent: Decimal
    discount_amount: Decimal
    line_total: Decimal
    line_status: str
    confirmed_quantity: int | None
    backordered_quantity: int
    shipped_quantity: int
    invoiced_quantity: int


@dataclass(frozen=True, slots=True)
class StatusStep:
    at: datetime
    from_status: str
    to_status: str
    by_rep: bool  # else the ERP


@dataclass(frozen=True, slots=True)
class OrderDraft:
    id: str
    account_id: str
    user_id: str
    business_date: date  # in Bogotá
    status: str
    placed_at: datetime
    submitted_at: datetime
    updated_at: datetime  # when it reached its status
    requested_delivery_date: date
    price_list_id: str
    currency: str
    gross_total: Decimal
    discount_total: Decimal
    total: Decimal
    erp_reference: str | None
    status_reason: str | None
    lines: tuple[OrderLineDraft, ...]
    steps: tuple[StatusStep, ...]  # the last change, after a backorder if there was one
    credited_territory_id: str | None = None  # the account's territory on business_date
    credited_period: str | None = None  # business_date's month


@dataclass(frozen=True)
class HistoryReport:
    orders: int
    lines: int
    events: int
    first_day: date | None
    last_day: date | None
    generate_seconds: float
    insert_seconds: float
    skipped: bool = False  # the database already held orders

    def summary(self) -> str:
        if self.skipped:
            return "order history: skipped, the database already has orders"
        return (
            f"order history {self.first_day} to {self.last_day}: {self.orders} orders, "
            f"{self.lines} lines, {self.events} status events in "
            f"{self.generate_seconds + self.insert_seconds:.1f} s"
        )


# The calendar ----------------------------------------------------------------------------------


def easter_sunday(year: int) -> date:
    """Western Easter (the anonymous Gregorian algorithm of Meeus, Jones and Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (b - (b + 8) // 25 + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


@cache
def colombian_holidays(year: int) -> frozenset[date]:
    """Colombia's public holidays: fixed dates, Holy Thursday and Good Friday, and those the
    Emiliani law moves to the following Monday (including three counted from Easter)."""
    easter = easter_sunday(year)

    def monday(day: date) -> date:
        return day + timedelta(days=-day.weekday() % 7)

    fixed = [date(year, m, d) for m, d in ((1, 1), (5, 1), (7, 20), (8, 7), (12, 8), (12, 25))]
    moved = ((1, 6), (3, 19), (6, 29), (8, 15), (10, 12), (11, 1), (11, 11))
    fixed += [monday(date(year, m, d)) for m, d in moved]
    fixed += [easter - timedelta(days=3), easter - timedelta(days=2)]
    fixed += [monday(easter + timedelta(days=n)) for n in (39, 60, 68)]
    return frozenset(fixed)


def is_working_day(day: date) -> bool:
    return day.weekday() != 6 and day not in colombian_holidays(day.year)


def _months_before(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month + 1, min(day.day, monthrange(year, month + 1)[1]))


def _working_day_after(day: date, count: int) -> date:
    while count:
        day += timedelta(days=1)
        count -= is_working_day(day)
    return day


# The generator ---------------------------------------------------------------------------------


def generate_history(
    facts: HistoryFacts, *, months: int = 24, until: date, seed: int = 2026, scale: float = 1.0
) -> list[OrderDraft]:
    """The orders ``facts.reps`` took over the ``months`` months ending on ``until`` (a business
    date, inclusive), in the order they were placed; the same arguments give the same orders.
    ``scale`` multiplies the volume (1.0: about 3 orders per rep per weekday)."""
    if scale <= 0 or months < 1:
        raise ValueError("scale must be positive and months at least 1")
    first = _months_before(until, months) + timedelta(days=1)
    market = _Market(facts, first, seed)
    if not market.reps or not market.lines:
        return []
    rng = random.Random(seed)
    numbers: dict[int, int] = {}  # ERP order numbers handed out, by year
    orders: list[OrderDraft] = []
    day = first
    while day <= until:
        if is_working_day(day):
            orders += _day_orders(rng, market, day, (until - day).days, scale, numbers)
        day += timedelta(days=1)
    return orders


class _Market:
    """What sells when: product-line weights by day, and for each price list and line the
    products with a price in it, weighted by popularity."""

    def __init__(self, facts: HistoryFacts, first: date, seed: int) -> None:
        setup = random.Random(f"{seed}/market")
        self.first, self.currencies = first, facts.currencies
        self.lines = sorted({product.product_line for product in facts.products})
        average_share = sum(LINE_SHARES.values()) / len(LINE_SHARES)
        self.shares = [LINE_SHARES.get(line, average_share) for line in self.lines]
        self.noise_rng, self.noise = random.Random(f"{seed}/noise"), {}
        self.picks: dict[tuple[str, str], tuple[list[PackedProduct], list[float]]] = {}
        for line in self.lines:
            products = [p for p in facts.products if p.product_line == line]
            ranks = setup.sample(range(1, len(products) + 1), len(products))
            popularity = dict(zip((p.id for p in products), ranks, strict=True))
            for price_list in {pl for p in products for pl in p.prices}:
                priced = [(p, _pack_multiple(p)) for p in products if price_list in p.prices]
                weights = accumulate(popularity[p.id] ** -0.9 for p, _ in priced)
                self.picks[price_list, line] = (priced, list(weights))
        self.reps = [
            (rep, list(accumulate(_account_weight(setup, a) for a in rep.accounts)))
            for rep in facts.reps
            if rep.accounts
        ]
        self.paces = [setup.uniform(0.8, 1.2) for _ in self.reps]

    def line_weights(self, day: date) -> list[float]:
        years = (day - self.first).days / 365.25
        week = day - timedelta(days=day.weekday())
        weights = []
        for line, share in zip(self.lines, self.shares, strict=True):
            curve, growth = LINE_SEASONS.get(line, FLAT_SEASON)
            if (line, week) not in self.noise:
                self.noise[line, week] = self.noise_rng.uniform(0.88, 1.12)
            weights.append(share * curve[day.month - 1] * growth**years * self.noise[line, week])
        return weights

    def pick(self, rng: random.Random, price_list: str, line: str) -> PackedProduct | None:
        """A product with a price in ``price_list``, and its pack multiple."""
        products, weights = self.picks.get((price_list, line), ((), ()))
        return _draw(rng, products, weights) if products else None


def _draw(rng: random.Random, items: Sequence[T], cumulative_weights: list[float]) -> T:
    """``rng.choices(items, cum_weights=...)[0]``, without its overhead."""
    x = rng.random() * cumulative_weights[-1]
    return items[bisect(cumulative_weights, x, 0, len(items) - 1)]


def _account_weight(rng: random.Random, account: HistoryAccount) -> float:
    return _profile(account.kind)[0] * rng.uniform(0.4, 1.6)


def _profile(kind: str) -> tuple:
    return KIND_PROFILES.get(kind, KIND_PROFILES["pharmacy"])


def _day_orders(
    rng: random.Random, market: _Market, day: date, age: int, scale: float, numbers: dict
) -> list[OrderDraft]:
    weights = market.line_weights(day)
    cumulative = list(accumulate(weights))
    expected = ORDERS_PER_REP_DAY * scale * cumulative[-1] / sum(market.shares)
    if day.weekday() == 5:
        expected *= SATURDAY_SHARE
    slots = []
    for (rep, account_weights), pace in zip(market.reps, market.paces, strict=True):
        wanted = expected * pace * rng.uniform(0.6, 1.4)
        for _ in range(int(wanted) + (rng.random() < wanted % 1)):
            account = _draw(rng, rep.accounts, account_weights)
            slots.append((_placed_at(rng, day), rep.user_id, account))
    slots.sort(key=lambda slot: slot[0])
    orders = []
    for placed_at, user_id, account in slots:
        order = _order(rng, market, cumulative, day, age, placed_at, user_id, account, numbers)
        if order is not None:
            orders.append(order)
    return orders


def _placed_at(rng: random.Random, day: date) -> datetime:
    start, span = (8 * 60, 270) if day.weekday() == 5 else (7 * 60 + 30, 600)
    minute, second = start + rng.randrange(span), rng.randrange(60)
    local = datetime(day.year, day.month, day.day, minute // 60, minute % 60, second, tzinfo=BOGOTA)
    return local.astimezone(UTC)


def _order(
    rng: random.Random,
    market: _Market,
    line_weights: list[float],
    day: date,
    age: int,
    placed_at: datetime,
    user_id: str,
    account: HistoryAccount,
    numbers: dict,
) -> OrderDraft | None:
    products = _basket(rng, market, line_weights, account)
    if not products:
        return None
    status, days, backordered = _fate(rng, age)
    lines = _lines(rng, products, account, status, placed_at)
    submitted_at = placed_at + timedelta(
        minutes=rng.randint(1, 20) if rng.random() < 0.75 else rng.randint(30, 240)
    )
    updated_at = _status_time(rng, submitted_at, day, days)
    reason = rng.choice(REASONS[status]) if status in REASONS else None
    reference = None
    if status not in ("sent_to_erp", "rejected"):
        numbers[day.year] = number = numbers.get(day.year, 0) + 1
        reference = f"SO-{day.year}-{number:06d}"
    discounts = total([line.discount_amount for line in lines])
    net = total([line.line_total for line in lines])
    return OrderDraft(
        id=_time_ordered_id(rng, placed_at),
        account_id=account.id,
        user_id=user_id,
        business_date=day,
        status=status,
        placed_at=placed_at,
        submitted_at=submitted_at,
        updated_at=updated_at,
        requested_delivery_date=_working_day_after(day, rng.randint(1, 3)),
        price_list_id=account.price_list_id,
        currency=market.currencies[account.price_list_id],
        gross_total=total([net, discounts]),
        discount_total=discounts,
        total=net,
        erp_reference=reference,
        status_reason=reason,
        lines=tuple(lines),
        steps=_steps(rng, status, submitted_at, updated_at, backordered),
        credited_territory_id=account.territory_id,
        credited_period=f"{day:%Y-%m}",
    )


def _basket(
    rng: random.Random, market: _Market, line_weights: list[float], account: HistoryAccount
) -> list[tuple[HistoryProduct, int]]:
    """1-12 distinct products (fewer for a practice), each with a quantity in whole packs."""
    _, (low, mode, high), (few, many), _ = _profile(account.kind)
    wanted = min(int(rng.triangular(low, high + 1, mode)), high)
    chosen: dict[str, tuple[HistoryProduct, int]] = {}
    for _ in range(wanted * 3):
        picked = market.pick(rng, account.price_list_id, _draw(rng, market.lines, line_weights))
        if picked is not None and picked[0].id not in chosen:
            packs = few + int((many - few + 1) * rng.random() ** 2)
            chosen[picked[0].id] = (picked[0], packs * picked[1])
            if len(chosen) == wanted:
                break
    return list(chosen.values())


def _pack_multiple(product: HistoryProduct) -> int:
    """Cheap products come in bigger display boxes (thresholds in pesos)."""
    cheapest = min(product.prices.values())
    return 6 if cheapest < 10_000 else 3 if cheapest < 20_000 else 2 if cheapest < 50_000 else 1


def _fate(rng: random.Random, age: int) -> tuple[str, int, bool]:
    """Where an order ``age`` days old stands: its status, how many days after it was taken
    it got there, and whether a backorder held part of it up on the way."""
    if rng.random() < DROPPED_SHARE:
        return ("rejected", 0, False) if rng.random() < 0.5 else ("cancelled", min(age, 1), False)
    if age > RECENT_DAYS:
        backordered = rng.random() < BACKORDER_SHARE
        paid_after = rng.randint(25, 90)
        if age > paid_after and rng.random() > 0.03:
            return "closed", paid_after, backordered
        return "invoiced", rng.randint(1, 3) + backordered * rng.randint(3, 7), backordered
    weights = RECENT_SPREAD[min(age, len(RECENT_SPREAD) - 1)]
    status = rng.choices(RECENT_STATUSES, weights)[0]
    return status, rng.randint(1, min(age, 2)) if status == "shipped" else 0, False


def _lines(
    rng: random.Random,
    products: list[tuple[HistoryProduct, int]],
    account: HistoryAccount,
    status: str,
    placed_at: datetime,
) -> list[OrderLineDraft]:
    short = set()
    if status == "partially_backordered":
        short = {i for i in range(len(products)) if rng.random() < 0.3} or {0}
    discount_share = _profile(account.kind)[3]
    lines = []
    for index, (product, quantity) in enumerate(products):
        unit_price = product.prices[account.price_list_id]
        percent = rng.choice(DISCOUNTS) if rng.random() < discount_share else NO_DISCOUNT
        gross = line_gross(quantity, unit_price)
        discount = percent_of(gross, percent) if percent else NO_DISCOUNT
        lines.append(
            OrderLineDraft(
                _time_ordered_id(rng, placed_at),
                product.id,
                product.sku,
                quantity,
                unit_price,
                percent,
                discount,
                minus(gross, discount),
                *_acknowledgement(rng, status, quantity, index in short),
            )
        )
    return lines


def _acknowledgement(
    rng: random.Random, status: str, quantity: int, short: bool
) -> tuple[str, int | None, int, int, int]:
    """The ERP's word on a line: status, confirmed, backordered, shipped, invoiced quantity."""
    if status == "sent_to_erp":
        return "pending", None, 0, 0, 0
    if status == "rejected":
        return "rejected", 0, 0, 0, 0
    if short:
        missing = rng.randint(1, quantity)
        return "backordered", quantity - missing, missing, 0, 0
    shipped = quantity if status in ("shipped", "invoiced", "closed") else 0
    invoiced = quantity if status in ("invoiced", "closed") else 0
    return "accepted", quantity, 0, shipped, invoiced


def _status_time(rng: random.Random, submitted_at: datetime, day: date, days: int) -> datetime:
    if days == 0:
        return submitted_at + timedelta(minutes=rng.randint(2, 120))
    later = day + timedelta(days=days)
    hour, minute = rng.randint(7, 18), rng.randrange(60)
    return datetime(later.year, later.month, later.day, hour, minute, tzinfo=BOGOTA).astimezone(UTC)


PREVIOUS_STATUS = {
    "sent_to_erp": "submitted",
    "accepted": "sent_to_erp",
    "partially_backordered": "sent_to_erp",
    "rejected": "sent_to_erp",
    "cancelled": "accepted",
    "shipped": "accepted",
    "invoiced": "shipped",
    "closed": "invoiced",
}


def _steps(
    rng: random.Random, status: str, submitted_at: datetime, at: datetime, backordered: bool
) -> tuple[StatusStep, ...]:
    last = StatusStep(at, PREVIOUS_STATUS[status], status, by_rep=status == "cancelled")
    if not backordered:
        return (last,)
    held = submitted_at + timedelta(minutes=rng.randint(5, 90))
    return StatusStep(held, "sent_to_erp", "partially_backordered", by_rep=False), last


def _time_ordered_id(rng: random.Random, at: datetime) -> str:
    """A UUID version 7 (the layout of ``sfa.columns.new_id``) for the moment ``at``, its
    random bits from ``rng``, so that a seed repeats it."""
    bits = (int(at.timestamp() * 1000) << 80) | rng.getrandbits(80)
    digits = f"{bits & _UUID7_KEEP | _UUID7_SET:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


_UUID7_KEEP = ~((0xF << 76) | (0x3 << 62))
_UUID7_SET = (0x7 << 76) | (0x2 << 62)  # version 7, RFC 4122 variant


# Loading ---------------------------------------------------------------------------------------
# The database modules are imported inside the functions, so the generator above stays pure:
# importable and testable without Flask or a database.


def load_history(
    session: Session,
    *,
    until: date,
    months: int = 24,
    scale: float = 1.0,
    seed: int = 2026,
    progress: ProgressFactory | None = None,
) -> HistoryReport:
    """Generate the demo's order history up to ``until`` (a business date, usually yesterday)
    from the reps, accounts, products and prices in the database, and insert it: orders, their
    lines, and one event per order for its last status change (two when a backorder held it
    up). Writes nothing when the database already holds orders (a second ``sfa demo`` keeps the
    first history). Does not commit: the caller does. ``progress``, as in the master-data
    import, is called once with a label and the number of orders, and returns a function told
    how many more were written."""
    from sqlalchemy import select

    from sfa.orders.models import Order

    if session.scalar(select(Order.id).limit(1)) is not None:
        return HistoryReport(0, 0, 0, None, None, 0.0, 0.0, skipped=True)
    started = time.perf_counter()
    facts = read_history_facts(session, until)
    drafts = generate_history(facts, months=months, until=until, seed=seed, scale=scale)
    generated = time.perf_counter()
    update = progress("order history", len(drafts)) if progress else None
    events = insert_orders(session, drafts, update)
    from sqlalchemy import update as update_rows

    from sfa.forecasts import sales
    from sfa.territories.models import TerritoryAssignment

    if drafts:  # the demo's people have held their territories since its history began
        first = drafts[0].business_date
        session.execute(
            update_rows(TerritoryAssignment)
            .where(TerritoryAssignment.valid_from > first)
            .values(valid_from=first)
        )

    sales.refresh(session)  # the monthly sales attainment and baselines read
    return HistoryReport(
        orders=len(drafts),
        lines=sum(len(order.lines) for order in drafts),
        events=events,
        first_day=drafts[0].business_date if drafts else None,
        last_day=drafts[-1].business_date if drafts else None,
        generate_seconds=generated - started,
        insert_seconds=time.perf_counter() - generated,
    )


def read_history_facts(session: Session, on: date) -> HistoryFacts:
    """Active reps with the active accounts of the territories they hold on ``on`` or later,
    and active products with their prices, in a stable order (by email, code and sku)."""
    from sqlalchemy import select

    from sfa.catalog.models import PriceList

    currencies = {
        id_: code for id_, code in session.execute(select(PriceList.id, PriceList.currency))
    }
    return HistoryFacts(_reps(session, on), _products(session), currencies)


def _reps(session: Session, on: date) -> tuple[HistoryRep, ...]:
    from sqlalchemy import or_, select

    from sfa.accounts.models import Account
    from sfa.auth.models import User
    from sfa.territories.models import TerritoryAssignment as Assignment

    accounts: dict[str, list[HistoryAccount]] = {}
    for id_, kind, price_list_id, territory_id in session.execute(
        select(Account.id, Account.kind, Account.price_list_id, Account.territory_id)
        .where(Account.active, Account.price_list_id.is_not(None))
        .order_by(Account.code)
    ):
        accounts.setdefault(territory_id, []).append(
            HistoryAccount(id_, kind, price_list_id, territory_id)
        )
    held: dict[str, list[str]] = {}
    for user_id, territory_id in session.execute(
        select(User.id, Assignment.territory_id)
        .join(Assignment, Assignment.user_id == User.id)
        .where(User.role == "rep", User.active)
        .where(or_(Assignment.valid_to.is_(None), Assignment.valid_to >= on))
        .order_by(User.email, Assignment.territory_id)
    ):
        held.setdefault(user_id, []).append(territory_id)
    return tuple(
        HistoryRep(user_id, tuple(a for t in territories for a in accounts.get(t, ())))
        for user_id, territories in held.items()
    )


def _products(session: Session) -> tuple[HistoryProduct, ...]:
    from sqlalchemy import select

    from sfa.catalog.models import PriceListItem, Product

    prices: dict[str, dict[str, Decimal]] = {}
    for price_list_id, product_id, price in session.execute(
        select(PriceListItem.price_list_id, PriceListItem.product_id, PriceListItem.price)
    ):
        prices.setdefault(product_id, {})[price_list_id] = price
    return tuple(
        HistoryProduct(id_, sku, line, prices[id_])
        for id_, sku, line in session.execute(
            select(Product.id, Product.sku, Product.product_line)
            .where(Product.active)
            .order_by(Product.sku)
        )
        if id_ in prices
    )


def insert_orders(
    session: Session, orders: list[OrderDraft], progress: Callable[[int], None] | None = None
) -> int:
    """Insert ``orders`` with SQLAlchemy Core in chunks (each chunk's orders, then their lines
    and status events); territories and sync versions are left to the database triggers.
    Returns the number of events written."""
    from sqlalchemy import insert

    from sfa.orders.models import Order, OrderEvent, OrderLine

    events = 0
    for start in range(0, len(orders), CHUNK):
        chunk = orders[start : start + CHUNK]
        session.execute(insert(Order.__table__), [_order_row(order) for order in chunk])
        session.execute(
            insert(OrderLine.__table__),
            [_line_row(order, line) for order in chunk for line in order.lines],
        )
        rows = [_event_row(order, step) for order in chunk for step in order.steps]
        session.execute(insert(OrderEvent.__table__), rows)
        events += len(rows)
        if progress is not None:
            progress(len(chunk))
    return events


# Every field of a draft is a column of the same name, but for these
_NOT_ORDER_COLUMNS = frozenset({"business_date", "lines", "steps"})
_ORDER_COLUMNS = tuple(f.name for f in fields(OrderDraft) if f.name not in _NOT_ORDER_COLUMNS)
_LINE_COLUMNS = tuple(f.name for f in fields(OrderLineDraft))


def _order_row(order: OrderDraft) -> dict:
    row = {name: getattr(order, name) for name in _ORDER_COLUMNS}
    row["created_at"] = order.submitted_at  # when the server heard of it
    return row


def _line_row(order: OrderDraft, line: OrderLineDraft) -> dict:
    row = {name: getattr(line, name) for name in _LINE_COLUMNS}
    row.update(order_id=order.id, account_id=order.account_id, bonus_quantity=0, free_quantity=0)
    return row


def _event_row(order: OrderDraft, step: StatusStep) -> dict:
    last = step.to_status == order.status
    return {
        "order_id": order.id,
        "at": step.at,
        "actor_user_id": order.user_id if step.by_rep else None,
        "kind": "status_changed",
        "from_status": step.from_status,
        "to_status": step.to_status,
        "details": {"reason": order.status_reason} if last and order.status_reason else None,
    }
