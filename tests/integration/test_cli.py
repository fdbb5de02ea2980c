"""The ``sfa`` command line, run in-process against the test database of each backend."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from sqlalchemy import create_engine, func, select

from sfa.accounts.models import Account, Contact
from sfa.auth.models import User
from sfa.cli.main import cli
from sfa.db import db
from sfa.migrate import current_revision
from sfa.orders.models import Order
from tests.builders import is_empty, load, snapshot, world

Sfa = Callable[..., Result]


def use_database(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    for name, value in {
        "SFA_DATABASE_URL": url,
        "SFA_PASSWORD_MEMORY_KIB": "1024",
        "SFA_PASSWORD_ITERATIONS": "1",
        "SFA_LOG_LEVEL": "WARNING",
        "SFA_SECRET_KEY": "x",
    }.items():
        monkeypatch.setenv(name, value)


def runner_for(monkeypatch: pytest.MonkeyPatch, url: str) -> Sfa:
    use_database(monkeypatch, url)
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Result:  # noqa: A002
        return runner.invoke(cli, list(args), input=input)

    return run


@pytest.fixture
def sfa(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Sfa:
    """``sfa ARGS...`` against the test app's database."""
    return runner_for(monkeypatch, app.config["DATABASE_URL"])


def write_json(folder: Path, document: object) -> str:
    path = folder / "import.json"
    path.write_text(json.dumps(document))
    return str(path)


def find_user(app: Flask, email: str) -> User | None:
    with app.app_context():
        return db.session.scalar(select(User).where(User.email == email))


def test_init_db_on_a_migrated_database_changes_nothing_and_prints_the_revision(app, sfa):
    load(app)
    before = snapshot(app)
    with app.app_context():
        revision = current_revision(db.engine)

    result = sfa("init-db")

    assert result.exit_code == 0, result.output
    assert result.output == f"database at revision {revision}\n"
    assert revision is not None
    assert snapshot(app) == before


def test_import_prints_the_counts_and_a_second_run_says_nothing_changed(app, sfa, tmp_path):
    path = write_json(tmp_path, world())

    first = sfa("import", path)
    again = sfa("import", "--quiet", path)

    assert first.exit_code == 0, first.output
    assert "         accounts\n" in first.output  # a progress bar's label, no bars with --quiet
    assert "         accounts\n" not in again.output
    assert "accounts: 6 created, 0 updated, 0 unchanged" in first.output
    assert "changes applied" in first.output
    assert again.exit_code == 0, again.output
    assert "accounts: 0 created, 0 updated, 6 unchanged" in again.output
    assert "nothing changed" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Contact)) == 3


def test_an_invalid_file_prints_every_error_and_imports_nothing(app, sfa, tmp_path):
    load(app)
    before = snapshot(app)
    document = world()
    document["accounts"][1]["territory"] = "CO-XX"
    document["stock"][0]["available"] = "lots"
    document["products"][0]["name"] = "Renamed, but not imported"

    result = sfa("import", write_json(tmp_path, document))

    assert result.exit_code != 0
    assert 'accounts[1].territory: unknown territory "CO-XX"' in result.stderr
    assert "stock[0].available: Not a valid integer." in result.stderr
    assert "Traceback" not in result.output
    assert snapshot(app) == before


@pytest.mark.parametrize(
    "content",
    [b"format: sfa-import/1\n", b'{"format": "sfa-import/1", "accounts": [', b"\xff\xfe\x00{", b""],
    ids=["yaml", "truncated", "binary", "empty"],
)
def test_a_file_that_is_not_json_fails_with_a_clear_message(app, sfa, tmp_path, content):
    path = tmp_path / "import.json"
    path.write_bytes(content)

    result = sfa("import", str(path))

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "error (malformed_json): the file is not valid JSON" in result.stderr
    assert "Traceback" not in result.output
    assert is_empty(snapshot(app))


@pytest.mark.parametrize(
    ("options", "typed"),
    [(["--password", "new-password-2026"], None), ([], "new-password-2026\nnew-password-2026\n")],
    ids=["option", "prompt"],
)
def test_users_create_makes_a_user_who_can_sign_in(app, sfa, options, typed):
    result = sfa(
        "users", "create", "--email", "New.Rep@Example.com", "--name", "New Rep",
        "--role", "rep", *options, input=typed,
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "created rep new.rep@example.com" in result.output
    created = find_user(app, "new.rep@example.com")
    assert app.extensions["sfa.auth"].hasher.verify("new-password-2026", created.password_hash)


def test_users_list_shows_every_user_or_only_one_role(app, sfa):
    load(app)

    everyone = sfa("users", "list")
    reps = sfa("users", "list", "--role", "rep")

    assert everyone.exit_code == reps.exit_code == 0
    assert len(everyone.output.splitlines()) == 6
    assert "manager.andina@example.com" in everyone.output
    assert [line.split()[2] for line in reps.output.splitlines()] == [
        "rep.barranquilla@example.com",
        "rep.bogota@example.com",
        "rep.medellin@example.com",
    ]


def test_users_set_password_replaces_the_password(app, sfa):
    load(app)

    result = sfa(
        "users",
        "set-password",
        "rep.bogota@example.com",
        input="changed-pw-2026\nchanged-pw-2026\n",
    )

    assert result.exit_code == 0, result.output
    assert "password changed for rep.bogota@example.com" in result.output
    hashed = find_user(app, "rep.bogota@example.com").password_hash
    assert app.extensions["sfa.auth"].hasher.verify("changed-pw-2026", hashed)


def test_users_deactivate_disables_only_that_user(app, sfa):
    load(app)

    result = sfa("users", "deactivate", "rep.bogota@example.com")

    assert result.exit_code == 0, result.output
    assert find_user(app, "rep.bogota@example.com").active is False
    assert find_user(app, "rep.medellin@example.com").active is True


@pytest.mark.parametrize(
    ("args", "typed", "message"),
    [
        (["users", "deactivate", "nobody@example.com"], None, "error (not_found): no such user"),
        (
            ["users", "set-password", "nobody@example.com"],
            "long-enough-pw\nlong-enough-pw\n",
            "error (not_found): no such user",
        ),
        (
            ["users", "create", "--email", "a@example.com", "--name", "A", "--role", "rep"],
            "short\nshort\n",
            "password: must be at least 8 characters",
        ),
        (
            ["users", "create", "--email", "Admin@Example.com", "--name", "A", "--role", "admin",
             "--password", "long-enough-pw"],
            None,
            "error (user_exists)",
        ),
    ],
    ids=["deactivate unknown", "set-password unknown", "short password", "existing email"],
)  # fmt: skip
def test_a_refused_user_command_exits_non_zero_with_the_reason(app, sfa, args, typed, message):
    load(app)
    before = snapshot(app)

    result = sfa(*args, input=typed)

    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert snapshot(app) == before


def test_demo_without_serving_loads_the_demo_field_force(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    sfa = runner_for(monkeypatch, url)

    result = sfa("demo", "--no-serve", "--history-scale", "0.01")

    assert result.exit_code == 0, result.output
    assert "accounts: 3000 created" in result.output
    assert "admin@demo.sfa.example" in result.output
    engine = create_engine(url)
    with engine.connect() as connection:
        accounts = connection.scalar(select(func.count()).select_from(Account))
        admins = connection.scalar(select(func.count()).where(User.role == "admin"))
        orders = connection.scalar(select(func.count()).select_from(Order))
    engine.dispose()
    assert (accounts, admins) == (3000, 1)
    assert orders > 100  # a sliver of the order history
