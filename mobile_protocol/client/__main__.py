"""A field device in a terminal: ``python -m mobile_protocol.client --url URL --db PATH ...``

sign-in EMAIL [--password P]        sign in (asks for the password if not given)
sync                                push the queue, pull what changed
show ENTITY [--limit N]             the records as the user sees them (with pending edits)
edit ENTITY ID field=value ...      queue an update (field:=JSON for numbers, true, null)
queue                               pending mutations and rejections
"""

from __future__ import annotations

import argparse
import getpass
import json
import socket
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from mobile_protocol.client.device import Device, SyncReport
from mobile_protocol.client.errors import DeviceWiped, SignInRequired, SyncStopped
from mobile_protocol.client.queue import UnknownRecord
from mobile_protocol.client.store import LocalStore
from mobile_protocol.client.transport import HttpTransport, Transport, TransportError
from mobile_protocol.schemas import ENTITIES


def main(
    argv: Sequence[str] | None = None,
    *,
    transport_for: Callable[[str], Transport] = HttpTransport,
    out: TextIO = sys.stdout,
) -> int:
    """Runs one command; returns the exit status (0 done, 1 failed, 2 sign in again, 3 wiped)."""
    parser = _parser()
    arguments = parser.parse_args(argv)
    if arguments.command in ("sign-in", "sync") and not arguments.url:
        parser.error(f"{arguments.command} needs --url")
    store = LocalStore(arguments.db)
    device = Device(store, transport_for(arguments.url or ""))
    try:
        arguments.run(device, arguments, out)
    except DeviceWiped as wiped:
        print(f"This device was revoked ({wiped.code}): its local data is wiped.", file=out)
        return 3
    except SignInRequired as refusal:
        print(f"Sign in again ({refusal.code}).", file=out)
        return 2
    except (SyncStopped, TransportError, UnknownRecord, ValueError) as error:
        print(f"Failed: {error}", file=out)
        return 1
    finally:
        store.close()
    return 0


def sign_in(device: Device, arguments: argparse.Namespace, out: TextIO) -> None:
    password = arguments.password or getpass.getpass("Password: ")
    user = device.sign_in(arguments.email, password, arguments.device_name, arguments.platform)
    print(
        f"Signed in as {user['name']} ({user['role']}) on device {device.store.device_id}.",
        file=out,
    )


def sync(device: Device, arguments: argparse.Namespace, out: TextIO) -> None:
    print(_summary(device.sync()), file=out)


def show(device: Device, arguments: argparse.Namespace, out: TextIO) -> None:
    records = device.store.local_view(arguments.entity)
    for record in records[: arguments.limit]:
        print(json.dumps(record, ensure_ascii=False), file=out)
    shown = min(len(records), arguments.limit)
    print(f"{shown} of {len(records)} {arguments.entity}", file=out)


def edit(device: Device, arguments: argparse.Namespace, out: TextIO) -> None:
    fields = dict(_field(assignment) for assignment in arguments.assignments)
    mutation = device.queue.record_update(arguments.entity, arguments.id, fields)
    print(
        f"Queued {mutation.op} of {mutation.entity} {mutation.record_id}: "
        f"{json.dumps(fields, ensure_ascii=False)} ({len(device.queue)} pending).",
        file=out,
    )


def queue(device: Device, arguments: argparse.Namespace, out: TextIO) -> None:
    pending, rejections = device.queue.pending(), device.queue.rejections()
    print(f"{len(pending)} pending:", file=out)
    for mutation in pending:
        print(
            f"  {mutation.edited_at} {mutation.op} {mutation.entity} {mutation.record_id} "
            f"{json.dumps(mutation.fields, ensure_ascii=False)}",
            file=out,
        )
    print(f"{len(rejections)} rejected:", file=out)
    for rejection in rejections:
        print(
            f"  {rejection.op} {rejection.entity} {rejection.record_id}: {rejection.code} — "
            f"{rejection.reason}",
            file=out,
        )


def _summary(report: SyncReport) -> str:
    lines = [
        f"Pushed {report.pushed}: {report.applied} applied, {report.merged} merged, "
        f"{report.rejected} rejected, {report.duplicates} duplicates.",
        f"Pulled {report.pages} pages: {report.records_upserted} records updated, "
        f"{report.records_removed} removed{' (after a reset)' if report.reset else ''}, "
        f"in {report.duration:.1f} s.",
    ]
    for conflict in report.conflicts:
        kept, lost = conflict.server_value, conflict.client_value
        if conflict.winner == "client":
            kept, lost = lost, kept
        lines.append(
            f"  conflict on {conflict.entity} {conflict.record_id} {conflict.field} "
            f"({conflict.policy}): kept {kept!r} over {lost!r}"
        )
    for rejection in report.rejections:
        lines.append(
            f"  rejected {rejection.op} of {rejection.entity} {rejection.record_id}: "
            f"{rejection.code} — {rejection.reason}"
        )
    return "\n".join(lines)


def _field(assignment: str) -> tuple[str, Any]:
    """``name=text`` is a string; ``name:=json`` a JSON value (``quantity:=3``, ``notes:=null``)."""
    name, separator, value = assignment.partition("=")
    if not separator or name in ("", ":"):
        raise ValueError(f"expected field=value or field:=json, got {assignment!r}")
    if name.endswith(":"):
        return name[:-1], json.loads(value)
    return name, value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mobile_protocol.client",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--url", help="the server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--db", default="sfa-device.db", help="the device's local SQLite file")
    commands = parser.add_subparsers(dest="command", required=True)

    command = commands.add_parser("sign-in", help="sign in and register this device")
    command.add_argument("email")
    command.add_argument("--password", help="asked for when not given")
    command.add_argument("--device-name", default=socket.gethostname())
    command.add_argument("--platform", default="cli")
    command.set_defaults(run=sign_in)

    commands.add_parser("sync", help="push the queue, then pull").set_defaults(run=sync)

    command = commands.add_parser("show", help="records as the user sees them")
    command.add_argument("entity", choices=ENTITIES)
    command.add_argument("--limit", type=int, default=20)
    command.set_defaults(run=show)

    command = commands.add_parser("edit", help="queue an update of a record")
    command.add_argument("entity", choices=ENTITIES)
    command.add_argument("id")
    command.add_argument("assignments", nargs="+", metavar="field=value")
    command.set_defaults(run=edit)

    commands.add_parser("queue", help="pending mutations and rejections").set_defaults(run=queue)
    return parser


if __name__ == "__main__":
    sys.exit(main())
