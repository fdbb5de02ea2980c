"""``sfa serve`` (gunicorn) and ``sfa demo``."""

from __future__ import annotations

import json
import os
import shutil
import tempfile

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


@click.command()
@server_options
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the API with gunicorn."""
    run_gunicorn(host, port, workers, threads)


@click.command()
@server_options
@click.option("--no-serve", is_flag=True, help="Load the demo data and exit.")
@click.pass_obj
def demo(lazy, host: str, port: int, workers: int, threads: int, no_serve: bool) -> None:  # noqa: ANN001
    """Load a demo field force (a Colombian pharma company) and serve it."""
    from sfa.demo.dataset import DEMO_PASSWORD, build_demo_document, demo_logins

    app = lazy.app
    click.echo(f"database: {app.config['DATABASE_URL']}")
    migrate_database(app)
    document = build_demo_document()
    report = run_import(app, json.dumps(document).encode(), show_progress=True)
    print_report(report)
    click.echo(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
    for email, role, where in demo_logins(document)[:12]:
        click.echo(f"  {role:<8} {email:<40} {where}")
    click.echo("  ... (`sfa users list` shows every user)")
    if no_serve:
        return
    click.echo(f"\nServing on http://{host}:{port}  (health: /healthz, API: /api/v1/openapi.json)")
    run_gunicorn(host, port, workers, threads)
