"""What a device may write, and how concurrent edits are settled: declared here, in one place.

For every entity: which operations a rep's or manager's device may perform, which fields it may
set (some only when creating), each field's conflict policy, and the states in which the
record may still be changed. Everything not listed is server-owned and refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SERVER_WINS = "server_wins"
CLIENT_WINS = "client_wins"
LATEST_WINS = "latest_wins"
REVIEW = "review"
POLICIES = (SERVER_WINS, CLIENT_WINS, LATEST_WINS, REVIEW)


@dataclass(frozen=True)
class FieldRule:
    policy: str
    create_only: bool = False


@dataclass(frozen=True)
class EntityRules:
    operations: frozenset[str]
    fields: dict[str, FieldRule]
    required_on_create: tuple[str, ...] = ()
    owner_only: bool = False  # only the user who created it may change it
    changeable_in: tuple[str, ...] | None = None  # statuses in which it may still change
    status_moves: dict[str, frozenset[str]] = field(default_factory=dict)

    def writable(self, name: str, creating: bool) -> bool:
        rule = self.fields.get(name)
        return rule is not None and (creating or not rule.create_only)


def _rules(policy: str, *names: str, create_only: tuple[str, ...] = ()) -> dict[str, FieldRule]:
    found = {name: FieldRule(policy) for name in names}
    found.update({name: FieldRule(policy, create_only=True) for name in create_only})
    return found


ENTITY_RULES: dict[str, EntityRules] = {
    "accounts": EntityRules(
        operations=frozenset({"update"}),
        fields={
            **_rules(LATEST_WINS, "phone", "email"),
            "address": FieldRule(REVIEW),
        },
    ),
    "contacts": EntityRules(
        operations=frozenset({"create", "update"}),
        fields=_rules(
            LATEST_WINS,
            "name",
            "specialty",
            "phone",
            "email",
            "active",
            create_only=("account_id",),
        ),
        required_on_create=("account_id", "name"),
    ),
    "orders": EntityRules(
        operations=frozenset({"create", "update", "delete"}),
        fields={
            **_rules(
                CLIENT_WINS,
                "placed_at",
                "requested_delivery_date",
                "notes",
                "shown_total",
                create_only=("account_id",),
            ),
            "status": FieldRule(SERVER_WINS),
        },
        required_on_create=("account_id",),
        owner_only=True,
        changeable_in=("draft",),
        status_moves={"draft": frozenset({"draft", "submitted"})},
    ),
    "order_lines": EntityRules(
        operations=frozenset({"create", "update", "delete"}),
        fields=_rules(
            CLIENT_WINS,
            "product_id",
            "quantity",
            "bonus_quantity",
            "shown_unit_price",
            "shown_line_total",
            create_only=("order_id",),
        ),
        required_on_create=("order_id", "product_id", "quantity"),
        owner_only=True,
    ),
    "visits": EntityRules(
        operations=frozenset({"create", "update", "delete"}),
        fields=_rules(
            CLIENT_WINS,
            "contact_id",
            "planned_at",
            "started_at",
            "ended_at",
            "outcome",
            "notes",
            "products_discussed",
            "samples",
            create_only=("account_id",),
        ),
        required_on_create=("account_id",),
        owner_only=True,
    ),
    "forecasts": EntityRules(
        operations=frozenset({"create", "update"}),
        fields={
            **_rules(CLIENT_WINS, "period", "product_line", "category", "amount", "notes"),
            "status": FieldRule(SERVER_WINS),
        },
        required_on_create=("period", "product_line", "category", "amount"),
        owner_only=True,
        changeable_in=("draft",),
        status_moves={"draft": frozenset({"draft", "submitted"})},
    ),
}
