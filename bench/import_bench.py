"""Benchmark: import a large generated ``sfa-import/1`` file, then import it again.

    python bench/import_bench.py [--accounts 50000] [--database-url URL] [--profile]

Generates a field force (a 4-level tree of 500 territories, 2,000 products, 3 price lists with
an item per product, stock, quotas, N accounts with 2 contacts each), writes it to a temporary
file, migrates a fresh database (a temporary SQLite file unless ``--database-url`` is given)
and times the CLI's own path (``sfa.cli.data.run_import``) twice: the first import, and a
re-import of the same file, which must change nothing. The target is a 50,000-account file in
under 60 s on SQLite.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import random
import sys
import tempfile
import time
from pathlib import Path

from sfa import create_app
from sfa.cli.data import run_import
from sfa.db import db
from sfa.migrate import upgrade

TARGET_SECONDS = 60.0
REGIONS, DISTRICTS_PER_REGION, TERRITORIES_PER_DISTRICT = 9, 10, 4  # 1 + 9 + 90 + 360 + 40 = 500
TERRITORY_COUNT = 500
PRODUCT_COUNT = 2000
PRODUCT_LINES = (
    "ANALGESICS",
    "ANTIBIOTICS",
    "CARDIOVASCULAR",
    "RESPIRATORY",
    "DERMATOLOGY",
    "GASTRO",
    "DIABETES",
    "NEUROLOGY",
    "VITAMINS",
    "PEDIATRICS",
)
QUOTA_PERIODS = ("2026-01", "2026-02", "2026-03")
PRICE_LISTS = (
    ("RETAIL", "Retail", 1.0),
    ("WHOLESALE", "Wholesale", 0.85),
    ("INSTITUTIONAL", "Institutional", 0.92),
)
CITIES = (
    "Bogotá",
    "Medellín",
    "Cali",
    "Barranquilla",
    "Cartagena",
    "Bucaramanga",
    "Pereira",
    "Manizales",
    "Cúcuta",
    "Ibagué",
    "Santa Marta",
    "Villavicencio",
    "Pasto",
    "Neiva",
)
KINDS = ("pharmacy",) * 7 + ("practice",) * 2 + ("hospital", "distributor")
SPECIALTIES = ("general medicine", "pediatrics", "cardiology", "pharmacist", "dermatology")


def territories() -> list[dict]:
    rows = [{"code": "CO", "name": "Colombia", "parent": None, "type": "country"}]
    leaves = []
    for r in range(1, REGIONS + 1):
        region = f"R{r:02d}"
        rows.append({"code": region, "name": f"Region {r}", "parent": "CO", "type": "region"})
        for d in range(1, DISTRICTS_PER_REGION + 1):
            district = f"{region}-D{d:02d}"
            rows.append(
                {
                    "code": district,
                    "name": f"District {r}.{d}",
                    "parent": region,
                    "type": "district",
                }
            )
            leaves.extend(
                (f"{district}-T{t}", district) for t in range(1, TERRITORIES_PER_DISTRICT + 1)
            )
    extra = TERRITORY_COUNT - len(rows) - len(leaves)  # fill up to 500 under the first districts
    leaves.extend(
        (f"R01-D{(n % 10) + 1:02d}-T{5 + n // 10}", f"R01-D{(n % 10) + 1:02d}")
        for n in range(extra)
    )
    rows.extend(
        {"code": code, "name": f"Territory {code}", "parent": parent, "type": "territory"}
        for code, parent in leaves
    )
    return rows


def products(rng: random.Random) -> tuple[list[dict], dict[str, float]]:
    rows, prices = [], {}
    for n in range(1, PRODUCT_COUNT + 1):
        sku = f"P-{n:05d}"
        rows.append(
            {
                "sku": sku,
                "name": f"Product {n} {rng.choice((50, 100, 250, 500))} mg",
                "product_line": PRODUCT_LINES[n % len(PRODUCT_LINES)],
                "unit": rng.choice(("box", "bottle", "tube")),
                "active": rng.random() > 0.03,
            }
        )
        prices[sku] = rng.randint(1_500, 450_000) + rng.choice((0, 0.5, 0.25))
    return rows, prices


def price_lists(prices: dict[str, float]) -> list[dict]:
    return [
        {
            "code": code,
            "name": name,
            "currency": "COP",
            "items": [
                {"sku": sku, "price": round(price * factor, 2)} for sku, price in prices.items()
            ],
        }
        for code, name, factor in PRICE_LISTS
    ]


def accounts_and_contacts(rng: random.Random, count: int, leaves: list[str]) -> tuple[list, list]:
    accounts, contacts = [], []
    for n in range(1, count + 1):
        code, city = f"A-{n:07d}", rng.choice(CITIES)
        accounts.append(
            {
                "code": code,
                "name": f"Drogueria {n} {city}",
                "kind": rng.choice(KINDS),
                "tax_id": f"900{rng.randint(100000, 999999)}-{rng.randint(0, 9)}",
                "address": f"Cl {rng.randint(1, 200)} #{rng.randint(1, 99)}-{rng.randint(1, 99)}",
                "city": city,
                "phone": f"+57 60{rng.randint(1, 8)} {rng.randint(2000000, 7999999)}",
                "email": f"compras{n}@example.com",
                "channel": rng.choice(("retail", "chain", "institutional")),
                "territory": leaves[n % len(leaves)],
                "price_list": PRICE_LISTS[n % 3][0],
                "credit_limit": rng.randint(1, 500) * 100_000 + rng.choice((0, 0.5, 0.25)),
                "active": rng.random() > 0.02,
            }
        )
        contacts.extend(
            {
                "code": f"C-{n:07d}-{k}",
                "account": code,
                "name": f"Contact {n}.{k}",
                "specialty": rng.choice(SPECIALTIES),
                "phone": f"+57 3{rng.randint(100000000, 509999999)}",
                "email": f"contact{n}.{k}@example.com",
            }
            for k in (1, 2)
        )
    return accounts, contacts


def quotas(rng: random.Random, leaves: list[str]) -> list[dict]:
    return [
        {
            "territory": territory,
            "period": period,
            "product_line": line,
            "amount": rng.randint(50, 900) * 1_000_000,
            "units": rng.randint(100, 5_000),
        }
        for territory in leaves
        for line in PRODUCT_LINES
        for period in QUOTA_PERIODS
    ]


def build_document(account_count: int, seed: int) -> dict:
    """A realistic import document; the same arguments always give the same document."""
    rng = random.Random(seed)
    tree = territories()
    leaves = [row["code"] for row in tree if row["type"] == "territory"]
    product_rows, prices = products(rng)
    accounts, contacts = accounts_and_contacts(rng, account_count, leaves)
    return {
        "format": "sfa-import/1",
        "territories": tree,
        "products": product_rows,
        "price_lists": price_lists(prices),
        "accounts": accounts,
        "contacts": contacts,
        "stock": [{"sku": p["sku"], "available": rng.randint(0, 8_000)} for p in product_rows],
        "quotas": quotas(rng, leaves),
    }


def row_count(document: dict) -> int:
    items = sum(len(price_list["items"]) for price_list in document["price_lists"])
    return items + sum(len(rows) for rows in document.values() if isinstance(rows, list))


def timed_import(app, data: bytes, profile: bool):  # noqa: ANN001, ANN201
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    report = run_import(app, data, show_progress=False)
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - started
    if profiler:
        stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs()
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(15)
    return report, elapsed


def describe(label: str, report, seconds: float, rows: int) -> None:  # noqa: ANN001
    created = sum(c.created for c in report.sections.values())
    updated = sum(c.updated for c in report.sections.values())
    print(
        f"{label:<12} {seconds:8.1f} s  {rows / seconds:10,.0f} rows/s  "
        f"created {created:,}, updated {updated:,}, changed: {report.changed}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=50_000, help="accounts (default 50000)")
    parser.add_argument("--database-url", help="an empty database (default: a temp SQLite file)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--profile", action="store_true", help="cProfile the first import")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="sfa-bench-") as folder:
        started = time.perf_counter()
        document = build_document(args.accounts, args.seed)
        path = Path(folder) / "import.json"
        path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
        rows = row_count(document)
        del document
        data = path.read_bytes()
        print(
            f"file         {len(data) / 1e6:8.1f} MB  {rows:,} rows "
            f"({args.accounts:,} accounts), generated in {time.perf_counter() - started:.1f} s"
        )

        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "LOG_LEVEL": "WARNING"})
        with app.app_context():
            upgrade(db.engine)
        print(f"database     {app.config['DATABASE_URL']}")

        first, first_seconds = timed_import(app, data, args.profile)
        describe("import", first, first_seconds, rows)
        again, again_seconds = timed_import(app, data, profile=False)
        describe("re-import", again, again_seconds, rows)
        with app.app_context():
            backend = db.engine.dialect.name
            db.engine.dispose()

    met = first_seconds < TARGET_SECONDS
    print(
        f"target       {args.accounts:,} accounts on {backend} in under {TARGET_SECONDS:.0f} s: "
        f"{'met' if met else 'NOT met'} ({first_seconds:.1f} s)"
    )
    if again.changed:
        print("FAILED: re-importing the same file changed data")
        return 1
    return 0 if met else 2


if __name__ == "__main__":
    sys.exit(main())
