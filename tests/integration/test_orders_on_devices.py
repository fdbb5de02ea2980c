"""Which orders a device carries: recent and open ones when an account reaches it, and every
later change to any order it holds."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from sfa.accounts.models import Account
from sfa.auth.models import User
from sfa.catalog.models import Product
from sfa.columns import utcnow
from sfa.db import db
from sfa.orders.models import Order, OrderLine
from sfa.territories.models import Territory
from tests.builders import headers_for, load
from tests.sync_helpers import SyncDevice, new_id


def an_order(app, days_ago: int, status: str) -> tuple[str, str]:  # noqa: ANN001
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.code == "A-CO-BOG-01-1"))
        rep = db.session.scalar(select(User.id).where(User.email == "rep.bogota@example.com"))
        product = db.session.scalar(select(Product.id).where(Product.sku == "P-0001"))
        order = Order(
            id=new_id(),
            account_id=account.id,
            user_id=rep,
            status=status,
            placed_at=utcnow() - timedelta(days=days_ago),
            revision=1,
        )
        line = OrderLine(
            id=new_id(),
            order_id=order.id,
            account_id=account.id,
            product_id=product,
            quantity=1,
            revision=1,
        )
        db.session.add(order)
        db.session.flush()
        db.session.add(line)
        db.session.commit()
        return order.id, line.id


def test_a_device_gets_recent_and_open_orders_not_years_of_invoices(app, client):
    load(app)
    an_order(app, 400, "invoiced")
    old_open = an_order(app, 400, "partially_backordered")
    recent = an_order(app, 10, "invoiced")
    device = SyncDevice(client, headers_for(client, "rep.bogota@example.com"))
    device.pull()
    assert device.ids("orders") == {old_open[0], recent[0]}
    assert device.ids("order_lines") == {old_open[1], recent[1]}
    # a change to an order the device holds still arrives, however old
    with app.app_context():
        db.session.execute(update(Order).where(Order.id == old_open[0]).values(status="shipped"))
        db.session.commit()
    assert device.pull()["orders"]["upserts"][0]["status"] == "shipped"


def test_an_account_moving_in_brings_its_recent_orders_only(app, client):
    load(app)
    old_invoiced = an_order(app, 400, "invoiced")
    recent = an_order(app, 10, "accepted")
    medellin = SyncDevice(client, headers_for(client, "rep.medellin@example.com"))
    medellin.pull()
    assert medellin.ids("orders") == set()
    with app.app_context():
        antioquia = db.session.scalar(select(Territory.id).where(Territory.code == "CO-ANT-01"))
        db.session.execute(
            update(Account).where(Account.code == "A-CO-BOG-01-1").values(territory_id=antioquia)
        )
        db.session.commit()
    medellin.pull()
    assert medellin.ids("orders") == {recent[0]}
    assert old_invoiced[0] not in medellin.ids("orders")
