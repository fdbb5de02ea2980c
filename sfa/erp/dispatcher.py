"""The outbox dispatcher: hands due order events to the ERP adapter, at least once.

A round claims a batch of due events in one short transaction: each gets a lease
(``locked_until``) and one more attempt counted, before anything is sent. The events are then
delivered outside any transaction (in parallel, one adapter per thread), and the round's
outcomes are written together in one short transaction. A dispatcher killed at any point loses
nothing: an event it claimed but did not finish stays pending, and is claimed again once its
lease has expired; the ERP dedupes the resend by the event id.

Ordering and isolation: only the earliest undelivered event of each order is ever due, so an
order's events go out in ``seq`` order (create before cancel), while a failing event holds back
only its own order. Several dispatchers may run against PostgreSQL at once: the claim locks
rows with ``FOR UPDATE SKIP LOCKED``, so no event is claimed twice while leased. On SQLite
writers are serialised, which gives the same guarantee.

Retries back off exponentially with full jitter: the n-th failure waits a uniform random time
in ``[0, min(max, base * 2**(n-1))]``. After ``max_attempts`` the event is dead-lettered
(``status = 'dead'``), visible and replayable by API and CLI.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, exists, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, aliased, sessionmaker

from sfa.columns import utcnow
from sfa.db import run_with_retry
from sfa.erp.adapters.base import Adapter, Delivery, DeliveryFailed
from sfa.erp.models import OutboxEvent

log = logging.getLogger("sfa.erp.dispatcher")


@dataclass(frozen=True)
class DispatchSettings:
    max_attempts: int = 12
    backoff_base: float = 1.0
    backoff_max: float = 900.0
    lease_seconds: int = 60
    batch: int = 50
    threads: int = 4
    poll_seconds: float = 0.5


def backoff(attempt: int, base: float, ceiling: float, rng: random.Random) -> float:
    """Full jitter: uniform in [0, min(ceiling, base * 2**(attempt - 1))]."""
    return rng.uniform(0, min(ceiling, base * 2 ** (attempt - 1)))


@dataclass
class RoundReport:
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        adapter_factory: Callable[[], Adapter],
        settings: DispatchSettings,
        *,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self.sessions = sessionmaker(bind=engine, expire_on_commit=False)
        self.adapter_factory = adapter_factory
        self.settings = settings
        self.clock = clock
        self.rng = rng or random.Random()
        self._local = threading.local()
        self._adapters: list[Adapter] = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=settings.threads, thread_name_prefix="erp")

    # one round ---------------------------------------------------------------------------

    def run_once(self) -> RoundReport:
        """Claim what is due, deliver it, record the outcomes."""
        claimed = self._claim()
        report = RoundReport(claimed=len(claimed))
        outcomes = list(self._pool.map(self._deliver, claimed))
        self._record(claimed, outcomes, report)
        return report

    def _claim(self) -> list[OutboxEvent]:
        with self.sessions() as session:
            return run_with_retry(session, lambda: self._claim_in(session))

    def _claim_in(self, session: Session) -> list[OutboxEvent]:
        now = self.clock()
        query = (
            select(OutboxEvent)
            .where(
                OutboxEvent.status == "pending",
                OutboxEvent.next_attempt_at <= now,
                or_(OutboxEvent.locked_until.is_(None), OutboxEvent.locked_until <= now),
                first_undelivered_of_its_order(),
            )
            .order_by(OutboxEvent.next_attempt_at, OutboxEvent.id)
            .limit(self.settings.batch)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=OutboxEvent)
        events = list(session.scalars(query))
        lease = now + timedelta(seconds=self.settings.lease_seconds)
        for event in events:
            event.locked_until = lease
            event.attempts += 1
        session.commit()
        return events

    def _deliver(self, event: OutboxEvent) -> DeliveryFailed | None:
        adapter = self._adapter()
        try:
            adapter.deliver(Delivery(event.id, event.type, event.order_id, event.body.encode()))
        except DeliveryFailed as failure:
            return failure
        except Exception as exc:  # a bug or an unexpected library error: retry, and say so
            log.exception("adapter failed on event %s", event.id)
            return DeliveryFailed(f"{type(exc).__name__}: {exc}")
        return None

    def _record(
        self,
        events: list[OutboxEvent],
        failures: list[DeliveryFailed | None],
        report: RoundReport,
    ) -> None:
        """Write the round's outcomes in one short transaction (one statement per kind of
        outcome, executed for many rows): a commit per event would cost more than sending it."""
        if not events:
            return
        now = self.clock()
        delivered: list[dict] = []
        dead: list[dict] = []
        retry: list[dict] = []
        for event, failure in zip(events, failures, strict=True):
            key = {"e_id": event.id, "e_attempts": event.attempts}
            if failure is None:
                delivered.append(key)
                report.delivered += 1
            elif not failure.retryable or event.attempts >= self.settings.max_attempts:
                dead.append({**key, "v_error": failure.reason})
                report.dead += 1
                log.warning("event %s dead-lettered: %s", event.id, failure.reason)
            else:
                wait = backoff(
                    event.attempts, self.settings.backoff_base, self.settings.backoff_max, self.rng
                )
                retry.append(
                    {**key, "v_error": failure.reason, "v_next": now + timedelta(seconds=wait)}
                )
                report.retried += 1
        table = OutboxEvent.__table__
        # only where our lease still holds: a dispatcher that stalled past it must not
        # overwrite what another did meanwhile (the attempt count tells whose claim it is)
        ours = update(table).where(
            table.c.id == bindparam("e_id"),
            table.c.status == "pending",
            table.c.attempts == bindparam("e_attempts"),
        )
        writes = [
            (
                ours.values(
                    status="delivered", delivered_at=now, last_error=None, locked_until=None
                ),
                delivered,
            ),
            (ours.values(status="dead", last_error=bindparam("v_error"), locked_until=None), dead),
            (
                ours.values(
                    next_attempt_at=bindparam("v_next"),
                    last_error=bindparam("v_error"),
                    locked_until=None,
                ),
                retry,
            ),
        ]
        with self.sessions() as session:

            def write() -> None:
                for statement, rows in writes:
                    if rows:
                        session.execute(statement, rows)
                session.commit()

            run_with_retry(session, write)

    def _adapter(self) -> Adapter:
        adapter = getattr(self._local, "adapter", None)
        if adapter is None:
            adapter = self._local.adapter = self.adapter_factory()
            with self._lock:
                self._adapters.append(adapter)
        return adapter

    # running ------------------------------------------------------------------------------

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                report = self.run_once()
            except Exception:  # the database went away: keep trying, slowly
                log.exception("dispatch round failed")
                stop.wait(min(30.0, self.settings.poll_seconds * 10))
                continue
            if report.claimed < self.settings.batch:
                stop.wait(self.settings.poll_seconds)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        for adapter in self._adapters:
            with contextlib.suppress(Exception):  # closing quietly
                adapter.close()


# dead letters ----------------------------------------------------------------------------


def dead_letters(session: Session, limit: int = 100) -> list[OutboxEvent]:
    return list(
        session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.status == "dead")
            .order_by(OutboxEvent.created_at)
            .limit(limit)
        )
    )


class NotDeadLetter(Exception):
    """Only a dead-lettered event can be replayed; a pending one is already in line and a
    delivered one must not be sent again by hand."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


def replay(session: Session, event_id: str, now: datetime) -> OutboxEvent | None:
    """Put a dead-lettered event back in line, with a fresh count of attempts. None when there
    is no such event; :class:`NotDeadLetter` when it is not dead."""
    event = session.get(OutboxEvent, event_id, with_for_update=True)
    if event is None:
        return None
    if event.status != "dead":
        raise NotDeadLetter(event.status)
    event.status, event.attempts, event.next_attempt_at = "pending", 0, now
    event.locked_until, event.last_error = None, None
    return event


def first_undelivered_of_its_order():  # noqa: ANN201 - a SQL expression
    """True for an event with no undelivered event before it in its order: only such an event
    may be sent, so an order's events go out in sequence."""
    earlier = aliased(OutboxEvent)
    return ~exists().where(
        earlier.order_id == OutboxEvent.order_id,
        earlier.seq < OutboxEvent.seq,
        earlier.status != "delivered",
    )
