"""Benchmark: forecasting roll-ups and the dashboard over a national field force.

    python bench/forecast_bench.py [--orders 200000] [--database-url URL] [--keep]

Builds the import benchmark's tree (500 territories in 4 levels, 410 leaves) with 20,000
accounts through the CLI's own import, then adds straight into the database (not timed): a rep
owning each leaf, 12 months of quotas and submitted forecasts (commit, best case, pipeline)
per leaf and product line, and ``--orders`` orders (default 200,000) with two lines each over
those 12 months, credited to their account's territory, most of them accepted or invoiced;
the monthly sales are then built from them (``sfa.forecasts.sales.refresh``, timed apart).

Measured, against the targets:

1. **roll-up**: ``sfa.forecasts.services.summary`` (quota, forecast by category raw and
   adjusted, attainment, gap; the territory and its children) over the 12 months for the
   country, every region, every district and 200 random leaves: p50, p95, max, and the median
   per level. Target: p95 < 50 ms.
2. **dashboard page**: ``GET /dashboard`` for a region (signed in as its manager, through the
   app's test client: server time only, no network), 30 times: p50 and p95. Target < 300 ms.

The database named by ``--database-url`` (default ``sfa_forecast_bench`` on the local
PostgreSQL; a ``sqlite:///`` URL works too) is dropped and created again, and dropped at the
end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
from datetime import UTC, date, datetime
from decimal import Decimal

from import_bench import PRODUCT_LINES, build_document
from sqlalchemy import insert, select
from territory_bench import drop_database, fresh_database, percentile

from sfa import create_app
from sfa.accounts.models import Account
from sfa.auth.models import User
from sfa.auth.principal import Principal
from sfa.catalog.models import Product
from sfa.cli.data import run_import
from sfa.columns import new_id
from sfa.db import db
from sfa.forecasts import sales, services
from sfa.forecasts.models import Forecast, Quota
from sfa.migrate import upgrade
from sfa.orders.models import Order, OrderLine
from sfa.territories.models import Territory, TerritoryAssignment

SECRET = "sfa-forecast-bench-secret-not-for-production"
PASSWORD = "forecast-bench-2026"
MONTHS = [f"2026-{m:02d}" for m in range(1, 13)]


def options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/sfa_forecast_bench"
    )
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--seed", type=int, default=2026)
    return parser.parse_args(argv)


def populate(app, orders: int, seed: int) -> dict[str, float]:  # noqa: ANN001
    rng = random.Random(seed)
    started = time.perf_counter()
    now = datetime.now(UTC)
    with app.app_context():
        session = db.session
        hasher = app.extensions["sfa.auth"].hasher
        leaves = list(session.scalars(select(Territory.id).where(Territory.type == "territory")))
        regions = list(session.scalars(select(Territory.id).where(Territory.type == "region")))
        secret = hasher.hash(PASSWORD)
        users, assignments = [], []
        for n, leaf in enumerate(leaves):
            user = new_id()
            users.append({"id": user, "email": f"rep{n:03d}@bench.example", "name": f"Rep {n}",
                          "role": "rep", "password_hash": secret, "active": True})  # fmt: skip
            assignments.append({"id": new_id(), "user_id": user, "territory_id": leaf,
                                "role": "owner", "valid_from": date(2025, 1, 1)})  # fmt: skip
        for n, region in enumerate(regions):
            user = new_id()
            users.append({"id": user, "email": f"manager{n}@bench.example", "name": f"Mgr {n}",
                          "role": "manager", "password_hash": secret, "active": True})  # fmt: skip
            assignments.append({"id": new_id(), "user_id": user, "territory_id": region,
                                "role": "manager", "valid_from": date(2025, 1, 1)})  # fmt: skip
        session.execute(insert(User), users)
        session.execute(insert(TerritoryAssignment), assignments)
        quotas, forecasts = [], []
        for leaf, rep in zip(leaves, (u["id"] for u in users), strict=False):
            for period in MONTHS:
                for line in PRODUCT_LINES:
                    amount = Decimal(rng.randint(20, 90) * 100_000)
                    quotas.append({"id": new_id(), "territory_id": leaf, "period": period,
                                   "product_line": line, "amount": amount})  # fmt: skip
                    for category, share in (("commit", 1.0), ("best_case", 0.2),
                                            ("pipeline", 0.1)):  # fmt: skip
                        forecasts.append({
                            "id": new_id(), "user_id": rep, "period": period,
                            "product_line": line, "category": category,
                            "amount": (amount * Decimal(str(share))).quantize(Decimal(1)),
                            "status": "submitted", "revision": 1, "field_stamps": {},
                        })  # fmt: skip
        session.execute(insert(Quota).values(updated_at=now), quotas)
        for start in range(0, len(forecasts), 20_000):
            session.execute(insert(Forecast), forecasts[start : start + 20_000])
        accounts = session.execute(select(Account.id, Account.territory_id)).all()
        products = session.execute(select(Product.id, Product.sku)).all()
        session.commit()
        statuses = ["invoiced"] * 6 + ["accepted", "shipped", "closed", "cancelled", "rejected"]
        for start in range(0, orders, 10_000):
            order_rows, line_rows = [], []
            for _ in range(min(10_000, orders - start)):
                account, territory = rng.choice(accounts)
                period = rng.choice(MONTHS)
                placed = datetime(2026, int(period[5:]), rng.randint(1, 28), 15, tzinfo=UTC)
                order = new_id()
                status = rng.choice(statuses)
                totals = []
                for _ in range(2):
                    product, sku = rng.choice(products)
                    quantity = rng.randint(1, 40)
                    price = Decimal(rng.randint(2_000, 90_000))
                    totals.append(price * quantity)
                    line_rows.append({
                        "id": new_id(), "order_id": order, "account_id": account,
                        "product_id": product, "sku": sku, "quantity": quantity,
                        "bonus_quantity": 0, "unit_price": price, "line_total": price * quantity,
                        "line_status": "accepted",
                        "invoiced_quantity": quantity if status in ("invoiced", "closed") else 0,
                    })  # fmt: skip
                order_rows.append({
                    "id": order, "account_id": account, "user_id": users[0]["id"],
                    "status": status, "placed_at": placed, "submitted_at": placed,
                    "total": sum(totals), "currency": "COP", "credited_territory_id": territory,
                    "credited_period": period, "created_at": placed, "updated_at": placed,
                })  # fmt: skip
            session.execute(insert(Order), order_rows)
            session.execute(insert(OrderLine), line_rows)
            session.commit()
        loaded = time.perf_counter() - started
        begun = time.perf_counter()
        rows = sales.refresh(session)
        session.commit()
        refreshed = time.perf_counter() - begun
    return {"load": loaded, "refresh": refreshed, "sales_rows": rows, "leaves": len(leaves)}


def main(argv: list[str] | None = None) -> int:
    args = options(argv)
    url = args.database_url
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    fresh_database(url)
    try:
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET, "LOG_LEVEL": "WARNING",
                          "PASSWORD_MEMORY_KIB": 1024, "PASSWORD_ITERATIONS": 1})  # fmt: skip
        with app.app_context():
            upgrade(db.engine)
        document = build_document(args.accounts, args.seed)
        document["quotas"] = []  # 12 months of them come below
        run_import(app, json.dumps(document).encode(), show_progress=False)
        figures = populate(app, args.orders, args.seed)
        if backend == "PostgreSQL":
            import psycopg
            from sqlalchemy.engine import make_url

            plain = make_url(url).set(drivername="postgresql").render_as_string(False)
            with psycopg.connect(plain, autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")
        print(
            f"database     {backend}: 500 territories ({figures['leaves']} leaves with a rep), "
            f"{args.accounts:,} accounts, {args.orders:,} orders with 2 lines over 12 months, "
            f"quotas and forecasts per leaf, month and product line; loaded in "
            f"{figures['load']:.1f} s (not timed); monthly sales built in "
            f"{figures['refresh']:.1f} s ({figures['sales_rows']:,} rows)"
        )
        rng = random.Random(args.seed)
        with app.app_context():
            session = db.session
            levels = {
                kind: list(session.scalars(select(Territory.id).where(Territory.type == kind)))
                for kind in ("country", "region", "district", "territory")
            }
            admin = Principal(new_id(), "admin", "bench")
            sample = [("country", t) for t in levels["country"]]
            sample += [("region", t) for t in levels["region"]]
            sample += [("district", t) for t in levels["district"]]
            sample += [("territory", t) for t in rng.sample(levels["territory"], 200)]
            times, by_level = [], {}
            for kind, territory in sample:
                begun = time.perf_counter()
                services.summary(session, admin, territory, MONTHS, None, date(2026, 12, 31))
                spent = time.perf_counter() - begun
                times.append(spent)
                by_level.setdefault(kind, []).append(spent)
                session.rollback()
            region = session.scalar(select(Territory.id).where(Territory.code == "R01"))
        ms = 1000
        levels_text = ", ".join(
            f"{kind} {statistics.median(spent) * ms:.1f}" for kind, spent in by_level.items()
        )
        print(
            f"roll-up      summary (quota, forecast by category, adjusted, attainment, gap) over "
            f"12 months for the country, every region and district and 200 leaves "
            f"({len(times)} calls): p50 {statistics.median(times) * ms:.1f} ms, "
            f"p95 {percentile(times, 0.95) * ms:.1f} ms, max {max(times) * ms:.1f} ms; "
            f"median by level (ms): {levels_text}"
        )
        client = app.test_client()
        page = client.get("/dashboard/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
        form = {"email": "manager0@bench.example", "password": PASSWORD, "csrf_token": token}
        client.post("/dashboard/login", data=form)
        pages = []
        for _ in range(30):
            begun = time.perf_counter()
            answer = client.get("/dashboard", query_string={
                "territory_id": region, "from": "2026-10", "to": "2026-12"})  # fmt: skip
            pages.append(time.perf_counter() - begun)
            assert answer.status_code == 200, answer.status_code
        print(
            f"dashboard    GET /dashboard for a region (1 of 9, ~45 territories), 3 months, "
            f"30 times: p50 {statistics.median(pages) * ms:.1f} ms, "
            f"p95 {percentile(pages, 0.95) * ms:.1f} ms"
        )
        rollup_ok = percentile(times, 0.95) < 0.050
        page_ok = percentile(pages, 0.95) < 0.300
        print(f"\nfigure                         measured      target    result\n{'-' * 64}")
        print(f"roll-up p95                  {percentile(times, 0.95) * ms:7.1f} ms   < 50 ms   "
              f"{'met' if rollup_ok else 'MISSED'}")  # fmt: skip
        print(f"dashboard page p95           {percentile(pages, 0.95) * ms:7.1f} ms   < 300 ms  "
              f"{'met' if page_ok else 'MISSED'}")  # fmt: skip
        with app.app_context():
            db.engine.dispose()
        return 0 if rollup_ok and page_ok else 2
    finally:
        if not args.keep:
            drop_database(url)


if __name__ == "__main__":
    sys.exit(main())
