"""The demo's order history: calendar, seasons, prices and statuses, without a database."""

from __future__ import annotations

import re
import uuid
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from sfa.demo.history import (
    BOGOTA,
    HistoryAccount,
    HistoryFacts,
    HistoryProduct,
    HistoryRep,
    OrderDraft,
    colombian_holidays,
    easter_sunday,
    generate_history,
    is_working_day,
)
from sfa.demo.vocabulary import LINE_SHARES

UNTIL = date(2026, 12, 31)  # two whole calendar years: 2025 and 2026
CENT = Decimal("0.01")
KINDS = ("pharmacy",) * 14 + ("practice",) * 3 + ("hospital",) * 2 + ("distributor",)  # as the demo
PRICE_LISTS = {
    "RETAIL": Decimal("1"),
    "WHOLESALE": Decimal("0.85"),
    "INSTITUTIONAL": Decimal("0.92"),
}
KIND_PRICE_LIST = {"pharmacy": "RETAIL", "practice": "INSTITUTIONAL", "hospital": "INSTITUTIONAL"}
SETTLED = {"invoiced", "closed"}
UNDER_WAY = {"sent_to_erp", "accepted", "partially_backordered", "shipped"}
DROPPED = {"rejected", "cancelled"}


def small_field_force(reps: int = 4, accounts_per_territory: int = 40) -> HistoryFacts:
    """Two territories (two reps in the first), every account kind, and five products in
    each of the demo's product lines, one of them priced in half pesos."""
    territories = [
        tuple(
            HistoryAccount(f"acc-{t}-{n}", kind, KIND_PRICE_LIST.get(kind, "WHOLESALE"))
            for n in range(accounts_per_territory)
            for kind in [KINDS[n % len(KINDS)]]
        )
        for t in range(2)
    ]
    products = tuple(
        HistoryProduct(
            f"prod-{line}-{n}",
            f"P-{line[:3]}-{n}",
            line,
            {
                code: (Decimal(4_000 + 9_000 * n) * factor).quantize(CENT)
                for code, factor in PRICE_LISTS.items()
            },
        )
        for line in LINE_SHARES
        for n in range(5)
    )
    odd = HistoryProduct(
        "prod-odd", "P-ODD", "GASTRO", {code: Decimal("30250.5") for code in PRICE_LISTS}
    )
    people = tuple(HistoryRep(f"rep-{n}", territories[0 if n < 2 else 1]) for n in range(reps))
    return HistoryFacts(people, (*products, odd), {code: "COP" for code in PRICE_LISTS})


@pytest.fixture(scope="module")
def facts() -> HistoryFacts:
    return small_field_force()


@pytest.fixture(scope="module")
def history(facts: HistoryFacts) -> list[OrderDraft]:
    return generate_history(facts, until=UNTIL)


def age(order: OrderDraft) -> int:
    return (UNTIL - order.business_date).days


def units(history: list[OrderDraft], line: str, months: set[int]) -> float:
    """Units of a product line sold per month, on average over the given calendar months."""
    sold = sum(
        item.quantity
        for order in history
        if order.business_date.month in months
        for item in order.lines
        if item.product_id.startswith(f"prod-{line}-")
    )
    return sold / (2 * len(months))


def test_the_same_seed_gives_the_same_history_and_another_seed_a_different_one(facts):
    first = generate_history(facts, until=UNTIL, months=3)
    assert generate_history(facts, until=UNTIL, months=3) == first
    assert generate_history(facts, until=UNTIL, months=3, seed=7) != first


def test_history_covers_the_months_before_until_in_the_order_orders_were_placed(history):
    assert min(o.business_date for o in history) >= date(2025, 1, 1)
    assert max(o.business_date for o in history) == UNTIL
    placed = [order.placed_at for order in history]
    assert placed == sorted(placed)
    assert all(o.placed_at.astimezone(BOGOTA).date() == o.business_date for o in history)


def test_reps_take_orders_only_from_their_own_territory(facts, history):
    territory_of = {rep.user_id: {a.id for a in rep.accounts} for rep in facts.reps}
    assert all(order.account_id in territory_of[order.user_id] for order in history)
    assert {order.user_id for order in history} == set(territory_of)


@pytest.mark.parametrize(
    ("year", "easter", "moved", "days"),
    [
        (2024, date(2024, 3, 31), {date(2024, 1, 8), date(2024, 3, 25), date(2024, 11, 11)}, 18),
        # Saint Peter and the Sacred Heart both fall on Monday 30 June
        (2025, date(2025, 4, 20), {date(2025, 3, 24), date(2025, 6, 30), date(2025, 8, 18)}, 17),
        (2026, date(2026, 4, 5), {date(2026, 1, 12), date(2026, 5, 18), date(2026, 6, 8)}, 18),
    ],
)
def test_colombian_holidays_hold_the_fixed_dates_holy_week_and_the_mondays_of_the_emiliani_law(
    year, easter, moved, days
):
    holidays = colombian_holidays(year)
    fixed = {date(year, m, d) for m, d in ((1, 1), (5, 1), (7, 20), (8, 7), (12, 8), (12, 25))}
    holy_week = {easter - timedelta(days=3), easter - timedelta(days=2)}
    assert easter_sunday(year) == easter
    assert fixed | holy_week | moved <= holidays
    assert len(holidays) == days
    assert not any(is_working_day(day) for day in holidays)


def test_no_order_is_taken_on_a_sunday_or_a_public_holiday_and_fewer_on_saturdays(history):
    days = Counter(order.business_date for order in history)
    assert all(day.weekday() != 6 and day not in colombian_holidays(day.year) for day in days)
    assert date(2025, 4, 17) not in days and date(2026, 4, 3) not in days  # Holy Thursday, Friday
    saturdays = [n for day, n in days.items() if day.weekday() == 5]
    weekdays = [n for day, n in days.items() if day.weekday() < 5]
    assert sum(saturdays) / len(saturdays) < 0.6 * sum(weekdays) / len(weekdays)


def test_respiratory_sells_clearly_more_in_the_rainy_seasons_than_in_january_and_february(
    history,
):
    rainy = units(history, "RESPIRATORY", {4, 5, 10, 11})
    assert rainy > 1.4 * units(history, "RESPIRATORY", {1, 2})


def test_vitamins_peak_with_the_school_calendars_and_analgesics_in_december(history):
    school = units(history, "VITAMINS", {1, 8})
    assert school > 1.25 * units(history, "VITAMINS", {4, 5, 10, 11})
    december = units(history, "ANALGESICS", {12})
    assert december > 1.1 * units(history, "ANALGESICS", set(range(1, 12)))


def test_sales_grow_from_one_year_to_the_next(history):
    per_year = Counter(order.business_date.year for order in history)
    assert 1.02 < per_year[2026] / per_year[2025] < 1.15


def test_every_line_is_priced_exactly_from_the_accounts_price_list(facts, history):
    prices = {product.id: product.prices for product in facts.products}
    for order in history:
        assert 1 <= len(order.lines) <= 12
        assert len({item.product_id for item in order.lines}) == len(order.lines)
        assert order.currency == "COP"
        for item in order.lines:
            assert item.unit_price == prices[item.product_id][order.price_list_id]
            gross = (item.quantity * item.unit_price).quantize(CENT, ROUND_HALF_UP)
            share = gross * item.discount_percent / 100
            assert item.discount_amount == share.quantize(CENT, ROUND_HALF_UP)
            assert item.line_total == gross - item.discount_amount
            assert item.discount_percent == 0 or 5 <= item.discount_percent <= 10


def test_an_orders_totals_are_the_exact_sums_of_its_lines(history):
    for order in history:
        amounts = [order.gross_total, order.discount_total, order.total]
        assert all(type(amount) is Decimal for amount in amounts)
        assert order.total == sum(item.line_total for item in order.lines)
        assert order.discount_total == sum(item.discount_amount for item in order.lines)
        assert order.gross_total == order.total + order.discount_total


def test_a_few_lines_carry_a_discount_and_quantities_come_in_whole_packs(history):
    lines = [item for order in history for item in order.lines]
    discounted = sum(item.discount_percent > 0 for item in lines) / len(lines)
    assert 0.03 < discounted < 0.15
    assert all(item.quantity >= 1 for item in lines)
    cheap = [item.quantity for item in lines if item.unit_price < 10_000]
    assert cheap and all(quantity % 6 == 0 for quantity in cheap)


def test_orders_older_than_ten_days_were_invoiced_or_closed_and_fully_shipped(history):
    old = [order for order in history if age(order) > 10]
    assert {order.status for order in old} == SETTLED | DROPPED
    for order in old:
        if order.status in SETTLED:
            assert order.erp_reference is not None
            for item in order.lines:
                assert item.line_status == "accepted" and item.backordered_quantity == 0
                assert (
                    item.confirmed_quantity
                    == item.shipped_quantity
                    == item.invoiced_quantity
                    == item.quantity
                )
    dropped = sum(order.status in DROPPED for order in old) / len(old)
    held_up = sum(len(order.steps) == 2 for order in old) / len(old)
    assert 0.005 < dropped < 0.03 and 0.02 < held_up < 0.08
    assert sum(order.status == "closed" for order in old) > 0.8 * len(old)


def test_the_last_ten_days_show_orders_still_on_their_way(history):
    recent = [order for order in history if age(order) <= 10]
    assert UNDER_WAY <= {order.status for order in recent} <= UNDER_WAY | DROPPED
    for order in recent:
        lines = order.lines
        if order.status == "sent_to_erp":
            assert order.erp_reference is None
            assert all(item.line_status == "pending" for item in lines)
        if order.status == "partially_backordered":
            short = [item for item in lines if item.line_status == "backordered"]
            assert short and all(item.backordered_quantity > 0 for item in short)
            assert all(i.confirmed_quantity + i.backordered_quantity == i.quantity for i in lines)
        if order.status == "shipped":
            assert all(item.shipped_quantity == item.quantity for item in lines)
            assert all(item.invoiced_quantity == 0 for item in lines)


def test_each_order_keeps_its_last_status_change_and_a_reason_when_dropped(history):
    for order in history:
        last = order.steps[-1]
        assert last.to_status == order.status and last.from_status != order.status
        assert order.submitted_at <= last.at == order.updated_at
        assert (order.status_reason is not None) == (order.status in DROPPED)
        assert all(step.by_rep == (step.to_status == "cancelled") for step in order.steps)


def test_times_fall_in_business_hours_and_nothing_happens_after_until(history):
    end = datetime.combine(UNTIL + timedelta(days=1), time(), BOGOTA)
    for order in history:
        local = order.placed_at.astimezone(BOGOTA).time()
        assert (
            time(7, 30)
            <= local
            < (time(12, 30) if order.business_date.weekday() == 5 else time(17, 30))
        )
        assert order.placed_at < order.submitted_at <= order.updated_at < end
        assert order.placed_at.tzinfo is UTC
        assert order.requested_delivery_date > order.business_date
        assert is_working_day(order.requested_delivery_date)


def test_ids_are_unique_time_ordered_uuids_and_erp_numbers_count_up_each_year(history):
    ids = [order.id for order in history] + [item.id for o in history for item in o.lines]
    assert len(set(ids)) == len(ids)
    assert all(uuid.UUID(order.id).version == 7 for order in history)
    numbers = defaultdict(list)
    for order in history:
        if order.erp_reference is not None:
            year, number = re.fullmatch(r"SO-(\d{4})-(\d{6})", order.erp_reference).groups()
            assert int(year) == order.business_date.year
            numbers[year].append(int(number))
    assert all(found == list(range(1, len(found) + 1)) for found in numbers.values())


def test_scale_shrinks_the_volume_in_proportion(facts):
    full = generate_history(facts, until=UNTIL, months=6)
    quarter = generate_history(facts, until=UNTIL, months=6, scale=0.25)
    assert 0.18 < len(quarter) / len(full) < 0.32
    per_working_day = len(full) / sum(is_working_day(UNTIL - timedelta(days=n)) for n in range(183))
    assert 2 * len(facts.reps) < per_working_day < 4 * len(facts.reps)


def test_a_rep_without_accounts_takes_no_orders_and_a_bad_scale_is_refused(facts):
    idle = HistoryFacts((HistoryRep("rep-idle", ()),), facts.products, facts.currencies)
    assert generate_history(idle, until=UNTIL, months=2) == []
    with pytest.raises(ValueError):
        generate_history(facts, until=UNTIL, scale=0)
