"""Realignment: models drafted, dry-run, scheduled and activated; history kept; orders
credited as of their date; devices follow with one sync and no ghosts."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, text

from sfa import audit
from sfa.accounts.models import Account
from sfa.db import db
from sfa.orders.models import Order
from sfa.territories import history, realign
from sfa.territories.models import AccountTerritoryHistory, Territory
from tests.builders import headers_for, load, world
from tests.sync_helpers import SyncDevice, mutation, new_id

TZ = "America/Bogota"
FIRST = date(2026, 12, 1)  # the realignment takes effect on the 1st
BEFORE, ON = date(2026, 11, 23), datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
MEDELLIN, BOGOTA = "rep.medellin@example.com", "rep.bogota@example.com"


def big_world(per_territory: int = 600) -> dict:
    """Medellin and Bogota with ``per_territory`` accounts each, in two cities per territory,
    every account with a contact."""
    document = world()
    document["accounts"], document["contacts"] = [], []
    for territory, cities in (("CO-ANT-01", ("Medellin", "Envigado")),
                              ("CO-BOG-01", ("Bogota", "Soacha"))):  # fmt: skip
        for n in range(per_territory):
            code = f"A-{territory}-{n:04d}"
            document["accounts"].append({
                "code": code, "name": f"Drogueria {n}", "kind": "pharmacy",
                "city": cities[n % 2], "postal_code": f"{5000 + n:06d}", "channel": "retail",
                "territory": territory, "price_list": "RETAIL", "tax_id": f"9{n:08d}",
            })  # fmt: skip
            document["contacts"].append(
                {"code": f"C-{code}", "account": code, "name": f"Dr. {n}", "specialty": "gp"}
            )
    return document


def ids_by_code(app) -> dict[str, str]:  # noqa: ANN001
    with app.app_context():
        return dict(db.session.execute(select(Territory.code, Territory.id)).all())


def draft(app, rules: list[tuple[str, int, dict]], name: str = "2027") -> str:  # noqa: ANN001
    codes = ids_by_code(app)
    with app.app_context():
        model = realign.create_model(db.session, name, None, datetime.now(UTC))
        for territory, priority, condition in rules:
            realign.add_rule(db.session, model.id, codes[territory], priority, condition, None,
                             datetime.now(UTC))  # fmt: skip
        db.session.commit()
        return model.id


def by_city(*cities: str) -> dict:
    return {"field": "city", "op": "in", "value": list(cities)}


# with 800 accounts a territory (400 a city): Envigado's 400 go to Bogota and Soacha's 400 to
# Medellin, and 200 of Medellin's by postal code to Bogota: 1,000 accounts move
SWAP = [
    ("CO-AND", 0, {"field": "kind", "op": "eq", "value": "pharmacy"}),
    ("CO-ANT-01", 1, by_city("Medellin", "Soacha")),
    ("CO-BOG-01", 1, by_city("Bogota", "Envigado")),
    ("CO-BOG-01", 5, {"all": [by_city("Medellin"),
                              {"field": "postal_code", "op": "between",
                               "value": ["005000", "005399"]}]}),
]  # fmt: skip


def credited(app) -> dict[str, str]:  # noqa: ANN001
    with app.app_context():
        return dict(db.session.execute(select(Order.id, Order.credited_territory_id)).all())


def place_order(device: SyncDevice, account: str, product: str, placed: datetime) -> str:
    order = new_id()
    when = placed.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    results = device.push(
        mutation("orders", "create", order, {"account_id": account, "placed_at": when}),
        mutation("order_lines", "create", new_id(),
                 {"order_id": order, "product_id": product, "quantity": 1}),
        mutation("orders", "update", order, {"status": "submitted"}, 1),
    )  # fmt: skip
    assert [r["status"] for r in results] == ["applied"] * 3, results
    return order


def first_sync_of(client, email: str, device: str) -> dict[str, set[str]]:  # noqa: ANN001
    fresh = SyncDevice(client, headers_for(client, email, device))
    fresh.pull()
    return {entity: set(records) for entity, records in fresh.records.items() if records}


def held(device: SyncDevice) -> dict[str, set[str]]:
    return {entity: set(records) for entity, records in device.records.items() if records}


def test_a_realignment_of_1000_accounts_credits_orders_by_date_and_devices_follow(app, client):
    load(app, big_world(800))
    medellin = SyncDevice(client, headers_for(client, MEDELLIN, "phone-m"))
    bogota = SyncDevice(client, headers_for(client, BOGOTA, "phone-b"))
    medellin.pull(), bogota.pull()
    product = next(iter(medellin.records["products"]))
    envigado = next(a["id"] for a in medellin.records["accounts"].values()
                    if a["city"] == "Envigado")  # fmt: skip
    before_first = place_order(medellin, envigado, product, datetime(2026, 11, 30, 20, tzinfo=UTC))
    # placed on the 1st (Bogota time) before the realignment ran that day
    early_on_first = place_order(medellin, envigado, product, datetime(2026, 12, 1, 6, tzinfo=UTC))
    late_night = place_order(medellin, envigado, product, datetime(2026, 12, 1, 4, tzinfo=UTC))
    model = draft(app, SWAP)
    with app.app_context():
        past = {(r.id, r.territory_id, r.valid_from, r.valid_to)
                for r in db.session.scalars(select(AccountTerritoryHistory))}  # fmt: skip
        realign.schedule(db.session, model, FIRST, None, BEFORE, datetime.now(UTC))
        db.session.commit()
        assert realign.run_due(db.session, BEFORE, datetime.now(UTC), TZ) == []  # not yet
        (done,) = realign.run_due(db.session, FIRST, ON, TZ)
    codes = ids_by_code(app)
    old, new = codes["CO-ANT-01"], codes["CO-BOG-01"]

    assert done[0].status == "active" and len(done[1].moves) == 1000
    credit = credited(app)
    assert credit[before_first] == old  # the 30th (Bogota time): the old territory
    assert credit[late_night] == old  # 23:00 on the 30th in Bogota, though the 1st in UTC
    assert credit[early_on_first] == new  # the 1st: the new one, though submitted before
    with app.app_context():
        after = {(r.id, r.territory_id, r.valid_from, r.valid_to)
                 for r in db.session.scalars(select(AccountTerritoryHistory))}  # fmt: skip
        closed_before = {r for r in past if r[3] is not None}
        assert closed_before <= after  # no closed period touched
        changed = {r[0] for r in past} & {r[0] for r in after - past}
        rows_now = {r[0]: r for r in after}
        assert all(rows_now[i][3] == FIRST for i in changed)  # open ones closed on the 1st only
        assert history.territory_on(db.session, envigado, FIRST - timedelta(days=1)) == old
        assert history.territory_on(db.session, envigado, FIRST) == new

    # each rep's device converges with one sync, and keeps nothing outside its scope
    medellin.pull(), bogota.pull()
    assert held(medellin) == first_sync_of(client, MEDELLIN, "phone-m2")
    assert held(bogota) == first_sync_of(client, BOGOTA, "phone-b2")
    with app.app_context():
        territory_of = dict(db.session.execute(select(Account.id, Account.territory_id)).all())
    assert {territory_of[a] for a in medellin.records["accounts"]} == {old}
    assert {territory_of[a] for a in bogota.records["accounts"]} == {new}
    assert (len(medellin.records["accounts"]), len(bogota.records["accounts"])) == (600, 1000)
    moved_in = {a for a, (_, to) in done[1].moves.items() if to == old}
    assert moved_in <= set(medellin.records["accounts"])
    assert all(c["account_id"] in medellin.records["accounts"]
               for c in medellin.records["contacts"].values())  # fmt: skip


def test_the_dry_run_is_what_activation_does_and_excluded_and_placed_accounts_stay(app):
    load(app, big_world(60))
    codes = ids_by_code(app)
    with app.app_context():
        accounts = dict(db.session.execute(select(Account.code, Account.id)).all())
        realign.set_excluded(db.session, accounts["A-CO-ANT-01-0001"], True, None,
                             datetime.now(UTC))  # Envigado: would move, excluded  # fmt: skip
        db.session.commit()
    model = draft(app, SWAP)
    with app.app_context():
        realign.place(db.session, model, accounts["A-CO-ANT-01-0003"], codes["CO-ANT-01"],
                      "key account", None, datetime.now(UTC))  # Envigado, kept by hand  # fmt: skip
        realign.place(db.session, model, accounts["A-CO-ANT-01-0000"], codes["CO-BAQ-01"],
                      "moved by hand", None, datetime.now(UTC))  # fmt: skip
        db.session.commit()
        before = dict(db.session.execute(select(Account.id, Account.territory_id)).all())
        dry = realign.dry_run(db.session, model)
        assert dict(db.session.execute(select(Account.id, Account.territory_id)).all()) == before
        realign.activate(db.session, model, None, date.today(), datetime.now(UTC), TZ)
        db.session.commit()
        after = dict(db.session.execute(select(Account.id, Account.territory_id)).all())

    actual = {a: (before[a], after[a]) for a in after if after[a] != before[a]}
    assert actual == dry.moves and len(actual) > 0
    assert after[accounts["A-CO-ANT-01-0001"]] == codes["CO-ANT-01"]  # excluded
    assert accounts["A-CO-ANT-01-0001"] in dry.excluded
    assert after[accounts["A-CO-ANT-01-0003"]] == codes["CO-ANT-01"]  # placed where it was
    assert after[accounts["A-CO-ANT-01-0000"]] == codes["CO-BAQ-01"]  # placed elsewhere
    assert after[accounts["A-CO-ANT-01-0005"]] == codes["CO-BOG-01"]  # an Envigado one, ruled


def test_a_realignment_touching_10_percent_costs_under_2_percent_of_a_full_download(app, client):
    load(app, big_world(500))
    medellin = SyncDevice(client, headers_for(client, MEDELLIN, "phone-m"))
    full = client.get("/api/v1/sync/pull", query_string={"limit": 5000},
                      headers={**medellin.headers, "X-SFA-Protocol": "1"})  # fmt: skip
    medellin.pull()
    full_bytes = len(full.get_data())
    # 50 of Medellin's 500 accounts (postal codes 005000-005049) go to Bogota
    model = draft(app, [
        ("CO-ANT-01", 1, {"field": "city", "op": "in", "value": ["Medellin", "Envigado"]}),
        ("CO-BOG-01", 5, {"field": "postal_code", "op": "between", "value": ["005000", "005049"]}),
    ])  # fmt: skip
    with app.app_context():
        found = realign.activate(db.session, model, None, date.today(), datetime.now(UTC), TZ)
        db.session.commit()
    moved_from_medellin = sum(1 for before, _ in found.moves.values()
                              if before == ids_by_code(app)["CO-ANT-01"])  # fmt: skip
    assert moved_from_medellin == 50

    delta = client.get("/api/v1/sync/pull", query_string={"cursor": medellin.cursor, "limit": 5000},
                       headers={**medellin.headers, "X-SFA-Protocol": "1"})  # fmt: skip
    body = delta.get_json()
    assert len(body["changes"]["accounts"]["removals"]) == 50
    assert len(delta.get_data()) < 0.02 * full_bytes, (len(delta.get_data()), full_bytes)


def test_a_past_date_is_refused_and_a_future_one_waits_for_its_day(app, client):
    load(app)
    model = draft(app, SWAP)
    admin = headers_for(client, "admin@example.com", "admin-laptop")
    past = client.post(f"/api/v1/admin/realignments/{model}/schedule",
                       json={"effective_date": "2020-01-01"}, headers=admin)  # fmt: skip
    assert past.status_code == 422
    future = (date.today() + timedelta(days=30)).isoformat()
    scheduled = client.post(f"/api/v1/admin/realignments/{model}/schedule",
                            json={"effective_date": future}, headers=admin)  # fmt: skip
    assert scheduled.status_code == 200 and scheduled.get_json()["status"] == "scheduled"
    early = client.post(f"/api/v1/admin/realignments/{model}/activate", headers=admin)
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "not_yet_effective"
    other = draft(app, SWAP, name="other")
    twice = client.post(f"/api/v1/admin/realignments/{other}/schedule",
                        json={"effective_date": future}, headers=admin)  # fmt: skip
    assert twice.status_code == 409
    late_rule = {"territory_id": ids_by_code(app)["CO-ANT-01"], "condition": by_city("X")}
    rule = client.post(f"/api/v1/admin/realignments/{model}/rules", json=late_rule, headers=admin)
    assert rule.status_code == 409  # only drafts change
    cancelled = client.post(f"/api/v1/admin/realignments/{model}/cancel", headers=admin)
    assert cancelled.get_json()["status"] == "cancelled"


def test_the_admin_api_drafts_diffs_and_activates_and_everything_is_audited(app, client):
    load(app)
    admin = headers_for(client, "admin@example.com", "admin-laptop")
    codes = ids_by_code(app)
    created = client.post("/api/v1/admin/realignments", json={"name": "Q1"}, headers=admin)
    assert created.status_code == 201
    model = created.get_json()["id"]
    unknown_field = {"field": "salary", "op": "eq", "value": "x"}
    bad_rule = {"territory_id": codes["CO-BOG-01"], "condition": unknown_field}
    bad = client.post(f"/api/v1/admin/realignments/{model}/rules", json=bad_rule, headers=admin)
    assert bad.status_code == 422
    assert bad.get_json()["error"]["details"]["errors"][0]["path"] == "condition.field"
    rule = client.post(f"/api/v1/admin/realignments/{model}/rules", headers=admin,
                       json={"territory_id": codes["CO-BOG-01"], "priority": 2,
                             "condition": {"field": "code", "op": "eq",
                                           "value": "A-CO-ANT-01-1"}})  # fmt: skip
    assert rule.status_code == 201
    diff = client.get(f"/api/v1/admin/realignments/{model}/diff", headers=admin).get_json()
    assert diff["moving"] == 1 and diff["unmatched"] == diff["accounts"] - 1
    assert diff["changes"][codes["CO-BOG-01"]]["added"] != []
    done = client.post(f"/api/v1/admin/realignments/{model}/activate", headers=admin)
    assert done.status_code == 200 and done.get_json()["model"]["status"] == "active"
    again = client.post(f"/api/v1/admin/realignments/{model}/activate", headers=admin)
    assert again.status_code == 409
    rep = headers_for(client, MEDELLIN, "rep-phone")
    assert client.get(f"/api/v1/admin/realignments/{model}/diff", headers=rep).status_code == 403
    account = diff["changes"][codes["CO-BOG-01"]]["added"][0]
    periods = client.get(f"/api/v1/admin/accounts/{account}/territory-history",
                         headers=admin).get_json()["periods"]  # fmt: skip
    assert [p["territory_id"] for p in periods] == [codes["CO-ANT-01"], codes["CO-BOG-01"]]
    assert periods[0]["valid_to"] == periods[1]["valid_from"] == date.today().isoformat()
    trail = client.get("/api/v1/admin/audit", query_string={"entity": "territory_model"},
                       headers=admin).get_json()["items"]  # fmt: skip
    assert [e["action"] for e in trail] == ["activated", "created"]
    assert trail[0]["after"]["territories"] == {account: codes["CO-BOG-01"]}
    assert trail[0]["actor_id"] is not None


def test_the_audit_trail_cannot_be_rewritten(app):
    load(app)
    with app.app_context():
        audit.record(db.session, None, "territory", "t", "created", None, {"code": "X"})
        db.session.commit()
        for statement in ("UPDATE audit_log SET action = 'forged'", "DELETE FROM audit_log"):
            with pytest.raises(Exception, match="append-only"):
                db.session.execute(text(statement))
            db.session.rollback()
        assert db.session.scalar(select(audit.AuditEntry.action)) == "created"


def test_a_realignment_file_drives_the_cli(app, monkeypatch, tmp_path):
    from click.testing import CliRunner

    from sfa.cli.main import cli

    load(app, big_world(10))
    for name, value in {"SFA_DATABASE_URL": app.config["DATABASE_URL"], "SFA_SECRET_KEY": "x",
                        "SFA_LOG_LEVEL": "WARNING"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({
        "name": "2027 plan",
        "rules": [{"territory": "CO-BOG-01", "priority": 1, "condition": by_city("Envigado")}],
        "placements": [{"account": "A-CO-ANT-01-0000", "territory": "CO-BAQ-01"}],
    }))  # fmt: skip
    runner = CliRunner()
    made = runner.invoke(cli, ["realign", "create", str(plan)])
    assert made.exit_code == 0, made.output
    model = made.output.split()[2].rstrip(":")
    shown = runner.invoke(cli, ["realign", "diff", model])
    assert "6 move" in shown.output and "CO-BAQ-01" in shown.output, shown.output
    done = runner.invoke(cli, ["realign", "activate", model])
    assert done.exit_code == 0 and "6 accounts moved" in done.output, done.output
    listed = runner.invoke(cli, ["realign", "list"])
    assert "active" in listed.output and "moved 6" in listed.output
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"name": "x", "rules": [
        {"territory": "CO-BOG-01", "condition": {"field": "city", "op": "near"}}]}))  # fmt: skip
    refused = runner.invoke(cli, ["realign", "create", str(broken)])
    assert refused.exit_code != 0 and "condition.op" in refused.output
