from __future__ import annotations

from flask import Blueprint

from sfa.clock import today
from sfa.db import db
from sfa.http.access import current_principal
from sfa.http.endpoints import ALL_ROLES, endpoint
from sfa.territories import services
from sfa.territories.schemas import TerritoryListSchema, TerritorySchema

bp = Blueprint("territories", __name__, url_prefix="/api/v1")


@endpoint(
    bp,
    "/territories",
    roles=ALL_ROLES,
    summary="Territories in the caller's scope",
    response=TerritoryListSchema(),
)
def list_territories():
    return {"items": services.list_territories(db.session, current_principal(), today())}


@endpoint(
    bp,
    "/territories/<territory_id>",
    roles=ALL_ROLES,
    summary="One territory (404 outside the caller's scope)",
    response=TerritorySchema(),
)
def get_territory(territory_id: str):
    return services.get_territory(db.session, current_principal(), territory_id, today())
