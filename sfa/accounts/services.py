"""Reading accounts and contacts within the caller's scope (anything outside is a 404)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from sfa.accounts.models import Account, Contact
from sfa.auth.principal import Principal
from sfa.errors import NotFound
from sfa.pagination import Page, fetch_page
from sfa.territories.services import scope_territories


def _in_scope(query: Select, principal: Principal, on: date) -> Select:
    scope = scope_territories(principal, on)
    return query if scope is None else query.where(Account.territory_id.in_(scope))


def list_accounts(
    session: Session,
    principal: Principal,
    on: date,
    *,
    limit: int,
    after: str | None,
    territory_id: str | None = None,
    search: str | None = None,
) -> Page[Account]:
    query = _in_scope(select(Account), principal, on)
    if territory_id:
        query = query.where(Account.territory_id == territory_id)
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(Account.name.ilike(pattern) | Account.code.ilike(pattern))
    return fetch_page(session, query, Account.code, limit, after)


def get_account(session: Session, principal: Principal, account_id: str, on: date) -> Account:
    query = _in_scope(select(Account).where(Account.id == account_id), principal, on)
    account = session.scalar(query)
    if account is None:
        raise NotFound("no such account", details={"account_id": account_id})
    return account


def list_contacts(
    session: Session, principal: Principal, account_id: str, on: date
) -> list[Contact]:
    account = get_account(session, principal, account_id, on)
    return list(
        session.scalars(
            select(Contact).where(Contact.account_id == account.id).order_by(Contact.code)
        )
    )


def get_contact(session: Session, principal: Principal, contact_id: str, on: date) -> Contact:
    query = _in_scope(
        select(Contact)
        .join(Account, Account.id == Contact.account_id)
        .where(Contact.id == contact_id),
        principal,
        on,
    )
    contact = session.scalar(query)
    if contact is None:
        raise NotFound("no such contact", details={"contact_id": contact_id})
    return contact
