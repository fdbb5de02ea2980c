"""What a fleet simulation did and found, as a dict and as a small aligned table.

``syncs`` are the daily syncs (reps × days); the first syncs (each device's initial download),
the catch-up syncs after the last day and the fresh devices' syncs of the convergence check
are counted apart, so the figures of the daily syncs are those of steady-state work.
Conflicts are the fields pushed mutations lost or won against a concurrent edit; sync times
are wall-clock milliseconds of whole syncs (push and pull), as the device sees them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from mobile_protocol.client import SyncReport
from sfa.simulate.back_office import BackOfficeDay
from sfa.simulate.field_day import DayOfWork

LABEL_WIDTH = 22
VALUE_WIDTH = 10


@dataclass
class SimulationReport:
    reps: int
    days: int
    seed: int
    server: str
    first_syncs: int = 0
    first_sync_records: int = 0
    first_sync_ms: list[float] = field(default_factory=list)
    syncs: int = 0
    pushed: int = 0
    applied: int = 0
    merged: int = 0
    rejected: int = 0
    duplicates: int = 0
    conflicts: int = 0
    records_pulled: int = 0
    sync_ms: list[float] = field(default_factory=list)
    catch_up_syncs: int = 0
    catch_up_records: int = 0
    account_edits: int = 0
    visits: int = 0
    orders: int = 0
    submitted_orders: int = 0
    back_office_edits: int = 0
    reassigned_accounts: int = 0
    errors: list[str] = field(default_factory=list)
    converged: bool | None = None
    mismatches: list[str] = field(default_factory=list)
    duration_s: float = 0.0

    def count_first_sync(self, sync: SyncReport, elapsed_ms: float) -> None:
        self.first_syncs += 1
        self.first_sync_records += sync.records_upserted + sync.records_removed
        self.first_sync_ms.append(elapsed_ms)

    def count_sync(self, sync: SyncReport, elapsed_ms: float) -> None:
        """Counts one daily sync."""
        self.syncs += 1
        self.pushed += sync.pushed
        self.applied += sync.applied
        self.merged += sync.merged
        self.rejected += sync.rejected
        self.duplicates += sync.duplicates
        self.conflicts += len(sync.conflicts)
        self.records_pulled += sync.records_upserted + sync.records_removed
        self.sync_ms.append(elapsed_ms)

    def count_catch_up_sync(self, sync: SyncReport) -> None:
        self.catch_up_syncs += 1
        self.catch_up_records += sync.records_upserted + sync.records_removed

    def count_work(self, work: DayOfWork) -> None:
        self.account_edits += len(work.account_edits)
        self.visits += work.visits
        self.orders += work.orders
        self.submitted_orders += work.submitted_orders

    def count_back_office(self, day: BackOfficeDay) -> None:
        self.back_office_edits += day.edited_accounts
        self.reassigned_accounts += day.reassigned_accounts

    @property
    def succeeded(self) -> bool:
        """No sync failed and every device converged."""
        return not self.errors and self.converged is True

    def as_dict(self) -> dict[str, Any]:
        return {
            "reps": self.reps,
            "days": self.days,
            "seed": self.seed,
            "server": self.server,
            "first_syncs": {
                "count": self.first_syncs,
                "records": self.first_sync_records,
                "p50_ms": percentile(self.first_sync_ms, 50),
            },
            "syncs": self.syncs,
            "mutations": {
                "pushed": self.pushed,
                "applied": self.applied,
                "merged": self.merged,
                "rejected": self.rejected,
                "duplicates": self.duplicates,
            },
            "conflicts": self.conflicts,
            "records_pulled": self.records_pulled,
            "sync_ms": {
                "p50": percentile(self.sync_ms, 50),
                "p95": percentile(self.sync_ms, 95),
                "max": round(max(self.sync_ms), 1) if self.sync_ms else None,
            },
            "catch_up_syncs": {"count": self.catch_up_syncs, "records": self.catch_up_records},
            "offline_work": {
                "account_edits": self.account_edits,
                "visits": self.visits,
                "orders": self.orders,
                "submitted_orders": self.submitted_orders,
            },
            "back_office": {
                "edited_accounts": self.back_office_edits,
                "reassigned_accounts": self.reassigned_accounts,
            },
            "errors": len(self.errors),
            "error_messages": list(self.errors),
            "converged": self.converged,
            "mismatched_devices": len(self.mismatches),
            "mismatches": list(self.mismatches),
            "duration_s": round(self.duration_s, 1),
        }

    def render(self) -> str:
        """The table, then any errors and mismatches, then ``converged: yes|no``."""
        first_p50 = _ms(percentile(self.first_sync_ms, 50))
        first = f"{self.first_sync_records:,} records, p50 {first_p50}"
        rows = [
            ("first syncs", self.first_syncs, first),
            ("syncs", self.syncs, f"{self.reps} reps × {self.days} days"),
            ("mutations pushed", self.pushed, ""),
            ("  applied", self.applied, ""),
            ("  merged", self.merged, ""),
            ("  rejected", self.rejected, ""),
            ("  duplicates", self.duplicates, ""),
            ("conflicts", self.conflicts, ""),
            ("records pulled", self.records_pulled, ""),
            ("sync time p50 (ms)", percentile(self.sync_ms, 50), ""),
            ("sync time p95 (ms)", percentile(self.sync_ms, 95), ""),
            ("sync time max (ms)", max(self.sync_ms, default=None), ""),
            ("catch-up syncs", self.catch_up_syncs, f"{self.catch_up_records:,} records"),
            ("account edits", self.account_edits, ""),
            ("visits", self.visits, ""),
            ("orders", self.orders, f"{self.submitted_orders} submitted"),
            ("back-office edits", self.back_office_edits, "accounts re-keyed"),
            ("reassigned accounts", self.reassigned_accounts, ""),
            ("errors", len(self.errors), ""),
            ("run time (s)", round(self.duration_s, 1), ""),
        ]
        lines = [f"Fleet simulation, seed {self.seed}, against {self.server}"]
        lines += [_row(label, value, note) for label, value, note in rows]
        lines += [f"error: {message}" for message in self.errors]
        lines += [f"differs: {mismatch}" for mismatch in self.mismatches]
        verdict = "yes" if self.converged else "no"
        lines.append(
            f"converged: {verdict} ({len(self.mismatches)} of {self.reps} devices differ "
            "from a fresh device of the same rep)"
        )
        return "\n".join(lines)


def percentile(values: list[float], rank: float) -> float | None:
    """The nearest-rank percentile (None for no values), rounded to 0.1."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(rank / 100 * len(ordered)) - 1)], 1)


def _row(label: str, value: Any, note: str) -> str:
    if value is None:
        shown = "-"
    elif isinstance(value, float):
        shown = f"{value:,.1f}"
    else:
        shown = f"{value:,}"
    return f"  {label:<{LABEL_WIDTH}}{shown:>{VALUE_WIDTH}}  {note}".rstrip()


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms"
