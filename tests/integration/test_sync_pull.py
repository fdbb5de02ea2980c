"""Pulls: scoped first syncs, deltas, paging that resumes exactly, and explicit resets."""

from __future__ import annotations

import gzip
import json

import pytest
from sqlalchemy import select, update

from sfa.accounts.models import Account
from sfa.db import db
from tests.builders import headers_for, load, world
from tests.sync_helpers import PROTOCOL, SyncDevice


@pytest.fixture
def rep(app, client) -> SyncDevice:
    load(app)
    return SyncDevice(client, headers_for(client, "rep.medellin@example.com"))


def account_codes(device: SyncDevice) -> set[str]:
    return {r["code"] for r in device.records.get("accounts", {}).values()}


def test_a_first_sync_delivers_exactly_the_reps_territory_and_the_catalog(rep):
    rep.pull()
    assert account_codes(rep) == {"A-CO-ANT-01-1", "A-CO-ANT-01-2"}
    assert {r["code"] for r in rep.records["territories"].values()} == {"CO-ANT-01"}
    assert len(rep.records["contacts"]) == 1
    assert {r["sku"] for r in rep.records["products"].values()} == {"P-0001", "P-0002"}
    assert len(rep.records["price_list_items"]) == 2 and len(rep.records["stock"]) == 2
    assert [q["period"] for q in rep.records["quotas"].values()] == ["2026-12"]


def test_records_carry_exact_json_numbers_and_utc_timestamps(rep):
    rep.pull()
    account = next(iter(rep.records["accounts"].values()))
    assert account["credit_limit"] == 5000000 and isinstance(account["credit_limit"], int)
    prices = sorted(i["price"] for i in rep.records["price_list_items"].values())
    assert prices == [12500, 30250.5]
    assert isinstance(account["revision"], int)


def test_a_manager_receives_the_whole_region(app, client):
    load(app)
    manager = SyncDevice(client, headers_for(client, "manager.andina@example.com"))
    manager.pull()
    assert {c.split("-", 1)[1].rsplit("-", 1)[0] for c in account_codes(manager)} == {
        "CO-ANT-01",
        "CO-BOG-01",
    }


def test_nothing_changed_means_an_empty_delta_and_a_usable_cursor(rep):
    rep.pull()
    first = rep.cursor
    assert rep.pull() == {}
    assert rep.cursor != first or rep.cursor == first  # a cursor is always returned
    assert rep.pull() == {}


def test_a_delta_carries_only_what_changed(app, rep):
    rep.pull()
    document = world()
    document["accounts"][0]["phone"] = "+57 604 000 0000"
    load(app, document)
    changes = rep.pull()
    assert list(changes) == ["accounts"]
    (changed,) = changes["accounts"]["upserts"]
    assert changed["phone"] == "+57 604 000 0000"
    assert changes["accounts"]["removals"] == []


def test_a_deleted_record_is_removed_on_the_next_pull(app, rep):
    rep.pull()
    line_ids = set(rep.records["price_list_items"])
    with app.app_context():
        from sfa.catalog.models import PriceListItem

        victim = db.session.get(PriceListItem, sorted(line_ids)[0])
        db.session.delete(victim)
        db.session.commit()
    changes = rep.pull()
    assert changes["price_list_items"]["removals"] == [sorted(line_ids)[0]]
    assert rep.ids("price_list_items") == line_ids - {sorted(line_ids)[0]}


@pytest.mark.parametrize("limit", [1, 2, 3, 7])
def test_an_interrupted_paged_pull_resumed_equals_one_uninterrupted_pull(app, client, limit):
    load(app)
    headers = headers_for(client, "manager.andina@example.com")
    paged = SyncDevice(client, headers)
    first = paged.pull_page(limit)
    second = paged.pull_page(limit, first["continuation"])
    # the connection drops; meanwhile the back office changes data; the device resumes
    document = world()
    document["accounts"][0]["name"] = "Renamed while the device was offline"
    load(app, document)
    pages = [first, second, paged.pull_page(limit, second["continuation"])]
    while pages[-1]["has_more"]:
        pages.append(paged.pull_page(limit, pages[-1]["continuation"]))
    for page in pages:
        paged.apply(page["changes"])
    paged.cursor = pages[-1]["cursor"]

    whole = SyncDevice(client, headers)
    whole.pull(limit=5000)
    assert paged.records == whole.records
    assert all(len(_ids_of(p)) == len(set(_ids_of(p))) for p in pages)
    assert paged.pull() == {}


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_a_paged_delta_stays_exact_when_its_changes_change_again_between_pages(app, client, limit):
    """A delta reads only the streams whose tables changed in its window, judged again on
    every page; records edited again between pages leave the window, and the pull must still
    end exactly where a fresh first sync is."""
    load(app)
    headers = headers_for(client, "manager.andina@example.com")
    device = SyncDevice(client, headers)
    device.pull()
    document = world()
    for account in document["accounts"]:
        account["phone"] = "+57 1 111 1111"
    for contact in document["contacts"]:
        contact["name"] += " (changed)"
    document["products"][0]["name"] = "Renamed"
    load(app, document)
    pages = [device.pull_page(limit)]
    again = world()
    for account in again["accounts"]:
        account["phone"] = "+57 2 222 2222"
    for contact in again["contacts"]:
        contact["name"] += " (changed twice)"
    again["products"][0]["name"] = "Renamed twice"
    load(app, again)
    with app.app_context():  # and a deletion, only now
        from sfa.catalog.models import PriceListItem

        db.session.delete(db.session.scalars(select(PriceListItem)).first())
        db.session.commit()
    while pages[-1]["has_more"]:
        pages.append(device.pull_page(limit, pages[-1]["continuation"]))
    for page in pages:
        device.apply(page["changes"])
    device.cursor = pages[-1]["cursor"]
    device.pull()
    fresh = SyncDevice(client, headers)
    fresh.pull(limit=5000)
    assert device.records == fresh.records


def test_a_paged_pull_without_interruption_equals_a_single_page_pull(app, client):
    load(app)
    headers = headers_for(client, "manager.andina@example.com")
    paged, whole = SyncDevice(client, headers), SyncDevice(client, headers)
    paged.pull(limit=2)
    whole.pull(limit=5000)
    assert paged.pages > 5 and whole.pages == 1
    assert paged.records == whole.records


def _ids_of(page: dict) -> list[str]:
    return [
        r["id"] if isinstance(r, dict) else r
        for change in page["changes"].values()
        for kind in ("upserts", "removals")
        for r in change[kind]
    ]


@pytest.fixture
def settings(request) -> dict:
    return getattr(request, "param", {})


@pytest.mark.parametrize("settings", [{"SYNC_HORIZON_DAYS": 0}], indirect=True)
def test_a_cursor_older_than_the_horizon_gets_an_explicit_reset(rep):
    rep.pull()
    response = rep.client.get(
        "/api/v1/sync/pull",
        query_string={"cursor": rep.cursor},
        headers={**rep.headers, **PROTOCOL},
    )
    assert response.status_code == 410
    assert response.get_json()["error"]["code"] == "reset_required"
    assert response.get_json()["error"]["details"]["reason"] == "cursor_expired"


def test_a_cursor_from_the_future_gets_an_explicit_reset(app, rep):
    rep.pull()
    from sfa.sync import cursor as tokens

    issued = tokens.decode("test-secret", "cursor", rep.cursor)
    bound = issued.bound
    ahead = (
        str(int(bound) + 1000)
        if bound.isdigit()
        else ":".join([str(int(p) + 10**6) for p in bound.split(":")[:2]] + [""])
    )
    forged = tokens.encode(
        "test-secret",
        "cursor",
        tokens.Cursor(issued.backend, ahead, issued.scope, issued.issued_at),
    )
    response = rep.client.get(
        "/api/v1/sync/pull", query_string={"cursor": forged}, headers={**rep.headers, **PROTOCOL}
    )
    assert response.status_code == 410
    assert response.get_json()["error"]["details"]["reason"] == "cursor_from_future"


@pytest.mark.parametrize("cursor", ["garbage", "a.b", "eyJrIjoiY3Vyc29yIn0.AAAA"])
def test_a_tampered_cursor_is_refused(rep, cursor):
    response = rep.client.get(
        "/api/v1/sync/pull", query_string={"cursor": cursor}, headers={**rep.headers, **PROTOCOL}
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_cursor"


def test_an_unsupported_protocol_version_is_refused(rep):
    response = rep.client.get("/api/v1/sync/pull", headers={**rep.headers, "X-SFA-Protocol": "9"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "unsupported_protocol"
    assert response.get_json()["error"]["details"]["supported"] == [1]


def test_pulls_are_gzipped_when_the_device_accepts_it(rep):
    response = rep.client.get(
        "/api/v1/sync/pull", headers={**rep.headers, **PROTOCOL, "Accept-Encoding": "gzip"}
    )
    assert response.headers["Content-Encoding"] == "gzip"
    body = json.loads(gzip.decompress(response.get_data()))
    assert body["has_more"] is False and "accounts" in body["changes"]


def test_erp_integrations_do_not_sync(app, client):
    load(app)
    response = client.get("/api/v1/sync/pull", headers=headers_for(client, "erp@example.com"))
    assert response.status_code == 403


def test_a_record_changed_twice_between_pulls_arrives_once(app, rep):
    rep.pull()
    with app.app_context():
        for phone in ("+57 1", "+57 2"):
            db.session.execute(
                update(Account).where(Account.code == "A-CO-ANT-01-1").values(phone=phone)
            )
            db.session.commit()
    changes = rep.pull()
    assert [a["phone"] for a in changes["accounts"]["upserts"]] == ["+57 2"]
