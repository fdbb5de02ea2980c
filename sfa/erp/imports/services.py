"""Importing master data from the ERP: validate the whole document, then apply it in one
transaction. Upserts by natural key; records not in the file are untouched; an invalid file
imports nothing; importing the same file twice changes nothing the second time."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from mobile_protocol.pricing import PricingError, rule_from_record
from mobile_protocol.pricing.rule_parser import KIND_FIELDS
from sfa.accounts.models import MASTER_FIELDS, Account, Contact
from sfa.auth.passwords import PasswordHasher
from sfa.catalog.models import PriceList, PriceListItem, PricingRule, Product, StockLevel
from sfa.columns import utcnow
from sfa.erp.imports import people
from sfa.erp.imports.rules import KnownKeys, reference_errors
from sfa.erp.imports.schemas import SECTIONS, ImportDocument
from sfa.erp.imports.upsert import SectionCount, upsert
from sfa.errors import ValidationFailed, flatten_messages
from sfa.forecasts.models import Quota
from sfa.territories.history import record_owners
from sfa.territories.models import Territory
from sfa.territories.services import rebuild_closure
from sfa.wire import wire_number

ProgressFactory = Callable[[str, int], Callable[[int], None]]
REPORT_SECTIONS = (
    "territories",
    "users",
    "products",
    "price_lists",
    "price_list_items",
    "accounts",
    "contacts",
    "stock",
    "pricing_rules",
    "quotas",
)


@dataclass
class ImportReport:
    format: str
    sections: dict[str, SectionCount] = field(default_factory=dict)
    duration_ms: float = 0.0

    @property
    def changed(self) -> bool:
        return any(c.created or c.updated for c in self.sections.values())


def validate_document(session: Session, raw: Any) -> dict[str, Any]:
    """The loaded document, or :class:`ValidationFailed` listing every error with its path."""
    if not isinstance(raw, dict):
        raise ValidationFailed([{"path": "$", "message": "the import must be a JSON object"}])
    errors: list[dict[str, str]] = []
    loaded: dict[str, Any] = {}
    try:
        loaded = ImportDocument().load(raw)
    except ValidationError as exc:
        errors.extend(flatten_messages(exc.messages))
    errors.extend(reference_errors(raw, known_keys(session)))
    errors.extend(_rule_errors(loaded.get("pricing_rules", [])))
    if errors:
        raise ValidationFailed(sorted(errors, key=_path_order), "the import file is not valid")
    return loaded


def import_document(
    session: Session,
    hasher: PasswordHasher,
    raw: Any,
    today: date,
    progress: ProgressFactory | None = None,
) -> ImportReport:
    started = time.perf_counter()
    document = validate_document(session, raw)
    report = ImportReport(format=document["format"])
    now = utcnow()

    def step(section: str) -> Callable[[int], None] | None:
        return progress(section, len(document[section])) if progress else None

    territory_ids = _territories(session, document["territories"], now, report, step)
    report.sections["users"] = people.import_users(
        session, hasher, document["users"], territory_ids, today, now, step("users")
    )
    report.sections["products"], skus = upsert(
        session,
        Product,
        ["sku"],
        [_pick(r, "sku", "name", "product_line", "unit", "active") for r in document["products"]],
        now,
        step("products"),
    )
    skus = skus | _ids(session, Product, "sku")
    price_lists = _price_lists(session, document["price_lists"], skus, now, report, step)
    accounts = _accounts(
        session, document["accounts"], territory_ids, price_lists, today, now, report, step
    )
    report.sections["contacts"], _ = upsert(
        session,
        Contact,
        ["code"],
        [
            {
                **_pick(r, "code", "name", "specialty", "phone", "email", "active"),
                "account_id": accounts[r["account"]],
            }
            for r in document["contacts"]
        ],
        now,
        step("contacts"),
    )
    report.sections["stock"], _ = upsert(
        session,
        StockLevel,
        ["product_id"],
        [{"product_id": skus[r["sku"]], "available": r["available"]} for r in document["stock"]],
        now,
        step("stock"),
    )
    report.sections["quotas"], _ = upsert(
        session,
        Quota,
        ["territory_id", "period", "product_line"],
        [
            {
                **_pick(r, "period", "product_line", "amount", "units"),
                "territory_id": territory_ids[r["territory"]],
            }
            for r in document["quotas"]
        ],
        now,
        step("quotas"),
    )
    report.sections["pricing_rules"], _ = upsert(
        session,
        PricingRule,
        ["id"],
        [_pricing_rule(r, skus, accounts, price_lists) for r in document["pricing_rules"]],
        now,
        step("pricing_rules"),
    )
    session.commit()
    report.sections = {s: report.sections.get(s, SectionCount()) for s in REPORT_SECTIONS}
    report.duration_ms = round((time.perf_counter() - started) * 1000, 1)
    return report


def known_keys(session: Session) -> KnownKeys:
    parent = aliased(Territory)
    tree = session.execute(
        select(Territory.code, parent.code).outerjoin(parent, parent.id == Territory.parent_id)
    ).all()
    return KnownKeys(
        territory_parents=dict(tree),
        price_lists=set(session.scalars(select(PriceList.code))),
        accounts=set(session.scalars(select(Account.code))),
        skus=set(session.scalars(select(Product.sku))),
        product_lines=dict(session.execute(select(Product.sku, Product.product_line)).all()),
    )


def _territories(session, rows, now, report, step) -> dict[str, str]:  # noqa: ANN001
    known = _ids(session, Territory, "code")
    ordered = _parents_first(rows)
    count = SectionCount()
    tick = step("territories")
    before = dict(session.execute(select(Territory.code, Territory.parent_id)).all())
    structure_changed = False
    for level in ordered:  # one level at a time, so a parent always exists before its child
        desired = [
            {
                **_pick(r, "code", "name", "type", "active"),
                "parent_id": known[r["parent"]] if r["parent"] else None,
            }
            for r in level
        ]
        level_count, ids = upsert(session, Territory, ["code"], desired, now, tick)
        known.update(ids)
        count.add(level_count)
        structure_changed |= any(
            before.get(d["code"], "missing") != d["parent_id"] for d in desired
        )
    if structure_changed:
        rebuild_closure(session)
    report.sections["territories"] = count
    return known


def _parents_first(rows: list[dict]) -> list[list[dict]]:
    in_file = {r["code"]: r for r in rows}
    depth: dict[str, int] = {}

    def depth_of(code: str) -> int:
        if code not in depth:
            parent = in_file[code]["parent"]
            depth[code] = 0 if parent not in in_file else depth_of(parent) + 1
        return depth[code]

    levels: dict[int, list[dict]] = {}
    for row in rows:
        levels.setdefault(depth_of(row["code"]), []).append(row)
    return [levels[d] for d in sorted(levels)]


def _price_lists(session, rows, skus, now, report, step) -> dict[str, str]:  # noqa: ANN001
    report.sections["price_lists"], ids = upsert(
        session,
        PriceList,
        ["code"],
        [_pick(r, "code", "name", "currency", "active") for r in rows],
        now,
        step("price_lists"),
    )
    items = [
        {"price_list_id": ids[r["code"]], "product_id": skus[i["sku"]], "price": i["price"]}
        for r in rows
        for i in r["items"]
    ]
    item_count, _ = upsert(session, PriceListItem, ["price_list_id", "product_id"], items, now)
    report.sections["price_list_items"] = item_count
    return ids | _ids(session, PriceList, "code")


def _accounts(
    session, rows, territory_ids, price_lists, today, now, report, step
) -> dict[str, str]:  # noqa: ANN001
    desired = [
        {
            **_pick(r, *MASTER_FIELDS),
            "territory_id": territory_ids[r["territory"]],
            "price_list_id": price_lists[r["price_list"]] if r["price_list"] else None,
        }
        for r in rows
    ]
    owners_before = dict(session.execute(select(Account.code, Account.territory_id)).all())
    report.sections["accounts"], _ = upsert(
        session, Account, ["code"], desired, now, step("accounts")
    )
    ids = _ids(session, Account, "code")
    # a new account, or one the ERP moved: its territory history, effective today
    owners = {
        ids[row["code"]]: row["territory_id"]
        for row in desired
        if owners_before.get(row["code"]) != row["territory_id"]
    }
    record_owners(session, owners, today, "import", now)
    return ids


def _rule_errors(rows: list[dict]) -> list[dict[str, str]]:
    """What the shared pricing code would refuse in each rule (it prices from the same rule on
    every device, so a rule it cannot read must not be stored)."""
    errors = []
    for index, row in enumerate(rows):
        stand_in = {"sku": "product", "account": "account", "price_list": "price-list"}
        rule = _pricing_rule(
            row,
            {row["sku"]: stand_in["sku"]},
            {row["account"]: stand_in["account"]},
            {row["price_list"]: stand_in["price_list"]},
        )
        for name in ("valid_from", "valid_to"):
            rule[name] = rule[name].isoformat() if rule[name] else None
        if rule["bands"] is not None:
            rule["bands"] = [
                {"min_quantity": b["min_quantity"], "percent": Decimal(str(b["percent"]))}
                for b in rule["bands"]
            ]
        try:
            rule_from_record(rule)
        except PricingError as exc:
            problems = exc.details.get("errors") or [{"path": "", "message": exc.message}]
            for problem in problems:
                where = problem.get("path", "")
                path = f"pricing_rules[{index}]" + (f".{where}" if where and where != "$" else "")
                errors.append({"path": path, "message": problem["message"]})
    return errors


def _pricing_rule(row: dict, skus: dict, accounts: dict, price_lists: dict) -> dict[str, Any]:
    mine = KIND_FIELDS[row["kind"]]
    rule = {
        "id": row["code"],
        **_pick(row, "kind", "priority", "active", "valid_from", "valid_to", "product_line"),
        "product_id": skus[row["sku"]] if row["sku"] else None,
        "account_id": accounts[row["account"]] if row["account"] else None,
        "price_list_id": price_lists[row["price_list"]] if row["price_list"] else None,
    }
    for kind_fields in KIND_FIELDS.values():
        for name in kind_fields:
            rule[name] = row[name] if name in mine else None
    if rule["bands"] is not None:
        rule["bands"] = [
            {"min_quantity": band["min_quantity"], "percent": wire_number(band["percent"])}
            for band in rule["bands"]
        ]
    return rule


def _ids(session: Session, model: type, key: str) -> dict[str, str]:
    return dict(session.execute(select(getattr(model, key), model.id)).all())


def _pick(row: dict, *names: str) -> dict:
    return {name: row[name] for name in names}


def _path_order(error: dict[str, str]) -> tuple:
    section = error["path"].split("[", 1)[0].split(".", 1)[0]
    order = list(SECTIONS).index(section) if section in SECTIONS else -1
    indexes = [int(i) for i in re.findall(r"\[([0-9]+)\]", error["path"])]
    return (order, indexes, error["path"])
