"""``sfa init-db`` and ``sfa import``."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import click
from flask import Flask

from sfa.clock import today
from sfa.db import db
from sfa.errors import BadRequest
from sfa.http.endpoints import parse_json
from sfa.migrate import current_revision, upgrade


def migrate_database(app: Flask) -> str | None:
    with app.app_context():
        upgrade(db.engine)
        return current_revision(db.engine)


@click.command("init-db")
@click.pass_obj
def init_db(lazy) -> None:  # noqa: ANN001
    """Create or upgrade the database schema (runs the migrations)."""
    revision = migrate_database(lazy.app)
    click.echo(f"database at revision {revision}")


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.pass_obj
def import_file(lazy, file: Path, quiet: bool) -> None:  # noqa: ANN001
    """Import master data from an sfa-import/1 JSON FILE (all or nothing)."""
    app = lazy.app
    report = run_import(app, file.read_bytes(), show_progress=not quiet)
    print_report(report)


def run_import(app: Flask, data: bytes, show_progress: bool):  # noqa: ANN201
    from sfa.erp.imports.services import import_document

    try:
        document = parse_json(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BadRequest(f"the file is not valid JSON: {exc}", code="malformed_json") from None
    with app.app_context(), _progress_bars(show_progress) as progress:
        hasher = app.extensions["sfa.auth"].hasher
        return import_document(db.session, hasher, document, today(), progress)


def print_report(report) -> None:  # noqa: ANN001
    for section, count in report.sections.items():
        if count.created or count.updated or count.unchanged:
            click.echo(
                f"{section:>17}: {count.created} created, {count.updated} updated, "
                f"{count.unchanged} unchanged"
            )
    state = "changes applied" if report.changed else "nothing changed"
    click.echo(f"import done in {report.duration_ms / 1000:.1f} s: {state}")


@contextlib.contextmanager
def _progress_bars(enabled: bool) -> Iterator[Callable | None]:
    if not enabled:
        yield None
        return
    open_bar: list = []

    def factory(section: str, total: int) -> Callable[[int], None]:
        if open_bar:
            open_bar.pop().__exit__(None, None, None)
        bar = click.progressbar(length=max(total, 1), label=f"{section:>17}")
        bar.__enter__()
        open_bar.append(bar)
        return bar.update

    try:
        yield factory
    finally:
        if open_bar:
            open_bar.pop().__exit__(None, None, None)
