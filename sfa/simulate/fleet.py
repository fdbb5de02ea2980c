"""A fleet of field devices working for some days against one server, then checked.

Each rep gets a device (the reference client of ``mobile_protocol``, with its own local store)
that signs in and makes its first sync. Then, every simulated day:

1. each rep works offline (:class:`~sfa.simulate.field_day.FieldDay`): account edits, visits,
   orders, all queued;
2. the back office (:class:`~sfa.simulate.back_office.BackOffice`) changes some of the same
   accounts and moves a few to another territory, before any rep has synced;
3. each rep syncs: pushes the day's queue, pulls what changed.

After the last day every device syncs once more, so that it also holds what the reps who
synced after it pushed; then each device's records must equal what a fresh device of the same
rep receives on its first sync. On the same starting data the same seed gives the same
scenario (who does what, with which values); record and mutation ids are fresh UUIDs, so a run
can be repeated on the same database.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mobile_protocol.client import Device, LocalStore, SyncReport
from mobile_protocol.schemas import ENTITIES
from sfa.demo.dataset import DEMO_PASSWORD
from sfa.simulate.back_office import BackOffice
from sfa.simulate.demo_fleet import ADMIN_EMAIL
from sfa.simulate.field_day import AccountEdit, Catalogue, FieldDay
from sfa.simulate.report import SimulationReport
from sfa.simulate.servers import FleetServer

PLATFORM = "simulator"


@dataclass(frozen=True)
class FleetPlan:
    """How big a run is: ``reps`` devices for ``days`` days, the scenario drawn from ``seed``."""

    reps: int = 10
    days: int = 3
    seed: int = 1

    @property
    def device_syncs(self) -> int:
        """Every sync of a run: per rep, a first sync, one a day, a catch-up sync after the last
        day, and a fresh device's first sync for the convergence check."""
        return self.reps * (self.days + 3)


@dataclass
class FieldRep:
    """A rep (by sign-in email) with their phone."""

    email: str
    device: Device


class FleetSimulation:
    """Runs ``plan`` against ``server`` with the reps of ``rep_emails`` (the first ``plan.reps``
    of them), all signing in with ``password``; ``admin_email`` is the back office.

    Device stores are SQLite files in ``store_folder``, or in memory when it is None.
    ``on_sync`` is called after every device sync (a progress bar). A sync that raises is
    recorded as an error and the run goes on; failing to sign in stops the run.
    """

    def __init__(
        self,
        server: FleetServer,
        plan: FleetPlan,
        rep_emails: Sequence[str],
        *,
        password: str = DEMO_PASSWORD,
        admin_email: str = ADMIN_EMAIL,
        store_folder: Path | None = None,
        on_sync: Callable[[], None] = lambda: None,
    ) -> None:
        if plan.reps > len(rep_emails):
            raise ValueError(f"{plan.reps} reps asked for, only {len(rep_emails)} are known")
        self.server = server
        self.plan = plan
        self.rep_emails = list(rep_emails[: plan.reps])
        self.password = password
        self.admin_email = admin_email
        self.store_folder = store_folder
        self.on_sync = on_sync
        self.first_day = datetime.now(UTC).date()

    def run(self) -> SimulationReport:
        started = time.perf_counter()
        plan = self.plan
        report = SimulationReport(plan.reps, plan.days, plan.seed, self.server.description)
        admin = self._device(None)
        reps: list[FieldRep] = []
        try:
            admin.sign_in(self.admin_email, self.password, "Back office", PLATFORM)
            back_office = BackOffice(admin, lambda doc: self.server.import_master_data(admin, doc))
            for number, email in enumerate(self.rep_emails):
                reps.append(self._field_rep(number, email))
            for rep in reps:
                if (done := self._sync(rep, "first sync", report)) is not None:
                    report.count_first_sync(*done)
            catalogue = Catalogue.on(reps[0].device)
            for day in range(plan.days):
                self._run_day(day, reps, catalogue, back_office, report)
            for rep in reps:
                if (done := self._sync(rep, "catch-up sync", report)) is not None:
                    report.count_catch_up_sync(done[0])
            report.mismatches = [m for rep in reps if (m := self._difference(rep, report))]
            report.converged = not report.mismatches
        finally:
            for device in (admin, *(rep.device for rep in reps)):
                device.store.close()
        report.duration_s = time.perf_counter() - started
        return report

    def _run_day(
        self,
        day: int,
        reps: list[FieldRep],
        catalogue: Catalogue,
        back_office: BackOffice,
        report: SimulationReport,
    ) -> None:
        on = self.first_day + timedelta(days=day)
        edits: list[AccountEdit] = []
        for rep in reps:
            rng = random.Random(f"{self.plan.seed}/{rep.email}/{day}")
            work = FieldDay(rep.device, rng, on, catalogue).work()
            report.count_work(work)
            edits += work.account_edits
        rng = random.Random(f"{self.plan.seed}/back office/{day}")
        moves = max(1, len(reps) // 10)
        report.count_back_office(back_office.change(rng, edits, _fleet_accounts(reps), moves))
        for rep in reps:
            if (done := self._sync(rep, f"day {day + 1}", report)) is not None:
                report.count_sync(*done)

    def _field_rep(self, number: int, email: str) -> FieldRep:
        path = None if self.store_folder is None else self.store_folder / f"device-{number:03d}.db"
        device = self._device(path)
        try:
            device.sign_in(email, self.password, f"Simulated phone {number + 1}", PLATFORM)
        except BaseException:
            device.store.close()
            raise
        return FieldRep(email, device)

    def _device(self, path: Path | None) -> Device:
        store = LocalStore(":memory:" if path is None else path)
        return Device(store, self.server.connect(), retry=self.server.retry)

    def _sync(
        self, rep: FieldRep, moment: str, report: SimulationReport
    ) -> tuple[SyncReport, float] | None:
        """One sync and its wall-clock milliseconds; None (and an error) if it raised."""
        started = time.perf_counter()
        try:
            done = rep.device.sync()
        except Exception as error:  # whatever stops a sync is a finding of the run
            report.errors.append(f"{rep.email} {moment}: {type(error).__name__}: {error}")
            return None
        finally:
            self.on_sync()
        return done, (time.perf_counter() - started) * 1000

    def _difference(self, rep: FieldRep, report: SimulationReport) -> str | None:
        """None when ``rep``'s device holds what a fresh device of the same rep receives on a
        first sync and has nothing left to push; else what differs."""
        fresh = FieldRep(rep.email, self._device(None))
        try:
            fresh.device.sign_in(rep.email, self.password, "Convergence check", PLATFORM)
            if self._sync(fresh, "fresh device", report) is None:
                return f"{rep.email}: the fresh device could not sync"
            found = []
            if queued := len(rep.device.queue):
                found.append(f"{queued} mutations still queued")
            for entity in ENTITIES:
                found += _compare(entity, rep.device, fresh.device)
        finally:
            fresh.device.store.close()
        return f"{rep.email}: {'; '.join(found)}" if found else None


def _fleet_accounts(reps: list[FieldRep]) -> dict[str, list[str]]:
    """Territory id -> ids of the accounts the fleet's devices hold there, by account code."""
    found: dict[str, dict[str, str]] = defaultdict(dict)
    for rep in reps:
        for account in rep.device.store.local_view("accounts"):
            found[account["territory_id"]][account["code"]] = account["id"]
    return {territory: [ids[c] for c in sorted(ids)] for territory, ids in found.items()}


def _compare(entity: str, device: Device, fresh: Device) -> list[str]:
    held = {record["id"]: record for record in device.store.local_view(entity)}
    expected = {record["id"]: record for record in fresh.store.local_view(entity)}
    missing = sorted(expected.keys() - held.keys())
    extra = sorted(held.keys() - expected.keys())
    different = sorted(i for i in held.keys() & expected.keys() if held[i] != expected[i])
    if not (missing or extra or different):
        return []
    example = (missing + extra + different)[0]
    return [
        f"{entity}: {len(missing)} missing, {len(extra)} extra, {len(different)} different"
        f" (e.g. {example})"
    ]
