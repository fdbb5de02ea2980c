"""Forecasting for managers: quotas (never one's own), forecasts from the field, adjustments
with history that survive recomputation, attainment from orders as credited, and scope."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from sfa.db import db
from sfa.forecasts import sales
from sfa.orders import services as orders
from sfa.territories.models import Territory
from tests.builders import headers_for, load, world
from tests.sync_helpers import SyncDevice, mutation, new_id

MONTH = "2026-12"
MANAGER, MEDELLIN, BOGOTA = (
    "manager.andina@example.com",
    "rep.medellin@example.com",
    "rep.bogota@example.com",
)


@pytest.fixture
def codes(app, client) -> dict[str, str]:  # noqa: ANN001
    document = world()
    document["stock"][1]["available"] = 500
    load(app, document)
    with app.app_context():
        return dict(db.session.execute(select(Territory.code, Territory.id)).all())


def summary(client, headers, territory: str, **extra) -> dict:  # noqa: ANN001
    query = {"territory_id": territory, "from": MONTH, "to": MONTH, **extra}
    response = client.get("/api/v1/forecasting/summary", query_string=query, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def child(body: dict, code: str) -> dict:
    return next(row for row in body["children"] if row["code"] == code)


def forecast(device: SyncDevice, category: str, amount: int, line: str = "ANALGESICS") -> str:
    record = new_id()
    fields = {"period": MONTH, "product_line": line, "category": category, "amount": amount}
    results = device.push(
        mutation("forecasts", "create", record, fields),
        mutation("forecasts", "update", record, {"status": "submitted"}, 1),
    )
    assert [r["status"] for r in results] == ["applied", "applied"], results
    return record


def test_nobody_sets_their_own_quota_and_a_manager_sets_those_below(app, client, codes):
    manager = headers_for(client, MANAGER, "tablet")
    rep = headers_for(client, MEDELLIN, "phone")
    admin = headers_for(client, "admin@example.com", "laptop")

    def put(headers: dict, territory: str, amount: int = 200):  # noqa: ANN202
        body = {
            "territory_id": codes[territory],
            "period": "2027-01",
            "product_line": "ANALGESICS",
            "amount": amount,
        }
        return client.put("/api/v1/forecasting/quotas", json=body, headers=headers)

    assert put(manager, "CO-BOG-01").status_code == 200
    own = put(manager, "CO-AND")
    assert own.status_code == 403 and own.get_json()["error"]["code"] == "own_quota"
    assert put(rep, "CO-ANT-01").status_code == 403
    assert put(manager, "CO-BAQ-01").status_code == 404  # outside the subtree
    assert put(admin, "CO-AND", 500).status_code == 200  # set from above
    body = summary(client, manager, codes["CO-AND"], **{"from": "2027-01", "to": "2027-01"})
    assert body["territory"]["quota"] == 500  # the region's own quota stands for its subtree
    assert child(body, "CO-BOG-01")["quota"] == 200


def test_an_annual_quota_spreads_over_months_to_the_cent(app, client, codes):
    admin = headers_for(client, "admin@example.com", "laptop")
    shares = [8.33] * 11 + [8.37]
    body = {
        "territory_id": codes["CO-BOG-01"],
        "year": 2027,
        "product_line": "ANTIBIOTICS",
        "annual_amount": 1000000.01,
        "distribution": shares,
    }
    spread = client.post("/api/v1/forecasting/quotas/spread", json=body, headers=admin)
    assert spread.status_code == 200, spread.get_json()
    amounts = [Decimal(str(q["amount"])) for q in spread.get_json()["items"]]
    assert len(amounts) == 12 and sum(amounts) == Decimal("1000000.01")
    assert amounts[0] == Decimal("83300.00")
    bad = client.post(
        "/api/v1/forecasting/quotas/spread",
        headers=admin,
        json={**body, "distribution": [8.33] * 12},
    )
    assert bad.status_code == 422


def test_forecasts_roll_up_and_adjustments_keep_history_and_survive_recomputation(
    app, client, codes
):
    medellin = SyncDevice(client, headers_for(client, MEDELLIN, "phone-m"))
    bogota = SyncDevice(client, headers_for(client, BOGOTA, "phone-b"))
    manager = headers_for(client, MANAGER, "tablet")
    forecast(medellin, "commit", 100)
    forecast(medellin, "best_case", 40)
    forecast(bogota, "commit", 70)
    forecast(bogota, "pipeline", 5)
    draft = new_id()  # a draft does not count until submitted
    medellin.push(
        mutation(
            "forecasts",
            "create",
            draft,
            {"period": MONTH, "product_line": "ANALGESICS", "category": "commit", "amount": 999},
        )
    )

    body = summary(client, manager, codes["CO-AND"])

    region = body["territory"]
    assert region["forecast"] == {"commit": 170, "best_case": 40, "pipeline": 5}
    assert region["forecast_cumulative"] == {"commit": 170, "commit_best_case": 210, "all": 215}
    assert child(body, "CO-ANT-01")["forecast"]["commit"] == 100

    change = {
        "territory_id": codes["CO-ANT-01"],
        "period": MONTH,
        "product_line": "ANALGESICS",
        "category": "commit",
        "amount": 80,
        "note": "the big hospital order slips to January",
    }
    made = client.post("/api/v1/forecasting/adjustments", json=change, headers=manager)
    assert made.status_code == 201
    no_note = client.post(
        "/api/v1/forecasting/adjustments", json={**change, "note": "  "}, headers=manager
    )
    assert no_note.get_json()["error"]["details"]["errors"][0]["path"] == "note"
    assert no_note.status_code == 422
    adjusted = summary(client, manager, codes["CO-AND"])
    assert adjusted["territory"]["forecast"]["commit"] == 170  # the reps' figures stay
    assert adjusted["territory"]["forecast_adjusted"]["commit"] == 150
    assert child(adjusted, "CO-ANT-01")["forecast_adjusted"]["commit"] == 80

    # a recomputation (sales rebuilt, a new forecast from the field) keeps the adjustment
    with app.app_context():
        sales.refresh(db.session)
        db.session.commit()
    forecast(bogota, "commit", 30)
    again = summary(client, manager, codes["CO-AND"])
    assert again["territory"]["forecast_adjusted"]["commit"] == 180  # 80 + 70 + 30

    reset = client.post(
        f"/api/v1/forecasting/adjustments/{made.get_json()['id']}/reset",
        json={"reason": "it did not slip"},
        headers=manager,
    )
    assert reset.status_code == 200 and reset.get_json()["reset_reason"] == "it did not slip"
    assert (
        summary(client, manager, codes["CO-AND"])["territory"]["forecast_adjusted"]["commit"] == 200
    )
    history = client.get(
        "/api/v1/forecasting/adjustments",
        headers=manager,
        query_string={"territory_id": codes["CO-ANT-01"], "from": MONTH, "to": MONTH},
    ).get_json()["items"]
    assert [(h["amount"], h["reset_reason"]) for h in history] == [(80, "it did not slip")]


def test_a_manager_cannot_see_or_adjust_outside_the_subtree(app, client, codes):
    manager = headers_for(client, MANAGER, "tablet")
    rep = headers_for(client, MEDELLIN, "phone")
    outside = {"territory_id": codes["CO-BAQ-01"], "from": MONTH, "to": MONTH}
    assert (
        client.get("/api/v1/forecasting/summary", query_string=outside, headers=manager).status_code
        == 404
    )
    adjust = client.post(
        "/api/v1/forecasting/adjustments",
        headers=manager,
        json={
            "territory_id": codes["CO-BAQ-01"],
            "period": MONTH,
            "product_line": "ANALGESICS",
            "category": "commit",
            "amount": 1,
            "note": "x",
        },
    )
    assert adjust.status_code == 404
    mine = summary(client, rep, codes["CO-ANT-01"])  # a rep reads their own territory
    assert mine["territory"]["code"] == "CO-ANT-01"
    assert (
        client.get(
            "/api/v1/forecasting/summary",
            headers=rep,
            query_string={**outside, "territory_id": codes["CO-AND"]},
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/api/v1/forecasting/adjustments",
            headers=rep,
            json={
                "territory_id": codes["CO-ANT-01"],
                "period": MONTH,
                "product_line": "ANALGESICS",
                "category": "commit",
                "amount": 1,
                "note": "x",
            },
        ).status_code
        == 403
    )


def test_attainment_counts_orders_the_erp_accepted_where_and_when_they_are_credited(
    app, client, codes
):
    device = SyncDevice(client, headers_for(client, MEDELLIN, "phone"))
    device.pull()
    account = next(
        a["id"] for a in device.records["accounts"].values() if a["code"] == "A-CO-ANT-01-1"
    )
    product = next(p["id"] for p in device.records["products"].values() if p["sku"] == "P-0001")
    order, line = new_id(), new_id()
    device.push(
        mutation(
            "orders",
            "create",
            order,
            {"account_id": account, "placed_at": "2026-12-01T04:00:00.000Z"},
        ),
        mutation(
            "order_lines",
            "create",
            line,
            {"order_id": order, "product_id": product, "quantity": 10},
        ),
        mutation("orders", "update", order, {"status": "submitted"}, 1),
    )
    manager = headers_for(client, MANAGER, "tablet")
    window = {"from": "2026-11", "to": "2026-12"}
    assert summary(client, manager, codes["CO-AND"], **window)["territory"]["attainment"] == {
        "booked": 0,
        "invoiced": 0,
    }  # fmt: skip  (not accepted yet)
    with app.app_context():
        now = datetime.now(UTC)
        for kind, extra in (
            ("order.accepted", {}),
            ("order.invoiced", {"lines": [{"line_id": line, "invoiced_quantity": 4}]}),
        ):
            orders.acknowledge(
                db.session,
                {
                    "delivery_id": new_id(),
                    "type": kind,
                    "order_id": order,
                    "occurred_at": now,
                    **extra,
                },
                now,
            )
        db.session.commit()
        total = db.session.execute(
            select(orders.Order.total, orders.Order.credited_period).where(orders.Order.id == order)
        ).one()
    assert total.credited_period == "2026-11"  # 23:00 on the 30th in Bogota
    body = summary(client, manager, codes["CO-AND"], **{"from": "2026-11", "to": "2026-11"})
    booked = body["territory"]["attainment"]["booked"]
    assert Decimal(str(booked)) == total.total
    assert Decimal(str(body["territory"]["attainment"]["invoiced"])) == total.total * 4 / 10
    assert child(body, "CO-ANT-01")["attainment"]["booked"] == booked
    assert (
        summary(client, manager, codes["CO-AND"], **window)["territory"]["attainment"]["booked"]
        == booked
    )
    assert (
        summary(client, manager, codes["CO-AND"], **{"from": "2026-12", "to": "2026-12"})[
            "territory"
        ]["attainment"]["booked"]
        == 0
    )


@pytest.mark.parametrize(
    "query",
    [
        {"from": "2026-13", "to": "2026-12"},
        {"from": "2026-12", "to": "2026-01"},
        {"from": "2020-01", "to": "2026-12"},
        {"from": "december"},
    ],
)
def test_bad_windows_are_a_422(client, codes, query):
    manager = headers_for(client, MANAGER, "tablet")
    response = client.get(
        "/api/v1/forecasting/summary",
        headers=manager,
        query_string={"territory_id": codes["CO-AND"], "to": "2026-12", **query},
    )
    assert response.status_code == 422


def test_weekly_snapshots_and_the_difference_between_two(app, client, codes, monkeypatch):
    from click.testing import CliRunner

    from sfa.cli.main import cli

    medellin = SyncDevice(client, headers_for(client, MEDELLIN, "phone-m"))
    manager = headers_for(client, MANAGER, "tablet")
    forecast(medellin, "commit", 100)
    for name, value in {"SFA_DATABASE_URL": app.config["DATABASE_URL"], "SFA_SECRET_KEY": "x",
                        "SFA_LOG_LEVEL": "WARNING"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    ran = CliRunner().invoke(cli, ["scheduler"])  # this week has no snapshot yet: one is taken
    assert ran.exit_code == 0 and "forecast snapshot" in ran.output, ran.output
    again = CliRunner().invoke(cli, ["scheduler"])
    assert "forecast snapshot" not in again.output  # one a week
    (first,) = client.get("/api/v1/forecasting/snapshots", headers=manager).get_json()["items"]

    forecast(medellin, "commit", 20)
    client.post(
        "/api/v1/forecasting/adjustments",
        headers=manager,
        json={
            "territory_id": codes["CO-BOG-01"],
            "period": MONTH,
            "product_line": "ANALGESICS",
            "category": "best_case",
            "amount": 7,
            "note": "a new pharmacy chain",
        },
    )
    second = client.post("/api/v1/forecasting/snapshots", headers=manager)
    assert second.status_code == 201
    rep = headers_for(client, MEDELLIN, "phone-2")
    assert client.post("/api/v1/forecasting/snapshots", headers=rep).status_code == 403

    diff = client.get(
        "/api/v1/forecasting/snapshots/diff",
        headers=manager,
        query_string={
            "territory_id": codes["CO-AND"],
            "from": MONTH,
            "to": MONTH,
            "before": first["id"],
            "after": second.get_json()["id"],
        },
    ).get_json()

    rows = {row["code"]: row for row in diff["rows"]}
    assert rows["CO-AND"]["before"]["commit"] == 100 and rows["CO-AND"]["after"]["commit"] == 120
    assert rows["CO-AND"]["change"] == {"commit": 20, "best_case": 7, "pipeline": 0}
    assert rows["CO-BOG-01"]["change"]["best_case"] == 7
    assert set(rows) == {"CO-AND", "CO-ANT-01", "CO-BOG-01"}
