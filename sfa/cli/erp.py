"""``sfa erp-feed``: the outbox dispatcher, and its dead letters."""

from __future__ import annotations

import signal
import threading

import click

from sfa.columns import utcnow
from sfa.db import db
from sfa.erp import dispatcher as dispatching
from sfa.erp.feed import adapter_factory, dispatch_settings


@click.group("erp-feed", invoke_without_command=True)
@click.option("--once", is_flag=True, help="Run one round and exit.")
@click.pass_context
def erp_feed(ctx: click.Context, once: bool) -> None:
    """Deliver order events to the ERP (SFA_ERP_ADAPTER: webhook or amqp) until stopped.

    Several may run at once on PostgreSQL; each event still goes out in order per order, and
    a killed dispatcher loses nothing (its claimed events are sent again after their lease)."""
    if ctx.invoked_subcommand is not None:
        return
    app = ctx.obj.app
    try:
        factory = adapter_factory(app.config)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if factory is None:
        raise click.ClickException(
            "SFA_ERP_ADAPTER is 'pull': the ERP fetches events from /api/v1/erp/events"
        )
    with app.app_context():
        engine = db.engine
    worker = dispatching.Dispatcher(engine, factory, dispatch_settings(app.config))
    try:
        if once:
            report = worker.run_once()
            click.echo(
                f"claimed {report.claimed}, delivered {report.delivered}, "
                f"retrying {report.retried}, dead-lettered {report.dead}"
            )
            return
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        click.echo(f"erp-feed: delivering with the {app.config['ERP_ADAPTER']} adapter")
        worker.run_forever(stop)
    finally:
        worker.close()


@erp_feed.command("dead")
@click.pass_obj
def dead(lazy) -> None:  # noqa: ANN001
    """List dead-lettered events."""
    with lazy.app.app_context():
        for event in dispatching.dead_letters(db.session):
            click.echo(
                f"{event.id}  {event.type:16}  order {event.order_id}  "
                f"{event.attempts} attempts  {event.last_error}"
            )


@erp_feed.command("replay")
@click.argument("event_id")
@click.pass_obj
def replay(lazy, event_id: str) -> None:  # noqa: ANN001
    """Put a dead-lettered event back in line."""
    with lazy.app.app_context():
        try:
            event = dispatching.replay(db.session, event_id, utcnow())
        except dispatching.NotDeadLetter as refused:
            raise click.ClickException(
                f"event {event_id} is {refused.status}, not dead: nothing to replay"
            ) from None
        if event is None:
            raise click.ClickException(f"no event {event_id}")
        db.session.commit()
    click.echo(f"event {event_id} will be sent again")
