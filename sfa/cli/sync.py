"""``sfa sync ...``: sync housekeeping."""

from __future__ import annotations

import click

from sfa.columns import utcnow
from sfa.db import db
from sfa.sync.housekeeping import purge


@click.group("sync")
def sync_commands() -> None:
    """Sync housekeeping."""


@sync_commands.command("gc")
@click.pass_obj
def gc(lazy) -> None:  # noqa: ANN001
    """Forget tombstones, moves and push results older than the offline horizon (run daily)."""
    app = lazy.app
    with app.app_context():
        removed = purge(db.session, utcnow(), app.config["SYNC_HORIZON_DAYS"] * 86400)
    click.echo(", ".join(f"{count} {kind}" for kind, count in removed.items()) + " removed")
