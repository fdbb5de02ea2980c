"""Benchmark: the native sync protocol on PostgreSQL, served by gunicorn with 2 workers.

    python bench/sync_bench.py [--database-url URL] [--only initial,idle,push,full,fleet,watermelon]
                               [--duration 60] [--profile [cprofile|pyinstrument]]

Creates a fresh database (default ``sfa_bench`` on the local PostgreSQL), imports a generated
field force through the CLI's own import (12 territories, one of them with exactly 1,500
accounts; 10,000 accounts in the manager's scope; 2,000 products, 3 price lists, stock), starts
``sfa serve --workers 2`` on a free port, and measures, as a device would see it:

1. initial sync of one territory: time and compressed bytes (pages of 5000, and of 1000);
2. idle delta pull: latency over a keep-alive connection, and the workers' CPU per request;
3. push: several reps' devices at once, batches of 100 account edits: mutations/s;
4. full pull by a manager holding 10,000 accounts: records/s;
5. fleet: devices doing morning syncs back to back: syncs/s, and 10,000 syncs extrapolated;
6. watermelon: the territory of (1) pulled for the first time through the WatermelonDB
   endpoint (server time, bytes), next to the native first sync measured in the same run.

Each figure is printed with its target and whether it was met; the exit status is 0 when all
were, 2 when one was missed. ``--profile`` runs the server in this process instead, with a
profiler around each sync request, and prints where the time goes and the SQL each request
ran. The server is stopped (and the database dropped, unless ``--keep``) however the run ends.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time

from syncbench import pulls, pushes
from syncbench.database import BenchDatabase
from syncbench.dataset import ACCOUNTS, build_document
from syncbench.figures import print_table
from syncbench.run import BenchRun
from syncbench.servers import GunicornServer, InProcessServer, machine_busy_seconds

SCENARIOS = {
    "initial": pulls.initial_sync,
    "idle": pulls.idle_pull,
    "push": pushes.push_batches,
    "full": pulls.full_pull,
    "fleet": pushes.fleet,
    "watermelon": pulls.watermelon_first_pull,
}
SECRET = "sfa-sync-bench-secret-key-not-for-production"


def options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/sfa_bench",
        help="a PostgreSQL database the benchmark may drop and create (default: sfa_bench)",
    )
    parser.add_argument(
        "--only", default=",".join(SCENARIOS), help="comma-separated: " + ",".join(SCENARIOS)
    )
    parser.add_argument("--duration", type=float, default=60, help="fleet seconds (default 60)")
    parser.add_argument("--fleet-devices", type=int, default=24, help="default 24")
    parser.add_argument("--push-devices", type=int, default=8, help="default 8")
    parser.add_argument("--push-batches", type=int, default=25, help="per device (default 25)")
    parser.add_argument("--idle-requests", type=int, default=2000, help="default 2000")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--profile",
        nargs="?",
        const="cprofile",
        choices=("cprofile", "pyinstrument"),
        help="serve in-process and profile the sync requests of the chosen measurements",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reuse", action="store_true", help="use the data a --keep run left instead of importing"
    )
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(args.only) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown measurement(s): {', '.join(sorted(unknown))}")
    return args


def prepare(database: BenchDatabase, args: argparse.Namespace) -> None:
    if args.reuse and database.holds_bench_data():
        print(f"database     {database.name}: reusing the data of an earlier run")
        return
    started = time.perf_counter()
    data = json.dumps(build_document(args.seed), ensure_ascii=False).encode()
    database.recreate()
    seconds = database.load(data, SECRET)
    print(
        f"database     {database.name}: {len(data) / 1e6:.1f} MB import document "
        f"({ACCOUNTS:,} accounts) generated and imported in {time.perf_counter() - started:.1f} s "
        f"(import {seconds:.1f} s, not part of the figures)"
    )


def machine_load(seconds: float = 3.0) -> str:
    """How busy the machine is before the measurements start: other work skews them."""
    cores = os.cpu_count() or 1
    before = machine_busy_seconds()
    time.sleep(seconds)
    busy = (machine_busy_seconds() - before) / (seconds * cores)
    warning = "; figures will be skewed by other work" if busy > 0.1 else ""
    return f"{cores} cores, {busy:.0%} busy with other work before the measurements{warning}"


def interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = options(argv)
    signal.signal(signal.SIGINT, interrupt)  # even when started with SIGINT ignored (`cmd &`)
    signal.signal(signal.SIGTERM, interrupt)
    database = BenchDatabase(args.database_url)
    figures = []
    try:
        prepare(database, args)
        if args.profile:
            server = InProcessServer(database.url, SECRET, args.profile)
        else:
            server = GunicornServer(database.url, SECRET, args.workers)
        with server:
            print(f"server       {server.describe()}")
            print(f"machine      {machine_load()}")
            run = BenchRun(
                server,
                database.url,
                duration=args.duration,
                fleet_devices=args.fleet_devices,
                push_devices=args.push_devices,
                push_batches=args.push_batches,
                idle_requests=args.idle_requests // 4 if args.profile else args.idle_requests,
                repeats=1 if args.profile else 3,
            )
            try:
                for name in args.only:
                    figures += SCENARIOS[name](run)
            finally:
                run.stop.set()
            if args.profile:
                print(f"\n[profile] {args.profile}, measured phases of: {', '.join(args.only)}")
                server.profiler.report()
    except KeyboardInterrupt:
        print("\ninterrupted: server stopped", file=sys.stderr)
        return 130
    finally:
        if not args.keep:
            database.drop()
    print_table(figures)
    if args.profile:
        print("(under --profile the figures are inflated by the profiler: not comparable)")
    return 0 if all(f.met for f in figures) else 2


if __name__ == "__main__":
    sys.exit(main())
