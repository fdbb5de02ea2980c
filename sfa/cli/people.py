"""``sfa users ...`` and ``sfa devices ...``."""

from __future__ import annotations

import click

from sfa.auth import services
from sfa.auth import users as user_admin
from sfa.db import db


def _hasher(app):  # noqa: ANN001, ANN202
    return app.extensions["sfa.auth"].hasher


@click.group()
def users() -> None:
    """Manage users."""


@users.command("list")
@click.option("--role", type=click.Choice(["rep", "manager", "admin", "erp"]))
@click.pass_obj
def list_users(lazy, role: str | None) -> None:  # noqa: ANN001
    with lazy.app.app_context():
        for user in user_admin.list_users(db.session, role):
            state = "" if user.active else "  (inactive)"
            click.echo(f"{user.id}  {user.role:<8} {user.email:<40} {user.name}{state}")


@users.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice(["rep", "manager", "admin", "erp"]))
@click.password_option()
@click.pass_obj
def create_user(lazy, email: str, name: str, role: str, password: str) -> None:  # noqa: ANN001
    app = lazy.app
    with app.app_context():
        user = user_admin.create_user(
            db.session, _hasher(app), email=email, name=name, role=role, password=password
        )
        click.echo(f"created {user.role} {user.email} ({user.id})")


@users.command("set-password")
@click.argument("email")
@click.password_option()
@click.pass_obj
def set_password(lazy, email: str, password: str) -> None:  # noqa: ANN001
    app = lazy.app
    with app.app_context():
        user = user_admin.find_user_by_email(db.session, email)
        user_admin.update_user(db.session, _hasher(app), user.id, password=password)
        click.echo(f"password changed for {user.email}")


@users.command("deactivate")
@click.argument("email")
@click.pass_obj
def deactivate(lazy, email: str) -> None:  # noqa: ANN001
    """Disable an account: its devices are told to wipe on their next contact."""
    app = lazy.app
    with app.app_context():
        user = user_admin.find_user_by_email(db.session, email)
        user_admin.update_user(db.session, _hasher(app), user.id, active=False)
        click.echo(f"deactivated {user.email}")


@click.group()
def devices() -> None:
    """Manage devices (revoke a lost phone)."""


@devices.command("list")
@click.option("--user", "email", help="Only this user's devices (email).")
@click.pass_obj
def list_devices(lazy, email: str | None) -> None:  # noqa: ANN001
    with lazy.app.app_context():
        user_id = user_admin.find_user_by_email(db.session, email).id if email else None
        for device in services.list_devices(db.session, user_id):
            state = f"REVOKED {device.revoked_at:%Y-%m-%d}" if device.revoked_at else "active"
            click.echo(
                f"{device.id}  {state:<18} {device.platform:<10} {device.name}"
                f"  (user {device.user_id})"
            )


@devices.command("revoke")
@click.argument("device_id")
@click.option("--reason", default="revoked by an administrator", show_default=True)
@click.pass_obj
def revoke(lazy, device_id: str, reason: str) -> None:  # noqa: ANN001
    """Revoke DEVICE_ID: its next request is refused and told to wipe local data."""
    with lazy.app.app_context():
        device = services.revoke_device(db.session, device_id, reason=reason)
        click.echo(f"revoked device {device.id} ({device.name})")


@devices.command("restore")
@click.argument("device_id")
@click.pass_obj
def restore(lazy, device_id: str) -> None:  # noqa: ANN001
    """Let a revoked DEVICE_ID sign in again."""
    with lazy.app.app_context():
        device = services.restore_device(db.session, device_id)
        click.echo(f"restored device {device.id} ({device.name})")
