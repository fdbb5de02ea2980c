"""``sfa simulate``: a fleet of simulated devices against this server, and a report."""

from __future__ import annotations

import contextlib
import logging
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import click
from flask import Flask

from mobile_protocol.client import SyncStopped, TransportError
from sfa.cli.data import migrate_database, print_report
from sfa.demo.dataset import ACCOUNTS_PER_REP
from sfa.simulate import (
    FleetPlan,
    FleetServer,
    FleetSimulation,
    InProcessServer,
    RemoteServer,
    demo_fleet_document,
    demo_rep_emails,
)


@click.command()
@click.option("--reps", default=10, show_default=True, type=click.IntRange(1), help="Devices.")
@click.option("--days", default=3, show_default=True, type=click.IntRange(1), help="Days.")
@click.option("--url", help="A running server with the demo data (default: this process).")
@click.option("--seed", default=1, show_default=True, type=int, help="The scenario's seed.")
@click.option(
    "--accounts-per-rep",
    default=ACCOUNTS_PER_REP,
    show_default=True,
    type=click.IntRange(1, ACCOUNTS_PER_REP),
    help="Accounts per rep when the demo data must be loaded (fewer for a quick run).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_obj
def simulate(
    lazy,  # noqa: ANN001
    reps: int,
    days: int,
    url: str | None,
    seed: int,
    accounts_per_rep: int,
    quiet: bool,
) -> None:
    """Simulate REPS demo reps' devices for DAYS days: offline edits, visits and orders, while
    the back office edits and reassigns accounts under them; then print a report and check
    that every device converged. Exits 1 if a sync failed or a device did not converge.

    Without --url the server runs in this process on the configured database (migrated, and
    loaded with the demo company if it is not there yet); with --url the server must already
    hold the demo data (`sfa demo`)."""
    emails = demo_rep_emails()
    if reps > len(emails):
        raise click.BadParameter(f"the demo company has {len(emails)} reps", param_hint="--reps")
    server = RemoteServer(url) if url else _in_process_server(lazy.app, accounts_per_rep)
    plan = FleetPlan(reps=reps, days=days, seed=seed)
    click.echo(f"Simulating {reps} reps for {days} days against {server.description}", err=True)
    with (
        tempfile.TemporaryDirectory(prefix="sfa-fleet-") as folder,
        _progress_bar(plan.device_syncs, quiet) as tick,
    ):
        simulation = FleetSimulation(server, plan, emails, store_folder=Path(folder), on_sync=tick)
        try:
            report = simulation.run()
        except (SyncStopped, TransportError) as error:
            click.secho(f"error: the fleet could not start: {error}", fg="red", err=True)
            sys.exit(1)
    click.echo(report.render())
    if not report.succeeded:
        sys.exit(1)


def _in_process_server(app: Flask, accounts_per_rep: int) -> FleetServer:
    # A line per device request would bury the progress bar and the report; errors still log.
    logging.getLogger("sfa.access").setLevel(logging.WARNING)
    migrate_database(app)
    server = InProcessServer(app)
    loaded = server.ensure_demo_data(lambda: demo_fleet_document(accounts_per_rep))
    if loaded is not None:
        click.echo("Loaded the demo company:")
        print_report(loaded)
    return server


@contextlib.contextmanager
def _progress_bar(total: int, quiet: bool) -> Iterator[Callable[[], None]]:
    if quiet:
        yield lambda: None
        return
    with click.progressbar(length=total, label="device syncs", file=sys.stderr) as bar:
        yield lambda: bar.update(1)
