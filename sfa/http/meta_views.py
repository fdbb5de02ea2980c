"""Operational routes: health, metrics, and the OpenAPI document."""

from __future__ import annotations

from flask import Blueprint, current_app
from marshmallow import Schema, fields
from sqlalchemy import text

from sfa.db import db
from sfa.errors import Unavailable
from sfa.http.endpoints import PUBLIC, endpoint

bp = Blueprint("meta", __name__)


class HealthSchema(Schema):
    status = fields.String(dump_only=True)
    database = fields.String(dump_only=True)
    version = fields.String(dump_only=True)


@endpoint(
    bp, "/healthz", roles=PUBLIC, summary="Liveness and database check", response=HealthSchema()
)
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # any database failure means unhealthy, not a 500
        db.session.rollback()
        raise Unavailable(
            "database unreachable",
            code="database_unavailable",
            details={"reason": type(exc).__name__},
        ) from None
    db.session.rollback()
    return {
        "status": "ok",
        "database": db.engine.dialect.name,
        "version": current_app.config["VERSION"],
    }


@endpoint(bp, "/metrics", roles=PUBLIC, summary="Prometheus metrics (text exposition format)")
def metrics():
    return current_app.extensions["sfa.metrics"].exposition()


@endpoint(bp, "/api/v1/openapi.json", roles=PUBLIC, summary="This OpenAPI document")
def openapi():
    return current_app.extensions["sfa.openapi"]
