"""The synced entities: their tables, how each is scoped, and the fields a device receives.

Order matters: parents come before children in every pull page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Date, Table, func
from sqlalchemy.sql.elements import ColumnElement

from mobile_protocol.pricing.rule_parser import COMMON_FIELDS, KIND_FIELDS
from sfa.accounts.models import MASTER_FIELDS, Account, Contact
from sfa.catalog.models import PriceList, PriceListItem, PricingRule, Product, StockLevel
from sfa.columns import Amount, UTCDateTime
from sfa.forecasts.models import Forecast, Quota
from sfa.orders.models import Order, OrderLine
from sfa.sync.models import Conflict
from sfa.territories.models import Territory
from sfa.visits.models import Visit
from sfa.wire import wire_value

# How an entity is scoped to a device:
GLOBAL = "global"  # everyone receives it
TERRITORY = "territory"  # by its own territory_id (territories: by id)
ACCOUNT = "account"  # by its account's territory
USER = "user"  # the user's own


@dataclass(frozen=True)
class SyncedEntity:
    name: str
    model: type
    scope: str
    fields: tuple[str, ...]
    key: str = "id"

    @property
    def table(self) -> Table:
        return self.model.__table__

    @property
    def revisioned(self) -> bool:
        return "revision" in self.table.c

    @property
    def scope_column(self) -> str | None:
        return {
            TERRITORY: "id" if self.name == "territories" else "territory_id",
            ACCOUNT: "account_id",
            USER: "user_id",
        }.get(self.scope)

    def record_columns(self) -> list[str]:
        extra = ["revision"] if self.revisioned else []
        return [self.key, *self.fields, *extra]


ENTITIES: tuple[SyncedEntity, ...] = (
    SyncedEntity(
        "territories", Territory, TERRITORY, ("code", "name", "type", "parent_id", "active")
    ),
    SyncedEntity("products", Product, GLOBAL, ("sku", "name", "product_line", "unit", "active")),
    SyncedEntity("price_lists", PriceList, GLOBAL, ("code", "name", "currency", "active")),
    SyncedEntity(
        "price_list_items", PriceListItem, GLOBAL, ("price_list_id", "product_id", "price")
    ),
    SyncedEntity("stock", StockLevel, GLOBAL, ("available",), key="product_id"),
    SyncedEntity(
        "pricing_rules",
        PricingRule,
        GLOBAL,
        # the rule's fields as the shared pricing code reads them: common, then each kind's
        (*COMMON_FIELDS[1:], *(name for names in KIND_FIELDS.values() for name in names)),
    ),
    SyncedEntity("accounts", Account, TERRITORY, (*MASTER_FIELDS, "price_list_id", "territory_id")),
    SyncedEntity(
        "contacts",
        Contact,
        ACCOUNT,
        ("code", "account_id", "name", "specialty", "phone", "email", "active"),
    ),
    SyncedEntity(
        "orders",
        Order,
        ACCOUNT,
        (
            "account_id",
            "user_id",
            "status",
            "placed_at",
            "requested_delivery_date",
            "notes",
            "shown_total",
            "currency",
            "gross_total",
            "discount_total",
            "total",
            "hold_reasons",
            "status_reason",
            "erp_reference",
            "submitted_at",
        ),
    ),
    SyncedEntity(
        "order_lines",
        OrderLine,
        ACCOUNT,
        (
            "order_id",
            "product_id",
            "sku",
            "quantity",
            "bonus_quantity",
            "free_quantity",
            "shown_unit_price",
            "shown_line_total",
            "unit_price",
            "discount_percent",
            "discount_amount",
            "line_total",
            "line_status",
            "confirmed_quantity",
            "backordered_quantity",
            "shipped_quantity",
            "invoiced_quantity",
            "confirmed_unit_price",
        ),
    ),
    SyncedEntity(
        "visits",
        Visit,
        ACCOUNT,
        (
            "account_id",
            "contact_id",
            "user_id",
            "planned_at",
            "started_at",
            "ended_at",
            "outcome",
            "notes",
            "products_discussed",
            "samples",
        ),
    ),
    SyncedEntity(
        "forecasts",
        Forecast,
        USER,
        ("user_id", "period", "product_line", "category", "amount", "notes", "status"),
    ),
    SyncedEntity(
        "quotas", Quota, TERRITORY, ("territory_id", "period", "product_line", "amount", "units")
    ),
    SyncedEntity(
        "conflicts",
        Conflict,
        USER,
        (
            "entity",
            "record_id",
            "field",
            "policy",
            "winner",
            "kept_value",
            "overruled_value",
            "status",
            "created_at",
        ),
    ),
)
BY_NAME = {entity.name: entity for entity in ENTITIES}


_WIRE_TIMESTAMP = 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'


def record_columns_sql(entity: SyncedEntity) -> list[ColumnElement]:
    """PostgreSQL only: the wire record's fields as SQL expressions labelled with their names,
    already in wire form, so ``row_to_json`` over them gives the record's JSON text exactly as
    :func:`record_shaper` and the JSON encoder would (tests compare the two): exact amounts
    without trailing zeros, UTC timestamps to the millisecond with ``Z``, ISO dates."""
    table = entity.table
    columns = entity.record_columns()
    names = ["id", *columns] if entity.key != "id" else columns
    found = []
    for name, source in zip(
        names, [entity.key, *columns] if entity.key != "id" else columns, strict=True
    ):
        column = table.c[source]
        if isinstance(column.type, Amount):
            value = func.trim_scale(column)
        elif isinstance(column.type, UTCDateTime):
            value = func.to_char(func.timezone("UTC", column), _WIRE_TIMESTAMP)
        elif isinstance(column.type, Date):
            value = func.to_char(column, "YYYY-MM-DD")
        else:
            value = column
        found.append(value.label(name))
    return found


def record_shaper(entity: SyncedEntity) -> Callable[[Any], dict[str, Any]]:
    """A function turning a selected row (columns in ``record_columns()`` order) into the wire
    record, ``id`` first. Only the columns whose type needs it are converted."""
    columns = entity.record_columns()
    names = ["id", *columns] if entity.key != "id" else columns
    converted = [
        name
        for name in columns
        if isinstance(entity.table.c[name].type, Amount | UTCDateTime | Date)
    ]
    keyed = entity.key != "id"

    def shape(row: Any) -> dict[str, Any]:
        values = tuple(row)
        record = dict(zip(names, (values[0], *values) if keyed else values, strict=True))
        for name in converted:
            value = record[name]
            if value is not None:
                record[name] = wire_value(value)
        return record

    return shape
