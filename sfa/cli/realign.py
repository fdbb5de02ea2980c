"""``sfa realign``: territory models — list, draft from a file, diff, schedule, activate,
cancel, and activate what is due. A refusal (a domain error) is printed by the ``sfa`` group,
and the app context's end rolls back whatever the command had begun."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import click

from sfa.clock import today
from sfa.columns import utcnow
from sfa.db import db
from sfa.territories import realign as realigning
from sfa.territories.models import Territory, TerritoryModel


@click.group("realign")
def realign() -> None:
    """Territory realignment: draft a model, review its diff, schedule or activate it."""


@realign.command("list")
@click.pass_obj
def list_models(lazy) -> None:  # noqa: ANN001
    """Every model, newest first."""
    from sqlalchemy import select

    with lazy.app.app_context():
        for model in db.session.scalars(
            select(TerritoryModel).order_by(TerritoryModel.created_at.desc())
        ):
            when = model.effective_date.isoformat() if model.effective_date else "-"
            moved = "" if model.moved_accounts is None else f"  moved {model.moved_accounts}"
            click.echo(f"{model.id}  {model.status:<10}  {when:<10}  {model.name}{moved}")


@realign.command("create")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--empty", is_flag=True, help="Start from no rules (default: the active model's).")
@click.pass_obj
def create(lazy, file: Path, empty: bool) -> None:  # noqa: ANN001
    """Draft a model from FILE: {"name", "rules": [{"territory", "priority", "condition"}],
    "placements": [{"account", "territory", "reason"}]} (territories and accounts by code)."""
    from sqlalchemy import select

    from sfa.accounts.models import Account

    try:
        document = json.loads(file.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{file}: not JSON ({exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("name"), str):
        raise click.ClickException(f'{file}: an object with a "name" is expected')
    now = utcnow()
    with lazy.app.app_context():
        session = db.session
        territories = dict(session.execute(select(Territory.code, Territory.id)).all())
        accounts = dict(session.execute(select(Account.code, Account.id)).all())
        model = realigning.create_model(session, document["name"], None, now,
                                        copy_active=not empty)  # fmt: skip
        for n, rule in enumerate(document.get("rules") or []):
            territory = territories.get(rule.get("territory"))
            if territory is None:
                raise click.ClickException(
                    f"rules[{n}]: unknown territory {rule.get('territory')!r}"
                )
            realigning.add_rule(session, model.id, territory, int(rule.get("priority", 0)),
                                rule.get("condition"), None, now)  # fmt: skip
        for n, placed in enumerate(document.get("placements") or []):
            account = accounts.get(placed.get("account"))
            territory = territories.get(placed.get("territory"))
            if account is None or territory is None:
                raise click.ClickException(f"placements[{n}]: unknown account or territory")
            realigning.place(session, model.id, account, territory, placed.get("reason"),
                             None, now)  # fmt: skip
        session.commit()
        click.echo(f"drafted model {model.id}: {document['name']}")


@realign.command("diff")
@click.argument("model_id")
@click.option("--accounts", is_flag=True, help="List every moving account.")
@click.pass_obj
def diff(lazy, model_id: str, accounts: bool) -> None:  # noqa: ANN001
    """What activating MODEL_ID would change (changes nothing)."""
    from sqlalchemy import select

    with lazy.app.app_context():
        found = realigning.dry_run(db.session, model_id)
        codes = dict(db.session.execute(select(Territory.id, Territory.code)).all())
        summary = found.summary()
        click.echo(
            f"{summary['accounts']} accounts: {summary['moving']} move, "
            f"{summary['unmatched']} match no rule (stay), {summary['excluded']} excluded "
            f"(stay), {summary['manual']} placed by hand"
        )
        for territory, change in found.by_territory().items():
            click.echo(
                f"  {codes.get(territory, territory):<20} +{len(change['added']):<6} "
                f"-{len(change['removed'])}"
            )
            if accounts:
                for account in change["added"]:
                    click.echo(f"      + {account}")
                for account in change["removed"]:
                    click.echo(f"      - {account}")


@realign.command("schedule")
@click.argument("model_id")
@click.argument("effective", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.pass_obj
def schedule(lazy, model_id: str, effective) -> None:  # noqa: ANN001
    """Make MODEL_ID take effect on EFFECTIVE (YYYY-MM-DD, today or later)."""
    with lazy.app.app_context():
        model = realigning.schedule(db.session, model_id, effective.date(), None, today(),
                                    utcnow())  # fmt: skip
        db.session.commit()
        click.echo(f"model {model.id} takes effect on {model.effective_date.isoformat()}")


@realign.command("activate")
@click.argument("model_id")
@click.pass_obj
def activate(lazy, model_id: str) -> None:  # noqa: ANN001
    """Activate MODEL_ID now (a scheduled one once its date has come)."""
    with lazy.app.app_context():
        found = realigning.activate(db.session, model_id, None, today(), utcnow(),
                                    lazy.app.config["TIMEZONE"])  # fmt: skip
        db.session.commit()
        click.echo(f"model {model_id} is active: {len(found.moves)} accounts moved")


@realign.command("cancel")
@click.argument("model_id")
@click.pass_obj
def cancel(lazy, model_id: str) -> None:  # noqa: ANN001
    """Cancel a draft or scheduled model."""
    with lazy.app.app_context():
        realigning.cancel(db.session, model_id, None, utcnow())
        db.session.commit()
        click.echo(f"model {model_id} cancelled")


@realign.command("run-due")
@click.option("--every", type=click.IntRange(10, 86400), default=None,
              help="Keep running, checking every N seconds (sfa serve runs it so).")  # fmt: skip
@click.pass_obj
def run_due(lazy, every: int | None) -> None:  # noqa: ANN001
    """Activate the scheduled models whose date has come."""
    stop = threading.Event()
    if every:
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
    while True:
        with lazy.app.app_context():
            done = realigning.run_due(db.session, today(), utcnow(), lazy.app.config["TIMEZONE"])
            for model, found in done:
                click.echo(
                    f"activated {model.id} ({model.name}): {len(found.moves)} accounts moved"
                )
            db.session.remove()
        if not every or stop.wait(every):
            return
