"""``/api/v1/forecasting``: quota, forecast, adjustments, attainment and baselines for any
subtree and run of months — what the manager dashboard shows, for BI tools too."""

from __future__ import annotations

from flask import Blueprint
from marshmallow import Schema, fields, validate

from sfa.clock import today
from sfa.columns import utcnow
from sfa.db import db
from sfa.forecasts import insights, planning, services
from sfa.forecasts import snapshots as snapshotting
from sfa.forecasts.models import FORECAST_CATEGORIES
from sfa.http.access import current_principal, current_user_id
from sfa.http.endpoints import endpoint
from sfa.wire_fields import RECORD_ID, AmountField, StrictInteger, Text

bp = Blueprint("forecasting", __name__, url_prefix="/api/v1/forecasting")
READERS = frozenset({"rep", "manager", "admin"})
PLANNERS = frozenset({"manager", "admin"})
_month = validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error="YYYY-MM")


class WindowSchema(Schema):
    territory_id = Text(required=True, validate=RECORD_ID)
    from_ = Text(required=True, data_key="from", validate=_month)
    to = Text(required=True, validate=_month)
    product_line = Text(load_default=None, validate=validate.Length(min=1, max=64))


class QuotaSchema(Schema):
    id = fields.String(dump_only=True)
    territory_id = Text(required=True, validate=RECORD_ID)
    period = Text(required=True, validate=_month)
    product_line = Text(required=True, validate=validate.Length(min=1, max=64))
    amount = AmountField(required=True, validate=validate.Range(min=0))
    units = StrictInteger(load_default=None, allow_none=True, validate=validate.Range(min=0))


class SpreadSchema(Schema):
    territory_id = Text(required=True, validate=RECORD_ID)
    year = StrictInteger(required=True, validate=validate.Range(min=2000, max=2100))
    product_line = Text(required=True, validate=validate.Length(min=1, max=64))
    annual_amount = AmountField(required=True, validate=validate.Range(min=0))
    distribution = fields.List(
        AmountField(validate=validate.Range(min=0, max=100)),
        required=True,
        validate=validate.Length(equal=12),
    )


class QuotaListSchema(Schema):
    items = fields.List(fields.Nested(QuotaSchema), dump_only=True)


class AdjustmentSchema(Schema):
    id = fields.String(dump_only=True)
    territory_id = Text(required=True, validate=RECORD_ID)
    period = Text(required=True, validate=_month)
    product_line = Text(required=True, validate=validate.Length(min=1, max=64))
    category = fields.String(required=True, validate=validate.OneOf(FORECAST_CATEGORIES))
    amount = AmountField(required=True, validate=validate.Range(min=0))
    note = Text(required=True, validate=validate.Length(min=1, max=2000))
    created_by = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    reset_at = fields.DateTime(dump_only=True, allow_none=True)
    reset_by = fields.String(dump_only=True, allow_none=True)
    reset_reason = fields.String(dump_only=True, allow_none=True)


class ResetSchema(Schema):
    reason = Text(required=True, validate=validate.Length(min=1, max=2000))


class HistoryQuerySchema(Schema):
    territory_id = Text(required=True, validate=RECORD_ID)
    from_ = Text(required=True, data_key="from", validate=_month)
    to = Text(required=True, validate=_month)


class AdjustmentListSchema(Schema):
    items = fields.List(fields.Nested(AdjustmentSchema), dump_only=True)


@endpoint(
    bp,
    "/summary",
    roles=READERS,
    summary="A territory and its children: quota, forecast by category (raw, adjusted, "
    "cumulative), attainment and gap over a run of months",
    query=WindowSchema(),
)
def summary(query: dict):
    periods = services.months(query["from_"], query["to"])
    return services.summary(
        db.session, current_principal(), query["territory_id"], periods, query["product_line"],
        today(),
    )  # fmt: skip


@endpoint(
    bp,
    "/monthly",
    roles=READERS,
    summary="A territory's quota, forecast and attainment month by month",
    query=WindowSchema(),
)
def monthly(query: dict):
    periods = services.months(query["from_"], query["to"])
    return services.monthly(
        db.session, current_principal(), query["territory_id"], periods, query["product_line"],
        today(),
    )  # fmt: skip


@endpoint(
    bp,
    "/quotas",
    method="PUT",
    roles=PLANNERS,
    summary="Set a territory's quota for a month and product line (never your own)",
    body=QuotaSchema(),
    response=QuotaSchema(),
)
def set_quota(body: dict):
    quota = planning.set_quota(
        db.session, current_principal(), body["territory_id"], body["period"],
        body["product_line"], body["amount"], body["units"], today(), utcnow(),
    )  # fmt: skip
    db.session.commit()
    return quota


@endpoint(
    bp,
    "/quotas/spread",
    method="POST",
    roles=PLANNERS,
    summary="Spread an annual quota over the 12 months by a distribution summing to 100%",
    body=SpreadSchema(),
    response=QuotaListSchema(),
)
def spread(body: dict):
    quotas = planning.spread_annual_quota(
        db.session, current_principal(), body["territory_id"], body["year"],
        body["product_line"], body["annual_amount"], body["distribution"], today(), utcnow(),
    )  # fmt: skip
    db.session.commit()
    return {"items": quotas}


@endpoint(
    bp,
    "/adjustments",
    method="POST",
    roles=PLANNERS,
    summary="Adjust the forecast of a territory in your subtree (a note is required)",
    body=AdjustmentSchema(),
    response=AdjustmentSchema(),
    status=201,
)
def adjust(body: dict):
    row = planning.adjust(
        db.session, current_principal(), body["territory_id"], body["period"],
        body["product_line"], body["category"], body["amount"], body["note"], today(), utcnow(),
    )  # fmt: skip
    db.session.commit()
    return row


@endpoint(
    bp,
    "/adjustments/<adjustment_id>/reset",
    method="POST",
    roles=PLANNERS,
    summary="Reset an adjustment, with the reason (it stays in the history)",
    body=ResetSchema(),
    response=AdjustmentSchema(),
)
def reset(adjustment_id: str, body: dict):
    row = planning.reset_adjustment(
        db.session, current_principal(), adjustment_id, body["reason"], today(), utcnow()
    )
    db.session.commit()
    return row


@endpoint(
    bp,
    "/adjustments",
    roles=READERS,
    summary="Every adjustment of a territory's forecast over a run of months, newest first",
    query=HistoryQuerySchema(),
    response=AdjustmentListSchema(),
)
def adjustments(query: dict):
    periods = services.months(query["from_"], query["to"])
    return {
        "items": planning.adjustment_history(
            db.session, current_principal(), query["territory_id"], periods, today()
        )
    }


class ComplianceQuerySchema(Schema):
    territory_id = Text(required=True, validate=RECORD_ID)
    days = fields.Integer(load_default=1, validate=validate.Range(min=1, max=365))


class TerritoryQuerySchema(Schema):
    territory_id = Text(required=True, validate=RECORD_ID)


@endpoint(
    bp,
    "/baseline",
    roles=READERS,
    summary="The statistical baseline of a subtree's sales for a run of months, with each "
    "model's backtest accuracy (a model is shown only when it beats seasonal naive)",
    query=WindowSchema(),
)
def baseline(query: dict):
    periods = services.months(query["from_"], query["to"])
    return insights.baseline_for(
        db.session, current_principal(), query["territory_id"], periods, query["product_line"],
        today(),
    )  # fmt: skip


@endpoint(
    bp,
    "/accuracy",
    roles=READERS,
    summary="Each rep's commit forecast against their territory's sales (WAPE, bias)",
    query=WindowSchema(),
)
def accuracy(query: dict):
    periods = services.months(query["from_"], query["to"])
    return {
        "items": insights.forecast_accuracy(
            db.session, current_principal(), query["territory_id"], periods, today()
        )
    }


@endpoint(
    bp,
    "/compliance",
    roles=READERS,
    summary="The subtree's reps and their last sync; late when none in the last N days",
    query=ComplianceQuerySchema(),
)
def compliance(query: dict):
    items = insights.sync_compliance(
        db.session, current_principal(), query["territory_id"], query["days"], utcnow(), today()
    )
    return {"days": query["days"], "items": items}


@endpoint(
    bp,
    "/open-conflicts",
    roles=READERS,
    summary="Conflicts awaiting a manager's review in the subtree",
    query=TerritoryQuerySchema(),
)
def open_conflicts(query: dict):
    found = insights.open_conflicts(db.session, current_principal(), query["territory_id"], today())
    return {
        "items": [
            {"id": c.id, "entity": c.entity, "record_id": c.record_id, "field": c.field,
             "kept_value": c.kept_value, "overruled_value": c.overruled_value,
             "user_id": c.user_id, "created_at": c.created_at}
            for c in found
        ]
    }  # fmt: skip


class SnapshotSchema(Schema):
    id = fields.String(dump_only=True)
    taken_at = fields.DateTime(dump_only=True)
    week = fields.String(dump_only=True)
    taken_by = fields.String(dump_only=True, allow_none=True)


class SnapshotListSchema(Schema):
    items = fields.List(fields.Nested(SnapshotSchema), dump_only=True)


class SnapshotDiffSchema(WindowSchema):
    before = Text(required=True, validate=RECORD_ID)
    after = Text(required=True, validate=RECORD_ID)


@endpoint(bp, "/snapshots", roles=READERS, summary="Forecast snapshots, newest first",
          response=SnapshotListSchema())  # fmt: skip
def snapshots():
    return {"items": snapshotting.listing(db.session)}


@endpoint(
    bp,
    "/snapshots",
    method="POST",
    roles=PLANNERS,
    summary="Snapshot the forecasts now (one is also taken every week)",
    response=SnapshotSchema(),
    status=201,
    body_required=False,
)
def take_snapshot():
    snapshot = snapshotting.take(db.session, current_user_id(), today(), utcnow())
    db.session.commit()
    return snapshot


@endpoint(
    bp,
    "/snapshots/diff",
    roles=READERS,
    summary="How the adjusted forecast of a territory and its children changed between two "
    "snapshots",
    query=SnapshotDiffSchema(),
)
def snapshot_diff(query: dict):
    periods = services.months(query["from_"], query["to"])
    return snapshotting.diff(
        db.session, current_principal(), query["territory_id"], query["before"],
        query["after"], periods, query["product_line"], today(),
    )  # fmt: skip
