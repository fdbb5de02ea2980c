"""``sfa scheduler``: what must happen when its time comes — scheduled realignments activated
on their date, and the weekly forecast snapshot. ``sfa serve`` and ``sfa demo`` run it."""

from __future__ import annotations

import signal
import threading

import click

from sfa.clock import today
from sfa.columns import utcnow
from sfa.db import db
from sfa.forecasts import snapshots
from sfa.territories import realign


def run_due_work(app) -> list[str]:  # noqa: ANN001
    """Do whatever is due now; returns what was done, for the log."""
    done = []
    with app.app_context():
        for model, found in realign.run_due(db.session, today(), utcnow(), app.config["TIMEZONE"]):
            done.append(f"activated {model.id} ({model.name}): {len(found.moves)} accounts moved")
        snapshot = snapshots.take_if_due(db.session, today(), utcnow())
        if snapshot is not None:
            db.session.commit()
            done.append(f"forecast snapshot {snapshot.id} ({snapshot.week})")
        db.session.remove()
    return done


@click.command("scheduler")
@click.option("--every", type=click.IntRange(10, 86400), default=None,
              help="Keep running, checking every N seconds.")  # fmt: skip
@click.pass_obj
def scheduler(lazy, every: int | None) -> None:  # noqa: ANN001
    """Activate scheduled realignments whose date has come and take the weekly forecast
    snapshot; once, or every N seconds with --every."""
    stop = threading.Event()
    if every:
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
    while True:
        for line in run_due_work(lazy.app):
            click.echo(line)
        if not every or stop.wait(every):
            return


@click.group("forecasts")
def forecasts() -> None:
    """Forecast snapshots and the monthly sales behind attainment."""


@forecasts.command("snapshot")
@click.pass_obj
def snapshot(lazy) -> None:  # noqa: ANN001
    """Snapshot the forecasts now."""
    with lazy.app.app_context():
        taken = snapshots.take(db.session, None, today(), utcnow())
        db.session.commit()
        click.echo(f"forecast snapshot {taken.id} ({taken.week})")


@forecasts.command("refresh-sales")
@click.pass_obj
def refresh_sales(lazy) -> None:  # noqa: ANN001
    """Rebuild the monthly sales from every order (they are kept up to date as orders change;
    this is for repairs)."""
    from sfa.forecasts import sales

    with lazy.app.app_context():
        rows = sales.refresh(db.session)
        db.session.commit()
        click.echo(f"monthly sales rebuilt: {rows} rows")
