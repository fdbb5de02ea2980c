"""Pricing rules arrive with the master-data import, read as strictly as devices read them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from sfa.catalog.models import PricingRule
from sfa.db import db
from sfa.errors import ValidationFailed
from tests.builders import headers_for, load, snapshot, world
from tests.sync_helpers import SyncDevice


def with_rules(*rules: dict) -> dict:
    document = world()
    document["pricing_rules"] = list(rules)
    return document


def rule(**fields) -> dict:
    return {"code": "R-1", "kind": "discount", "percent": 5, **fields}


@pytest.mark.parametrize(
    "bad, path",
    [
        (rule(kind="bonus", percent=None, buy=20, free=1, mode="on_top"), "pricing_rules[0]"),
        (rule(percent=None), "pricing_rules[0]"),
        (rule(percent=101), "pricing_rules[0].percent"),
        (rule(percent=5.00001), "pricing_rules[0].percent"),
        (rule(sku="P-9999"), "pricing_rules[0].sku"),
        (rule(account="A-NOPE"), "pricing_rules[0].account"),
        (rule(product_line="NO-SUCH-LINE"), "pricing_rules[0].product_line"),
        (rule(sku="P-0001", product_line="ANALGESICS"), "pricing_rules[0]"),
        (rule(valid_from="2026-12-31", valid_to="2026-01-01"), "pricing_rules[0]"),
        (
            rule(
                kind="volume_band",
                percent=None,
                bands=[{"min_quantity": 50, "percent": 5}, {"min_quantity": 10, "percent": 2}],
            ),
            "pricing_rules[0]",
        ),
        (rule(surprise=True), "pricing_rules[0].surprise"),
    ],
)
def test_a_rule_devices_could_not_read_is_refused_with_its_place(app, bad, path):
    load(app)
    before = snapshot(app)
    with pytest.raises(ValidationFailed) as refused:
        load(app, with_rules(bad))
    paths = [error["path"] for error in refused.value.details["errors"]]
    assert any(p.startswith(path) for p in paths), paths
    assert snapshot(app) == before


def test_rules_reach_every_device_and_a_reimport_changes_nothing(app, client):
    document = world()
    load(app, document)
    device = SyncDevice(client, headers_for(client, "rep.medellin@example.com"))
    device.pull()
    rules = {r["id"]: r for r in device.records["pricing_rules"].values()}
    assert rules["ANALGESICS-20-1"]["buy"] == 20 and rules["ANALGESICS-20-1"]["percent"] is None
    assert rules["P-0001-VOLUME"]["bands"][1] == {"min_quantity": 100, "percent": 7.5}
    assert load(app, document).changed is False
    assert device.pull() == {}
    document["pricing_rules"][0]["active"] = False
    load(app, document)
    assert device.pull()["pricing_rules"]["upserts"][0]["active"] is False
    with app.app_context():
        assert (
            db.session.scalar(select(PricingRule.active).where(PricingRule.id == "ANALGESICS-20-1"))
            is False
        )
