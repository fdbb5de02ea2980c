"""Tombstones are kept for the offline horizon and forgotten after it; devices' last pulls are
recorded for sync compliance."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from sfa.catalog.models import PriceListItem
from sfa.columns import utcnow
from sfa.db import db
from sfa.sync.housekeeping import purge
from sfa.sync.models import DeviceSyncStatus, Tombstone
from tests.builders import headers_for, load
from tests.sync_helpers import SyncDevice

HORIZON = 90 * 86400


def delete_a_price(app) -> None:
    with app.app_context():
        db.session.delete(db.session.scalars(select(PriceListItem)).first())
        db.session.commit()


def tombstones(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Tombstone))


def test_tombstones_within_the_horizon_are_kept_and_older_ones_purged(app):
    load(app)
    delete_a_price(app)
    delete_a_price(app)
    with app.app_context():
        oldest = db.session.scalars(select(Tombstone).order_by(Tombstone.id)).first()
        db.session.execute(
            update(Tombstone)
            .where(Tombstone.id == oldest.id)
            .values(deleted_at=utcnow() - timedelta(days=91))
        )
        db.session.commit()
        removed = purge(db.session, utcnow(), HORIZON)
    assert removed["tombstones"] == 1
    assert tombstones(app) == 1


def test_a_deletion_within_the_horizon_still_reaches_a_device_after_purging(app, client):
    load(app)
    device = SyncDevice(client, headers_for(client, "rep.medellin@example.com"))
    device.pull()
    delete_a_price(app)
    with app.app_context():
        purge(db.session, utcnow(), HORIZON)
    assert len(device.pull()["price_list_items"]["removals"]) == 1


def test_a_complete_pull_records_the_devices_last_sync(app, client):
    load(app)
    device = SyncDevice(client, headers_for(client, "rep.medellin@example.com"))
    device.pull()
    with app.app_context():
        (status,) = db.session.scalars(select(DeviceSyncStatus))
        assert status.last_pull_at > utcnow() - timedelta(minutes=1)
        assert status.last_push_at is None
