from __future__ import annotations

from flask import Blueprint

from sfa.accounts import services
from sfa.accounts.schemas import (
    AccountPageSchema,
    AccountQuerySchema,
    AccountSchema,
    ContactListSchema,
    ContactSchema,
)
from sfa.clock import today
from sfa.db import db
from sfa.http.access import current_principal
from sfa.http.endpoints import ALL_ROLES, endpoint

bp = Blueprint("accounts", __name__, url_prefix="/api/v1")


@endpoint(
    bp,
    "/accounts",
    roles=ALL_ROLES,
    summary="Accounts in the caller's scope, ordered by code",
    query=AccountQuerySchema(),
    response=AccountPageSchema,
)
def list_accounts(query: dict):
    return services.list_accounts(db.session, current_principal(), today(), **query)


@endpoint(
    bp,
    "/accounts/<account_id>",
    roles=ALL_ROLES,
    summary="One account (404 outside the caller's scope)",
    response=AccountSchema(),
)
def get_account(account_id: str):
    return services.get_account(db.session, current_principal(), account_id, today())


@endpoint(
    bp,
    "/accounts/<account_id>/contacts",
    roles=ALL_ROLES,
    summary="The contacts of one account",
    response=ContactListSchema(),
)
def list_contacts(account_id: str):
    items = services.list_contacts(db.session, current_principal(), account_id, today())
    return {"items": items}


@endpoint(
    bp,
    "/contacts/<contact_id>",
    roles=ALL_ROLES,
    summary="One contact (404 outside the caller's scope)",
    response=ContactSchema(),
)
def get_contact(contact_id: str):
    return services.get_contact(db.session, current_principal(), contact_id, today())
