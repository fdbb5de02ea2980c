"""``sfa serve`` (gunicorn) and ``sfa demo``."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator

import click
from gunicorn.app.base import BaseApplication

from sfa.cli.data import migrate_database, print_report, run_import


class Gunicorn(BaseApplication):
    """gunicorn running the app factory in each worker (no preloading: every worker builds its
    own app and engine after the fork)."""

    def __init__(self, options: dict) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):  # noqa: ANN201
        from prometheus_client import values

        from sfa import create_app

        # The client chose its value store when first imported, possibly before
        # PROMETHEUS_MULTIPROC_DIR was set: choose again in the worker, before any metric exists.
        values.ValueClass = values.get_value_class()
        return create_app()


def _child_exit(_server, worker) -> None:  # noqa: ANN001
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def run_gunicorn(host: str, port: int, workers: int, threads: int) -> None:
    metrics_dir = tempfile.mkdtemp(prefix="sfa-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        Gunicorn(
            {
                "bind": f"{host}:{port}",
                "workers": workers,
                "threads": threads,
                "worker_class": "gthread" if threads > 1 else "sync",
                "timeout": 120,
                "graceful_timeout": 30,
                "child_exit": _child_exit,
                "accesslog": None,
            }
        ).run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


_server_options = [
    click.option("--host", default="127.0.0.1", show_default=True),
    click.option("--port", default=8000, show_default=True, type=int),
    click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64)),
    click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64)),
]


def server_options(fn):  # noqa: ANN001, ANN201
    for option in reversed(_server_options):
        fn = option(fn)
    return fn


def _load_history(app, scale: float) -> None:  # noqa: ANN001
    from datetime import timedelta

    from sfa.clock import today
    from sfa.columns import utcnow
    from sfa.db import db
    from sfa.demo.forecasts import load_forecasts
    from sfa.demo.history import load_history

    click.echo("Creating the order history (once; about a minute on SQLite)...")
    with app.app_context():
        history = load_history(db.session, until=today() - timedelta(days=1), scale=scale)
        db.session.commit()
        forecasts = load_forecasts(db.session, today(), utcnow())
        db.session.commit()
    click.echo(history.summary())
    if forecasts:
        click.echo(f"forecasts: {forecasts} (3 months back to 2 ahead, for every rep)")


@contextlib.contextmanager
def alongside(*commands: list[str]) -> Iterator[None]:
    """Run helper processes (the ERP dispatcher, the demo ERP) for as long as the server runs,
    with the server's environment; they are stopped when it stops."""
    children = [subprocess.Popen(command, env=dict(os.environ)) for command in commands]
    try:
        yield
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


def erp_feed_command() -> list[str]:
    return [sys.executable, "-c", "from sfa.cli.main import main; main()", "erp-feed"]


def scheduler_command() -> list[str]:
    """Scheduled realignments activated when their date comes, the weekly forecast snapshot
    (``sfa scheduler``, checking every 5 minutes)."""
    return [
        sys.executable, "-c", "from sfa.cli.main import main; main()",
        "scheduler", "--every", "300",
    ]  # fmt: skip


@click.command()
@server_options
@click.option(
    "--erp-feed/--no-erp-feed",
    default=False,
    help="Also run the ERP dispatcher (sfa erp-feed), for a single-box install.",
)
@click.option(
    "--scheduler/--no-scheduler",
    default=True,
    show_default=True,
    help="Also run sfa scheduler: scheduled realignments, the weekly forecast snapshot.",
)
def serve(
    host: str, port: int, workers: int, threads: int, erp_feed: bool, scheduler: bool
) -> None:
    """Serve the API with gunicorn."""
    helpers = [erp_feed_command()] if erp_feed else []
    if scheduler:
        helpers.append(scheduler_command())
    with alongside(*helpers):
        run_gunicorn(host, port, workers, threads)


@click.command()
@server_options
@click.option("--no-serve", is_flag=True, help="Load the demo data and exit.")
@click.option(
    "--history-scale",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0, 10),
    help="Share of the ~24 months of order history to create (0: none).",
)
@click.pass_obj
def demo(  # noqa: PLR0913
    lazy,  # noqa: ANN001
    host: str,
    port: int,
    workers: int,
    threads: int,
    no_serve: bool,
    history_scale: float,
) -> None:
    """Load a demo field force (a Colombian pharma company), with about 24 months of order
    history, and serve it with the ERP dispatcher and a stand-in ERP beside it."""
    from sfa.demo.dataset import DEMO_PASSWORD, build_demo_document, demo_logins

    app = lazy.app
    click.echo(f"database: {app.config['DATABASE_URL']}")
    migrate_database(app)
    document = build_demo_document()
    report = run_import(app, json.dumps(document).encode(), show_progress=True)
    print_report(report)
    if history_scale > 0:
        _load_history(app, history_scale)
    click.echo(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
    for email, role, where in demo_logins(document)[:12]:
        click.echo(f"  {role:<8} {email:<40} {where}")
    click.echo("  ... (`sfa users list` shows every user)")
    if no_serve:
        return
    erp_port = port + 1
    os.environ.setdefault("SFA_ERP_WEBHOOK_SECRET", secrets.token_hex(16))
    os.environ.setdefault("SFA_ERP_ADAPTER", "webhook")
    os.environ.setdefault("SFA_ERP_WEBHOOK_URL", f"http://127.0.0.1:{erp_port}/orders")
    erp_user = next(email for email, role, _ in demo_logins(document) if role == "erp")
    demo_erp = [
        sys.executable,
        "-m",
        "sfa.demo.erp_receiver",
        "--port",
        str(erp_port),
        "--server",
        f"http://{host}:{port}",
        "--email",
        erp_user,
        "--password",
        DEMO_PASSWORD,
    ]
    click.echo(f"\nServing on http://{host}:{port}  (health: /healthz, API: /api/v1/openapi.json)")
    click.echo(f"Orders go to a demo ERP on port {erp_port}, which answers them within a minute.")
    with alongside(erp_feed_command(), demo_erp, scheduler_command()):
        run_gunicorn(host, port, workers, threads)
