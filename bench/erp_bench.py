"""Benchmark: orders from the reps' devices to the ERP's webhook, on PostgreSQL.

    python bench/erp_bench.py [--database-url URL] [--duration 30] [--rate 10]
                              [--preload 3000] [--drain-dispatchers 1,3] [--keep]

Creates a fresh database (default ``sfa_erp_bench`` on the local PostgreSQL) holding a small
field force (8 reps, 20 accounts each, 20 products, no credit limits, ample stock), starts
``sfa serve --workers 2`` and one ``sfa erp-feed`` with the webhook adapter pointed at a local
receiver (``tests/erp/receiver.py``: checks each signature, books each event once), and
measures:

1. latency: reps push one order at a time (create, 1-3 lines, submit: one push, as the device
   queues it) at a moderate total rate; from sending the push to the receiver booking the
   event: p50 and p99;
2. end to end: reps push batches of orders back to back; orders/s pushed and delivered;
3. drain: with the dispatchers stopped, N orders are pushed (not timed); then K dispatchers
   start and the receiver's bookings are timed, first to last: events/s through the webhook.

Each figure is printed with its target and whether it was met (exit status 0, or 2 when one
was missed). The server and dispatchers are stopped, and the database dropped unless
``--keep``, however the run ends.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the receiver in tests/erp

from sync_bench import machine_load  # noqa: E402
from syncbench.database import BenchDatabase  # noqa: E402
from syncbench.dataset import PASSWORD  # noqa: E402
from syncbench.device import Device, wire_time  # noqa: E402
from syncbench.figures import Figure, median, percentile, print_table  # noqa: E402
from syncbench.servers import CpuMeter, GunicornServer, cpu_seconds  # noqa: E402

from tests.erp.receiver import Receiver  # noqa: E402

SECRET = "sfa-erp-bench-secret-key-not-for-production"
WEBHOOK_SECRET = "sfa-erp-bench-webhook-secret"
DOMAIN = "erp-bench.sfa.example"
ADMIN_EMAIL = f"admin@{DOMAIN}"
REPS, ACCOUNTS_PER_REP, PRODUCTS = 8, 20, 20


def build_document() -> dict:
    territories = [f"EB-{n:02d}" for n in range(1, REPS + 1)]
    skus = [f"EB-{n:04d}" for n in range(1, PRODUCTS + 1)]
    country = {"code": "CO", "name": "Colombia", "parent": None, "type": "country"}
    admin = {"email": ADMIN_EMAIL, "name": "Admin", "role": "admin", "password": PASSWORD}
    return {
        "format": "sfa-import/1",
        "territories": [country]
        + [{"code": c, "name": c, "parent": "CO", "type": "territory"} for c in territories],
        "users": [admin]
        + [
            {
                "email": rep_email(n),
                "name": f"Rep {n}",
                "role": "rep",
                "password": PASSWORD,
                "territories": [code],
            }
            for n, code in enumerate(territories)
        ],
        "products": [
            {"sku": s, "name": s, "product_line": "GENERAL", "unit": "box", "active": True}
            for s in skus
        ],
        "price_lists": [
            {
                "code": "RETAIL",
                "name": "Retail",
                "currency": "COP",
                "items": [{"sku": s, "price": 10_000 + 250 * n} for n, s in enumerate(skus)],
            }
        ],
        "accounts": [
            {
                "code": f"A-{code}-{n}",
                "name": f"Drogueria {code} {n}",
                "kind": "pharmacy",
                "city": "Medellin",
                "channel": "retail",
                "territory": code,
                "price_list": "RETAIL",
                "credit_limit": None,  # thousands of orders: none held for credit
                "active": True,
            }
            for code in territories
            for n in range(ACCOUNTS_PER_REP)
        ],
        "stock": [{"sku": s, "available": 10**9} for s in skus],
    }


def rep_email(n: int) -> str:
    return f"rep{n + 1:02d}@{DOMAIN}"


class ErpBenchDatabase(BenchDatabase):
    def holds_bench_data(self) -> bool | None:
        try:
            with psycopg.connect(self.url, connect_timeout=5) as conn:
                found = conn.execute("SELECT 1 FROM users WHERE email = %s", (ADMIN_EMAIL,))
                return found.fetchone() is not None
        except psycopg.errors.UndefinedTable:
            return None
        except psycopg.OperationalError as exc:
            if f'database "{self.name}" does not exist' in str(exc):
                return None
            raise


class Rep:
    """A rep's device taking orders over one keep-alive connection."""

    def __init__(self, port: int, n: int) -> None:
        self.device = Device(port, rep_email(n), f"erp-bench-{n}")
        self.device.sign_in()
        page = self.device.exchange("GET", "/api/v1/sync/pull?limit=5000").body
        assert not page["has_more"]
        self.accounts = [r["id"] for r in page["changes"]["accounts"]["upserts"]]
        self.products = [r["id"] for r in page["changes"]["products"]["upserts"]]
        self.rng = random.Random(n)

    def order(self) -> tuple[str, list[dict]]:
        order, now = str(uuid.uuid4()), wire_time()
        fields = {"account_id": self.rng.choice(self.accounts), "placed_at": now}
        mutations = [_mutation("orders", "create", order, fields)]
        for product in self.rng.sample(self.products, self.rng.randint(1, 3)):
            line = {"order_id": order, "product_id": product, "quantity": self.rng.randint(1, 40)}
            mutations.append(_mutation("order_lines", "create", str(uuid.uuid4()), line))
        mutations.append(_mutation("orders", "update", order, {"status": "submitted"}, 1))
        return order, mutations

    def push(self, count: int) -> tuple[list[str], float]:
        """Take ``count`` orders in one push; returns them and when the push was sent."""
        batch = [self.order() for _ in range(count)]
        sent = time.time()
        body = {
            "protocol": 1,
            "device_time": wire_time(),
            "mutations": [m for _, ms in batch for m in ms],
        }
        results = self.device.exchange("POST", "/api/v1/sync/push", body).body["results"]
        if {r["status"] for r in results} != {"applied"}:
            raise RuntimeError(f"a mutation was not applied: {results[:3]}")
        return [order for order, _ in batch], sent


def _mutation(entity: str, op: str, record_id: str, fields: dict, base: int | None = None) -> dict:
    found = {
        "id": str(uuid.uuid4()),
        "entity": entity,
        "op": op,
        "record_id": record_id,
        "fields": fields,
    }
    if base is not None:
        found["base_revision"] = base
    return found


class Feed:
    """``sfa erp-feed`` (the dispatcher) as a child process, with the webhook adapter."""

    def __init__(self, database_url: str, receiver: Receiver) -> None:
        sfa = Path(sys.executable).with_name("sfa")
        command = [str(sfa)] if sfa.exists() else [sys.executable, "-m", "sfa.cli.main"]
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",  # its "delivering" line tells when it is ready
            "SFA_DATABASE_URL": database_url,
            "SFA_SECRET_KEY": SECRET,
            "SFA_LOG_LEVEL": "WARNING",
            "SFA_ERP_ADAPTER": "webhook",
            "SFA_ERP_WEBHOOK_URL": receiver.url,
            "SFA_ERP_WEBHOOK_SECRET": WEBHOOK_SECRET,
        }
        self.log = Path(tempfile.gettempdir()) / f"sfa-erp-bench-feed-{uuid.uuid4().hex[:8]}.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command + ["erp-feed"], env=env, stdout=log, stderr=log)

    def wait_ready(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while b"erp-feed: delivering" not in self.log.read_bytes():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"erp-feed did not start:\n{self.log.read_text()[-2000:]}")
            time.sleep(0.05)

    def cpu(self) -> float:
        with contextlib.suppress(OSError):
            return cpu_seconds(self.process.pid)
        return 0.0

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.returncode not in (0, -signal.SIGTERM):
            print(
                f"erp-feed exited with {self.process.returncode}:\n{self.log.read_text()[-2000:]}"
            )
        self.log.unlink(missing_ok=True)


def booked_at(receiver: Receiver, orders: set[str]) -> dict[str, float]:
    with receiver.lock:
        return {r.order_id: r.at for r in receiver.booked.values() if r.order_id in orders}


def wait_booked(receiver: Receiver, orders: set[str], seconds: float) -> dict[str, float]:
    deadline = time.monotonic() + seconds
    while len(found := booked_at(receiver, orders)) < len(orders):
        if time.monotonic() > deadline:
            raise SystemExit(
                f"only {len(found)} of {len(orders)} orders reached the ERP in {seconds:.0f} s"
            )
        time.sleep(0.25)  # the bookings carry their own times: polling need not be tight
    return found


def in_threads(tasks: list) -> None:  # noqa: ANN001
    errors: list[BaseException] = []

    def guarded(task) -> None:  # noqa: ANN001
        try:
            task()
        except BaseException as exc:  # noqa: BLE001 (raised below)
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(t,), daemon=True) for t in tasks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def latency(reps: list[Rep], receiver: Receiver, seconds: float, rate: float) -> list[Figure]:
    sent: dict[str, float] = {}
    deadline = time.monotonic() + seconds
    interval = len(reps) / rate

    def rep_day(rep: Rep) -> None:
        while time.monotonic() < deadline:
            (order,), at = rep.push(1)
            sent[order] = at
            time.sleep(rep.rng.uniform(0.5, 1.5) * interval)

    in_threads([lambda rep=rep: rep_day(rep) for rep in reps])
    booked = wait_booked(receiver, set(sent), 30)
    waits = [booked[order] - at for order, at in sent.items()]
    print(
        f"latency      {len(sent):,} orders pushed one at a time by {len(reps)} reps over "
        f"{seconds:.0f} s ({len(sent) / seconds:.1f}/s); push to booking: p50 "
        f"{median(waits) * 1000:.0f} ms, p99 {percentile(waits, 0.99) * 1000:.0f} ms, "
        f"max {max(waits) * 1000:.0f} ms"
    )
    return [
        Figure("order push to ERP booking, p50", median(waits) * 1000, "ms", 1000, True, 0),
        Figure(
            "order push to ERP booking, p99", percentile(waits, 0.99) * 1000, "ms", 1000, True, 0
        ),
    ]


def push_batches(reps: list[Rep], seconds: float, batch: int) -> tuple[dict[str, float], float]:
    """Every rep pushes batches back to back for ``seconds``; returns orders -> sent, and the
    wall time the pushing took."""
    sent: dict[str, float] = {}
    started = time.monotonic()

    def rep_day(rep: Rep) -> None:
        while time.monotonic() - started < seconds:
            orders, at = rep.push(batch)
            sent.update(dict.fromkeys(orders, at))

    in_threads([lambda rep=rep: rep_day(rep) for rep in reps])
    return sent, time.monotonic() - started


def end_to_end(reps: list[Rep], receiver: Receiver, seconds: float, batch: int) -> str:
    sent, pushing = push_batches(reps, seconds, batch)
    booked = wait_booked(receiver, set(sent), 120)
    span = max(booked.values()) - min(sent.values())
    return (
        f"end to end   {len(reps)} reps pushing {batch} orders per push for {pushing:.0f} s: "
        f"{len(sent) / pushing:,.0f} orders/s taken by the server, {len(sent) / span:,.0f} "
        f"orders/s delivered (first push sent to last booking, {span:.1f} s, 1 dispatcher)"
    )


def preload(reps: list[Rep], orders: int, batch: int) -> set[str]:
    """``orders`` submitted orders whose events wait in the outbox (not timed)."""
    taken: set[str] = set()
    pushes = -(-orders // (len(reps) * batch))

    def rep_day(rep: Rep) -> None:
        for _ in range(pushes):
            taken.update(rep.push(batch)[0])

    in_threads([lambda rep=rep: rep_day(rep) for rep in reps])
    return taken


def drain(args, reps, receiver, server, database_url, dispatchers: int) -> Figure:  # noqa: ANN001
    """With no dispatcher running, pre-load orders; then start ``dispatchers`` and time the
    receiver's bookings from the first to the last."""
    preloaded = preload(reps, args.preload, args.batch)
    booked_before = len(receiver.booked)
    feeds = [Feed(database_url, receiver) for _ in range(dispatchers)]
    meter = CpuMeter(server, database_url)
    try:
        wait_for_first_booking(receiver, booked_before)
        meter.start()
        feed_cpu = sum(feed.cpu() for feed in feeds)
        booked = wait_booked(receiver, preloaded, 600)
        meter.stop()
        feed_cpu = sum(feed.cpu() for feed in feeds) - feed_cpu
    finally:
        for feed in feeds:
            feed.stop()
        meter.close()
    span = max(booked.values()) - min(booked.values())
    rate = (len(booked) - 1) / span
    cores = os.cpu_count() or 1
    print(
        f"drain        {len(booked):,} pending orders, {dispatchers} dispatcher(s): "
        f"{rate:,.0f} events/s over {span:.1f} s; CPU of the {cores} cores: dispatchers "
        f"{feed_cpu / (span * cores):.0%}, PostgreSQL {meter.postgres / (span * cores):.0%}, "
        f"receiver (this process) {meter.client / (span * cores):.0%}; CPU per event: "
        f"dispatchers {feed_cpu / len(booked) * 1000:.2f} ms, PostgreSQL "
        f"{meter.postgres / len(booked) * 1000:.2f} ms"
    )
    return Figure(f"webhook delivery, {dispatchers} dispatcher(s)", rate, "events/s", 500, False, 0)


def wait_for_first_booking(receiver: Receiver, booked_before: int) -> None:
    deadline = time.monotonic() + 60
    while len(receiver.booked) == booked_before:
        if time.monotonic() > deadline:
            raise SystemExit("the dispatcher delivered nothing within 60 s")
        time.sleep(0.005)


def options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/sfa_erp_bench"
    )
    parser.add_argument("--duration", type=float, default=30, help="latency seconds (default 30)")
    parser.add_argument("--rate", type=float, default=10, help="orders/s in the latency run")
    parser.add_argument("--e2e-seconds", type=float, default=20, help="default 20")
    parser.add_argument("--batch", type=int, default=20, help="orders per push when batching")
    parser.add_argument("--preload", type=int, default=3000, help="orders per drain (default 3000)")
    parser.add_argument("--drain-dispatchers", default="1,3", help="dispatchers per drain run")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args(argv)


def interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = options(argv)
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    database = ErpBenchDatabase(args.database_url)
    figures: list[Figure] = []
    try:
        database.recreate()
        seconds = database.load(json.dumps(build_document()).encode(), SECRET)
        print(
            f"database     {database.name}: {REPS} reps x {ACCOUNTS_PER_REP} accounts, "
            f"{PRODUCTS} products, loaded in {seconds:.1f} s (not timed)"
        )
        with (
            GunicornServer(database.url, SECRET, args.workers) as server,
            Receiver(WEBHOOK_SECRET) as receiver,
        ):
            print(f"server       {server.describe()}")
            print(f"machine      {machine_load()}")
            print(
                "dispatcher   sfa erp-feed, webhook adapter, default settings (batch 50, "
                "4 threads, poll 0.5 s); receiver: tests/erp/receiver.py in this process"
            )
            reps = [Rep(server.port, n) for n in range(REPS)]
            feed = Feed(database.url, receiver)
            try:
                feed.wait_ready()
                figures += latency(reps, receiver, args.duration, args.rate)
                print(end_to_end(reps, receiver, args.e2e_seconds, args.batch))
            finally:
                feed.stop()
            for count in (int(n) for n in args.drain_dispatchers.split(",") if n.strip()):
                figures.append(drain(args, reps, receiver, server, database.url, count))
            print(
                f"receiver     {len(receiver.calls):,} calls, {len(receiver.booked):,} booked, "
                f"{receiver.accepted_again()} resends, {receiver.bad_signatures} bad signatures"
            )
    except KeyboardInterrupt:
        print("\ninterrupted: server and dispatchers stopped", file=sys.stderr)
        return 130
    finally:
        if not args.keep:
            database.drop()
    print_table(figures)
    return 0 if all(f.met for f in figures) else 2


if __name__ == "__main__":
    sys.exit(main())
