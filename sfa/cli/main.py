"""The ``sfa`` command line. Every command calls the same services as the API."""

from __future__ import annotations

import click
from flask import Flask

from sfa.cli.data import import_file, init_db
from sfa.cli.erp import erp_feed
from sfa.cli.people import devices, users
from sfa.cli.realign import realign
from sfa.cli.scheduler import forecasts, scheduler
from sfa.cli.server import demo, serve
from sfa.cli.simulate import simulate
from sfa.cli.sync import sync_commands
from sfa.errors import DomainError


class AppGroup(click.Group):
    """Runs each command inside an app context and prints domain errors instead of tracebacks."""

    def invoke(self, ctx: click.Context):  # noqa: ANN201
        try:
            return super().invoke(ctx)
        except DomainError as exc:
            click.secho(f"error ({exc.code}): {exc.message}", fg="red", err=True)
            for problem in exc.details.get("errors", []):
                click.echo(f"  {problem['path']}: {problem['message']}", err=True)
            ctx.exit(1)


@click.group(cls=AppGroup)
@click.version_option(package_name="sfa")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """SFA sync server: sales-force automation with offline mobile sync."""
    ctx.obj = LazyApp()


class LazyApp:
    """The app, built on first use (``--help`` needs no database)."""

    def __init__(self) -> None:
        self._app: Flask | None = None

    @property
    def app(self) -> Flask:
        if self._app is None:
            from sfa import create_app

            self._app = create_app()
        return self._app


for command in (
    init_db,
    import_file,
    users,
    devices,
    serve,
    demo,
    sync_commands,
    simulate,
    erp_feed,
    realign,
    scheduler,
    forecasts,
):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="sfa")
