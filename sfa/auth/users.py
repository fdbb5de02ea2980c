"""User administration: the same functions serve the admin API, the CLI and the import."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sfa.auth.models import ROLES, User
from sfa.auth.passwords import PasswordHasher, password_problem
from sfa.auth.services import normalise_email
from sfa.errors import Conflict, NotFound, ValidationFailed


def create_user(
    session: Session,
    hasher: PasswordHasher,
    *,
    email: str,
    name: str,
    role: str,
    password: str | None,
) -> User:
    email = normalise_email(email)
    _check(role=role, password=password)
    if session.scalar(select(User.id).where(User.email == email)):
        raise Conflict(
            "a user with this email exists", code="user_exists", details={"email": email}
        )
    user = User(
        email=email,
        name=name,
        role=role,
        password_hash=hasher.hash(password) if password else None,
    )
    session.add(user)
    session.commit()
    return user


def update_user(
    session: Session,
    hasher: PasswordHasher,
    user_id: str,
    *,
    name: str | None = None,
    role: str | None = None,
    active: bool | None = None,
    password: str | None = None,
) -> User:
    user = get_user(session, user_id)
    _check(role=role, password=password)
    if name is not None:
        user.name = name
    if role is not None:
        user.role = role
    if active is not None:
        user.active = active
    if password is not None:
        user.password_hash = hasher.hash(password)
    session.commit()
    return user


def get_user(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("no such user", details={"user_id": user_id})
    return user


def find_user_by_email(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise NotFound("no such user", details={"email": email})
    return user


def list_users(session: Session, role: str | None = None) -> list[User]:
    query = select(User).order_by(User.email)
    if role:
        query = query.where(User.role == role)
    return list(session.scalars(query))


def _check(*, role: str | None, password: str | None) -> None:
    errors = []
    if role is not None and role not in ROLES:
        errors.append({"path": "role", "message": f"must be one of {', '.join(ROLES)}"})
    if password is not None and (problem := password_problem(password)):
        errors.append({"path": "password", "message": problem})
    if errors:
        raise ValidationFailed(errors)
