"""``sfa simulate``: a small fleet against the in-process server, on each backend.

The report's ``syncs`` are the daily syncs only (reps × days); each device's first sync, its
catch-up sync after the last day and the fresh device of the convergence check are counted
apart (``first syncs``, ``catch-up syncs``).
"""

from __future__ import annotations

import random
import re
from datetime import date

import pytest
from click.testing import CliRunner, Result
from flask import Flask

from mobile_protocol.client import Device, LocalStore
from sfa.cli.main import cli
from sfa.simulate import InProcessTransport
from sfa.simulate.field_day import FieldDay
from tests.builders import PASSWORD, load

REPS, DAYS = 4, 2
FIGURE = re.compile(r"^ +(\S.*?)\s{2,}([\d,.]+|-)(?:\s{2}.*)?$")


def simulate(app: Flask, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    for name, value in {
        "SFA_DATABASE_URL": app.config["DATABASE_URL"],
        "SFA_PASSWORD_MEMORY_KIB": "1024",
        "SFA_PASSWORD_ITERATIONS": "1",
        "SFA_LOG_LEVEL": "WARNING",
        "SFA_SECRET_KEY": "test-secret",
    }.items():
        monkeypatch.setenv(name, value)
    return CliRunner().invoke(cli, ["simulate", *args])


def figures(output: str) -> dict[str, float]:
    """The report's table as {label: value}."""
    found = {}
    for line in output.splitlines():
        if (match := FIGURE.match(line)) and match[2] != "-":
            found[match[1].strip()] = float(match[2].replace(",", ""))
    return found


def test_a_small_fleet_works_for_days_meets_the_back_office_and_converges(app, monkeypatch):
    result = simulate(
        app, monkeypatch, "--reps", str(REPS), "--days", str(DAYS), "--accounts-per-rep", "5",
        "--seed", "7",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    report = figures(result.output)
    assert report["first syncs"] == REPS
    assert report["syncs"] == REPS * DAYS
    assert report["catch-up syncs"] == REPS
    assert report["errors"] == 0
    assert report["mutations pushed"] > 0
    assert report["mutations pushed"] == sum(
        report[status] for status in ("applied", "merged", "rejected", "duplicates")
    )
    assert report["back-office edits"] >= DAYS
    assert report["reassigned accounts"] >= DAYS
    assert report["conflicts"] > 0
    assert report["merged"] > 0
    assert "converged: yes (0 of 4 devices differ" in result.output


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_devices_that_miss_removals_are_reported_as_not_converged(app, monkeypatch):
    deliver = InProcessTransport.request

    def drop_removals(self, method, path, **kwargs):  # noqa: ANN001, ANN202
        response = deliver(self, method, path, **kwargs)
        for change in (response.body or {}).get("changes", {}).values():
            change["removals"] = []  # a faulty device: what left its scope stays on it
        return response

    monkeypatch.setattr(InProcessTransport, "request", drop_removals)

    result = simulate(
        app, monkeypatch, "--reps", "4", "--days", "1", "--accounts-per-rep", "3", "--quiet"
    )

    assert result.exit_code == 1
    assert "converged: no" in result.output
    assert re.search(
        r"differs: rep\d\d@demo.sfa.example: accounts: 0 missing, 1 extra", result.output
    )


def test_asking_for_more_reps_than_the_demo_company_has_is_refused(app, monkeypatch):
    result = simulate(app, monkeypatch, "--reps", "31", "--days", "1")

    assert result.exit_code == 2
    assert "the demo company has 30 reps" in result.output


def test_the_in_process_transport_asks_for_gzip_and_decodes_it(app):
    load(app)
    device = Device(LocalStore(), InProcessTransport(app))
    device.sign_in("rep.medellin@example.com", PASSWORD, "phone", "android")

    page = device.server.transport.request(
        "GET",
        "/api/v1/sync/pull",
        params={"limit": 1000, "cursor": None},
        headers={"Authorization": f"Bearer {device.store.access_token}"},
    )

    assert page.status == 200
    assert page.header("Content-Encoding") == "gzip"
    assert {a["code"] for a in page.body["changes"]["accounts"]["upserts"]} == {
        "A-CO-ANT-01-1",
        "A-CO-ANT-01-2",
    }


def test_the_same_seed_makes_the_same_day_of_work(app):
    load(app)
    queued = []
    for _ in range(2):
        device = Device(LocalStore(), InProcessTransport(app))
        device.sign_in("rep.medellin@example.com", PASSWORD, "phone", "android")
        device.sync()
        FieldDay(device, random.Random("seed"), date(2026, 11, 23)).work()
        queued.append([(m.entity, m.op, _without_ids(m.fields)) for m in device.queue.pending()])

    assert queued[0] == queued[1]
    assert {entity for entity, _, _ in queued[0]} >= {"accounts", "visits"}


def _without_ids(fields: dict) -> dict:
    """Record ids are fresh UUIDs; what the rep did is the rest."""
    return {k: v for k, v in fields.items() if k != "order_id"}
