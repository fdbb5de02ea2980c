"""Whether a device may reach a record: the rep's scope, authorship, and the record's state.
Each check raises :class:`Rejected` with the code the device acts on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from sfa.accounts.models import Account, Contact
from sfa.catalog.models import Product
from sfa.orders.models import Order
from sfa.sync.mutations import PushContext, Rejected
from sfa.sync.policy import EntityRules


def account_in_scope(ctx: PushContext, account_id: str | None) -> Account:
    account = ctx.session.get(Account, account_id) if account_id else None
    if account is None:
        raise Rejected("not_found", f"no account {account_id}")
    if account.territory_id not in ctx.scope:
        raise Rejected(
            "out_of_scope", "the account is not in your territories", {"account_id": account.id}
        )
    return account


def territory_of(ctx: PushContext, entity: str, record: Any) -> str | None:
    if entity == "accounts":
        return record.territory_id
    account_id = getattr(record, "account_id", None)
    account = ctx.session.get(Account, account_id) if account_id else None
    return account.territory_id if account else None


def check_reach(ctx: PushContext, entity: str, record: Any) -> None:
    if entity == "accounts":
        account_in_scope(ctx, record.id)
    elif hasattr(record, "account_id"):
        account_in_scope(ctx, record.account_id)
    elif getattr(record, "user_id", None) != ctx.principal.user_id:
        raise Rejected("not_found", f"no {entity} record {record.id}")


def owner_of(ctx: PushContext, entity: str, record: Any) -> str | None:
    if entity == "order_lines":
        return ctx.session.get(Order, record.order_id).user_id
    return getattr(record, "user_id", None)


def check_state(ctx: PushContext, rules: EntityRules, entity: str, record: Any) -> None:
    if entity == "order_lines":
        if ctx.session.get(Order, record.order_id).status != "draft":
            raise Rejected("invalid_state", "the order has been submitted and can no longer change")
    elif rules.changeable_in and record.status not in rules.changeable_in:
        raise Rejected("invalid_state", f"a {record.status} record can no longer change")


def ownership_on_create(ctx: PushContext, entity: str, values: dict) -> dict:
    user = ctx.principal.user_id
    if entity == "contacts":
        account_in_scope(ctx, values["account_id"])
        return {}
    if entity == "orders":
        account_in_scope(ctx, values["account_id"])
        return {"user_id": user, "device_id": ctx.device_id}
    if entity == "order_lines":
        return _line_parent(ctx, values)
    if entity == "visits":
        account = account_in_scope(ctx, values["account_id"])
        contact_id = values.get("contact_id")
        if (
            contact_id
            and ctx.session.scalar(select(Contact.account_id).where(Contact.id == contact_id))
            != account.id
        ):
            raise Rejected(
                "invalid_fields",
                "the contact does not belong to this account",
                {"errors": [{"path": "fields.contact_id", "message": "unknown"}]},
            )
        return {"user_id": user}
    if entity == "forecasts":
        return {
            "user_id": user,
            "submitted_at": ctx.now if values.get("status") == "submitted" else None,
        }
    return {}


def _line_parent(ctx: PushContext, values: dict) -> dict:
    order = ctx.session.get(Order, values["order_id"], with_for_update=True)
    if order is None:
        raise Rejected("not_found", f"no order {values['order_id']}")
    account_in_scope(ctx, order.account_id)
    if order.user_id != ctx.principal.user_id:
        raise Rejected("operation_not_allowed", "only its author may change this order")
    if order.status != "draft":
        raise Rejected("invalid_state", "the order has been submitted and can no longer change")
    product = ctx.session.get(Product, values["product_id"])
    if product is None:
        raise Rejected(
            "invalid_fields",
            "unknown product",
            {"errors": [{"path": "fields.product_id", "message": "unknown product"}]},
        )
    return {"account_id": order.account_id, "sku": product.sku}
