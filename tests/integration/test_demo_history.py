"""Loading the demo's order history into a migrated database, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
from flask import Flask
from sqlalchemy import func, select

from sfa.accounts.models import Account
from sfa.db import db
from sfa.demo.dataset import build_demo_document
from sfa.demo.history import HistoryReport, load_history
from sfa.orders.models import Order, OrderEvent, OrderLine
from sfa.territories.models import TerritoryAssignment
from tests.builders import load

UNTIL = date(2026, 11, 20)
CENT = Decimal("0.01")


def small_demo() -> dict:
    """The demo company with every territory and user, but a twentieth of its accounts and a
    tenth of its products (every product line), without contacts, stock or quotas."""
    document = build_demo_document()
    products = document["products"][::10]
    skus = {product["sku"] for product in products}
    return {
        "format": document["format"],
        "territories": document["territories"],
        "users": document["users"],
        "products": products,
        "price_lists": [
            {**price_list, "items": [i for i in price_list["items"] if i["sku"] in skus]}
            for price_list in document["price_lists"]
        ],
        "accounts": document["accounts"][::20],
    }


def load_small_history(app: Flask) -> HistoryReport:
    with app.app_context():
        report = load_history(db.session, until=UNTIL, months=3, scale=0.1)
        db.session.commit()
        return report


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def report(app: Flask) -> HistoryReport:
    load(app, small_demo())
    return load_small_history(app)


def test_loading_the_history_writes_the_orders_lines_and_events_it_reports(app, report):
    assert report.orders > 100 and report.lines > report.orders and not report.skipped
    assert date(2026, 8, 21) <= report.first_day <= report.last_day <= UNTIL
    with app.app_context():
        assert count(Order) == report.orders
        assert count(OrderLine) == report.lines
        assert count(OrderEvent) == report.events >= report.orders


def test_every_order_and_line_carries_its_accounts_territory_and_a_sync_version(app, report):
    with app.app_context():
        for model in (Order, OrderLine):
            rows = db.session.execute(
                select(model.territory_id, Account.territory_id, model.sync_version).join(
                    Account, Account.id == model.account_id
                )
            ).all()
            assert len(rows) == count(model)
            assert all(mine == accounts for mine, accounts, _ in rows)
            assert all(mine is not None and version > 0 for mine, _, version in rows)


def test_reps_took_orders_only_in_the_territories_they_hold(app, report):
    with app.app_context():
        strays = db.session.scalar(
            select(func.count())
            .select_from(Order)
            .outerjoin(
                TerritoryAssignment,
                (TerritoryAssignment.user_id == Order.user_id)
                & (TerritoryAssignment.territory_id == Order.territory_id),
            )
            .where(TerritoryAssignment.id.is_(None))
        )
    assert strays == 0


def test_stored_totals_are_the_exact_sums_of_the_stored_lines(app, report):
    with app.app_context():
        sums = db.session.execute(
            select(
                Order.gross_total,
                Order.discount_total,
                Order.total,
                func.sum(OrderLine.discount_amount),
                func.sum(OrderLine.line_total),
            )
            .join(OrderLine, OrderLine.order_id == Order.id)
            .group_by(Order.id, Order.gross_total, Order.discount_total, Order.total)
        ).all()
        lines = db.session.execute(
            select(
                OrderLine.quantity,
                OrderLine.unit_price,
                OrderLine.discount_amount,
                OrderLine.line_total,
            )
        ).all()
    assert len(sums) == report.orders
    for gross, discounts, total, line_discounts, line_totals in sums:
        assert type(total) is Decimal
        assert (discounts, total) == (line_discounts, line_totals)
        assert gross == total + discounts
    for quantity, unit_price, discount, line_total in lines:
        assert line_total == (quantity * unit_price).quantize(CENT, ROUND_HALF_UP) - discount


def test_a_second_load_keeps_the_first_history_and_writes_nothing(app, report):
    again = load_small_history(app)
    assert again.skipped and again.orders == 0
    with app.app_context():
        assert count(Order) == report.orders


def test_the_loader_leaves_the_commit_to_its_caller(app):
    load(app, small_demo())
    with app.app_context():
        load_history(db.session, until=UNTIL, months=1, scale=0.1)
        db.session.rollback()
        assert count(Order) == count(OrderLine) == count(OrderEvent) == 0


def test_the_history_feeds_the_monthly_sales_and_the_reps_forecasts(app, report):
    from sfa.demo.forecasts import load_forecasts
    from sfa.forecasts.models import Forecast, SalesMonth

    with app.app_context():
        booked = db.session.scalar(select(func.sum(SalesMonth.booked_amount)))
        counted = db.session.scalar(
            select(func.count()).select_from(Order).where(Order.credited_period.is_not(None))
        )
        assert booked > 0 and counted == report.orders  # every order credited to a month
        # a year on, the forecast months' same months a year before are in the history
        made = load_forecasts(db.session, date(2027, 10, 15), datetime.now(UTC))
        db.session.commit()
        assert made > 0
        statuses = dict(
            db.session.execute(
                select(Forecast.status, func.count()).group_by(Forecast.status)
            ).all()
        )
        assert statuses["submitted"] > 0
        assert load_forecasts(db.session, UNTIL, datetime.now(UTC)) == 0  # only once
