"""Benchmark: territory realignment over a national field force.

    python bench/territory_bench.py [--accounts 50000] [--moving 10000]
                                    [--database-url postgresql://postgres@127.0.0.1:5432/sfa_territory_bench]
                                    [--keep]

Builds the import benchmark's field force (``import_bench.build_document``: 500 territories in
4 levels, 410 of them leaves; N accounts, 2 contacts each) with a postal code per account
(its leaf's 3-digit prefix and 3 random digits), imports it through the CLI's own path
(``sfa.cli.data.run_import``), and activates a first territory model that describes it: one
rule per region (postal prefixes of its leaves) and one per leaf (its postal range). Then it
measures, against the targets:

1. **dry run** of a second model over every account: the first model's rules plus, on each
   leaf, a higher-priority rule taking the lowest postal suffixes of the next leaf in its
   district, sized so that ``--moving`` accounts (default 10,000) change territory. Target:
   under 5 s for 50,000 accounts and 500 territories. Best of 3.
2. **subtree queries** at 500 territories, 2,000 random territories: the subtree's ids (what
   scopes are made of), and the accounts under it (a manager's scope); p50 and p95.
3. **activation** of that second model: every account moved, history written, orders
   re-credited, audit entry, in one transaction, committed. (Once: it changes the data.)

The database named by ``--database-url`` belongs to the benchmark: it is dropped and created
again (PostgreSQL), and dropped at the end unless ``--keep``. A ``sqlite:///`` URL runs the
same on a SQLite file.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime

from import_bench import build_document
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from sfa import create_app
from sfa.accounts.models import Account
from sfa.cli.data import run_import
from sfa.clock import today
from sfa.db import db
from sfa.migrate import upgrade
from sfa.territories import realign
from sfa.territories.models import Territory, TerritoryClosure
from sfa.territories.services import subtree_ids

SECRET = "sfa-territory-bench-secret-not-for-production"
TIMEZONE = "America/Bogota"


def options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--moving", type=int, default=10_000)
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/sfa_territory_bench"
    )
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--seed", type=int, default=2026)
    return parser.parse_args(argv)


def fresh_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        from pathlib import Path

        Path(parsed.database).unlink(missing_ok=True)
        return
    import psycopg

    server = parsed.set(drivername="postgresql", database="postgres").render_as_string(False)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.database}"')


def drop_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        from pathlib import Path

        Path(parsed.database).unlink(missing_ok=True)
        return
    import psycopg

    server = parsed.set(drivername="postgresql", database="postgres").render_as_string(False)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')


def field_force(accounts: int, seed: int) -> tuple[dict, dict[str, str], dict[str, list[str]]]:
    """The document, each leaf's postal prefix, and each district's leaves in order."""
    document = build_document(accounts, seed)
    rng = random.Random(seed)
    parent = {row["code"]: row["parent"] for row in document["territories"]}
    leaves = [row["code"] for row in document["territories"] if row["type"] == "territory"]
    prefix = {leaf: f"{n:03d}" for n, leaf in enumerate(leaves)}
    for account in document["accounts"]:
        account["postal_code"] = prefix[account["territory"]] + f"{rng.randrange(1000):03d}"
    districts: dict[str, list[str]] = {}
    for leaf in leaves:
        districts.setdefault(parent[leaf], []).append(leaf)
    return document, prefix, districts


def region_of(code: str) -> str:
    return code.split("-")[0]


def base_rules(prefix: dict[str, str]) -> list[tuple[str, int, dict]]:
    regions: dict[str, list[str]] = {}
    for leaf, digits in prefix.items():
        regions.setdefault(region_of(leaf), []).append(digits)
    rules = [
        (region, 0, {"field": "postal_code", "op": "prefix", "value": sorted(digits)})
        for region, digits in sorted(regions.items())
    ]
    rules += [
        (leaf, 1, {"field": "postal_code", "op": "between",
                   "value": [f"{digits}000", f"{digits}999"]})
        for leaf, digits in sorted(prefix.items())
    ]  # fmt: skip
    return rules


def shifted_rules(
    prefix: dict[str, str], districts: dict[str, list[str]], cut: int
) -> list[tuple[str, int, dict]]:
    """Each leaf also takes the next leaf's accounts whose postal suffix is below ``cut``."""
    rules = base_rules(prefix)
    for leaves in districts.values():
        for n, leaf in enumerate(leaves):
            neighbour = leaves[(n + 1) % len(leaves)]
            low, high = f"{prefix[neighbour]}000", f"{prefix[neighbour]}{cut - 1:03d}"
            rules.append((leaf, 5, {"field": "postal_code", "op": "between", "value": [low, high]}))
    return rules


def draft(app, name: str, rules: list[tuple[str, int, dict]]) -> str:  # noqa: ANN001
    with app.app_context():
        session = db.session
        codes = dict(session.execute(select(Territory.code, Territory.id)).all())
        now = datetime.now(UTC)
        model = realign.create_model(session, name, None, now, copy_active=False)
        for territory, priority, condition in rules:
            realign.add_rule(session, model.id, codes[territory], priority, condition, None, now)
        session.commit()
        return model.id


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    args = options(argv)
    url = args.database_url
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    fresh_database(url)
    try:
        started = time.perf_counter()
        document, prefix, districts = field_force(args.accounts, args.seed)
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET, "LOG_LEVEL": "WARNING"})
        with app.app_context():
            upgrade(db.engine)
        run_import(app, json.dumps(document).encode(), show_progress=False)
        current = draft(app, "in force", base_rules(prefix))
        with app.app_context():
            first = realign.activate(db.session, current, None, today(TIMEZONE),
                                     datetime.now(UTC), TIMEZONE)  # fmt: skip
            db.session.commit()
            territories = db.session.scalar(select(func.count()).select_from(Territory))
            accounts = db.session.scalar(select(func.count()).select_from(Account))
        if backend == "PostgreSQL":
            import psycopg

            with psycopg.connect(make_url(url).set(drivername="postgresql")
                                 .render_as_string(False), autocommit=True) as conn:  # fmt: skip
                conn.execute("VACUUM ANALYZE")
        print(
            f"database     {backend}: {territories} territories, {accounts:,} accounts, "
            f"loaded and aligned in {time.perf_counter() - started:.1f} s (not timed); "
            f"the first model moved {len(first.moves)} (its rules describe the import)"
        )
        cut = max(1, min(999, round(1000 * args.moving / max(accounts, 1))))
        model = draft(app, "realignment", shifted_rules(prefix, districts, cut))

        # 1. dry run
        runs, diff = [], None
        for _ in range(3):
            with app.app_context():
                begun = time.perf_counter()
                diff = realign.dry_run(db.session, model)
                runs.append(time.perf_counter() - begun)
                db.session.rollback()
        dry = min(runs)
        print(
            f"dry run      {accounts:,} accounts, {territories} territories, "
            f"{len(shifted_rules(prefix, districts, cut))} rules: {len(diff.moves):,} would move; "
            f"{dry:.2f} s (best of 3; {', '.join(f'{r:.2f}' for r in runs)})"
        )

        # 2. subtree queries
        rng = random.Random(args.seed)
        with app.app_context():
            ids = list(db.session.scalars(select(Territory.id)))
            ids_times, account_times = [], []
            for _ in range(2000):
                root = rng.choice(ids)
                begun = time.perf_counter()
                db.session.scalars(subtree_ids([root])).all()
                ids_times.append(time.perf_counter() - begun)
                begun = time.perf_counter()
                db.session.scalar(
                    select(func.count())
                    .select_from(Account)
                    .where(
                        Account.territory_id.in_(
                            select(TerritoryClosure.descendant_id).where(
                                TerritoryClosure.ancestor_id == root
                            )
                        )
                    )
                )
                account_times.append(time.perf_counter() - begun)
            db.session.rollback()
        ms = 1000
        print(
            f"subtree      2,000 random territories: ids p50 "
            f"{statistics.median(ids_times) * ms:.2f} ms, "
            f"p95 {percentile(ids_times, 0.95) * ms:.2f} ms; accounts under it (count) "
            f"p50 {statistics.median(account_times) * ms:.2f} ms, "
            f"p95 {percentile(account_times, 0.95) * ms:.2f} ms"
        )

        # 3. activation
        with app.app_context():
            begun = time.perf_counter()
            done = realign.activate(db.session, model, None, today(TIMEZONE), datetime.now(UTC),
                                    TIMEZONE)  # fmt: skip
            db.session.commit()
            activation = time.perf_counter() - begun
            db.engine.dispose()
        print(
            f"activation   {len(done.moves):,} accounts moved (with their history, children's "
            f"territory, audit) in one transaction: {activation:.2f} s"
        )
        met = dry < 5.0
        print(f"\nfigure                                  measured     target   result\n{'-' * 72}")
        print(f"dry run, {accounts:,} accounts          {dry:8.2f} s   < 5.00 s   "
              f"{'met' if met else 'MISSED'}")  # fmt: skip
        print(f"subtree ids p95                        {percentile(ids_times, 0.95) * ms:8.2f} ms")
        print(f"activation, {len(done.moves):,} accounts        {activation:8.2f} s")
        return 0 if met else 2
    finally:
        if not args.keep:
            drop_database(url)


if __name__ == "__main__":
    sys.exit(main())
