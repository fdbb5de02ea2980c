"""Sign-in, token rotation, authentication of requests, and device revocation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sfa.auth import throttle
from sfa.auth.models import AuthToken, Device, User
from sfa.auth.passwords import PasswordHasher
from sfa.auth.principal import Principal
from sfa.auth.tokens import ACCESS_PREFIX, REFRESH_PREFIX, digest, new_token
from sfa.columns import new_id, utcnow
from sfa.errors import NotFound, Unauthorized


@dataclass(frozen=True)
class AuthSettings:
    hasher: PasswordHasher
    access_ttl: int = 900
    refresh_ttl: int = 90 * 24 * 3600
    login_window: int = 900
    max_failures_per_account: int = 5
    max_failures_per_address: int = 50
    refresh_reuse_grace: int = 60


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int
    user: User
    device: Device


class DeviceRevoked(Unauthorized):
    """The device must stop and wipe its local data."""

    code = "device_revoked"

    def __init__(self, message: str = "this device has been revoked; wipe local data") -> None:
        super().__init__(message, details={"wipe": True})


def normalise_email(email: str) -> str:
    return email.strip().lower()


def login(
    session: Session,
    settings: AuthSettings,
    *,
    email: str,
    password: str,
    device_uid: str,
    device_name: str,
    platform: str,
    address: str,
) -> IssuedTokens:
    """Check the password and register the device. Unknown account and wrong password give
    the same error after the same work; throttling is checked before any hashing."""
    now = utcnow()
    user = check_password(session, settings, email=email, password=password, address=address)
    device = session.scalar(
        select(Device).where(Device.user_id == user.id, Device.device_uid == device_uid)
    )
    if device is None:
        device = Device(user_id=user.id, device_uid=device_uid, name=device_name, platform=platform)
        session.add(device)
        session.flush()
    elif device.revoked_at is not None:
        session.commit()
        raise DeviceRevoked()
    device.name, device.platform, device.last_login_at = device_name, platform, now
    _revoke_tokens(session, device.id, now)
    issued = _issue(session, settings, user, device, new_id(), now)
    session.commit()
    return issued


def check_password(
    session: Session, settings: AuthSettings, *, email: str, password: str, address: str
) -> User:
    """The active user with this email and password (sign-in from a device or a browser).
    Unknown account and wrong password give the same error after the same work; throttling
    (per account and per address) is checked before any hashing."""
    now = utcnow()
    email = normalise_email(email)
    account_key, address_key = f"account:{email}", f"address:{address}"
    throttle.check(
        session,
        [
            (account_key, settings.max_failures_per_account),
            (address_key, settings.max_failures_per_address),
        ],
        settings.login_window,
        now,
    )
    user = session.scalar(select(User).where(User.email == email))
    stored = user.password_hash if user is not None and user.active else None
    session.commit()  # no transaction (nor SQLite write lock) is held while hashing
    if not settings.hasher.verify(password, stored):
        throttle.record_failure(session, [account_key, address_key], settings.login_window, now)
        session.commit()
        raise Unauthorized("email or password is wrong", code="invalid_credentials")
    assert user is not None and stored is not None
    throttle.clear(session, account_key)
    if settings.hasher.needs_rehash(stored):
        user.password_hash = settings.hasher.hash(password)
    return user


def refresh(session: Session, settings: AuthSettings, refresh_token: str) -> IssuedTokens:
    """Rotate: the presented refresh token is spent and a new pair issued. A spent token
    presented again revokes the device, unless it is the client retrying within the grace
    period before it ever used the successor (a lost response)."""
    now = utcnow()
    token = session.scalar(
        select(AuthToken)
        .where(AuthToken.token_hash == digest(refresh_token), AuthToken.kind == "refresh")
        .with_for_update()
    )
    if token is None:
        raise Unauthorized("refresh token is not valid", code="invalid_token")
    device = session.get(Device, token.device_id)
    user = session.get(User, device.user_id)
    if device.revoked_at is not None:
        raise DeviceRevoked()
    if not user.active:
        raise _account_disabled()
    if token.used_at is not None and not _is_retry(session, settings, token, now):
        revoke_device(session, device.id, reason="refresh token reused", commit=False)
        session.commit()
        raise DeviceRevoked("refresh token reused; the device has been revoked")
    if token.revoked_at is not None:  # ended by logout, a new sign-in, or a retry
        raise Unauthorized("refresh token has been revoked", code="invalid_token")
    if token.expires_at <= now:
        raise Unauthorized("refresh token has expired; sign in again", code="token_expired")
    if token.used_at is not None:  # a retry: drop the successor the client never received
        _revoke_family_after(session, token, now)
    token.used_at = token.used_at or now
    issued = _issue(session, settings, user, device, token.family, now)
    session.commit()
    return issued


def logout(session: Session, device_id: str) -> None:
    _revoke_tokens(session, device_id, utcnow())
    session.commit()


def authenticate(session: Session, access_token: str) -> Principal:
    """The principal behind a bearer token, or a 401 with a code the device can act on.
    One indexed lookup of plain columns: it runs before every request."""
    row = session.execute(
        select(
            AuthToken.kind,
            AuthToken.revoked_at,
            AuthToken.expires_at,
            Device.id.label("device_id"),
            Device.revoked_at.label("device_revoked_at"),
            User.id.label("user_id"),
            User.role,
            User.name,
            User.active,
        )
        .join(Device, Device.id == AuthToken.device_id)
        .join(User, User.id == Device.user_id)
        .where(AuthToken.token_hash == digest(access_token))
    ).first()
    if row is None or row.kind != "access":
        raise Unauthorized("access token is not valid", code="invalid_token")
    if row.device_revoked_at is not None:
        raise DeviceRevoked()
    if not row.active:
        raise _account_disabled()
    if row.revoked_at is not None:
        raise Unauthorized("access token has been revoked", code="invalid_token")
    if row.expires_at <= utcnow():
        raise Unauthorized("access token has expired; refresh it", code="token_expired")
    return Principal(user_id=row.user_id, role=row.role, name=row.name, device_id=row.device_id)


def revoke_device(session: Session, device_id: str, *, reason: str, commit: bool = True) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        raise NotFound("no such device", details={"device_id": device_id})
    now = utcnow()
    if device.revoked_at is None:
        device.revoked_at, device.revoked_reason = now, reason[:200]
    _revoke_tokens(session, device.id, now)
    if commit:
        session.commit()
    return device


def restore_device(session: Session, device_id: str) -> Device:
    """Allow a found device to sign in again (its old tokens stay revoked)."""
    device = session.get(Device, device_id)
    if device is None:
        raise NotFound("no such device", details={"device_id": device_id})
    device.revoked_at, device.revoked_reason = None, None
    session.commit()
    return device


def list_devices(session: Session, user_id: str | None = None) -> list[Device]:
    query = select(Device).order_by(Device.created_at)
    if user_id:
        query = query.where(Device.user_id == user_id)
    return list(session.scalars(query))


def _account_disabled() -> Unauthorized:
    return Unauthorized(
        "this account has been disabled; wipe local data",
        code="account_disabled",
        details={"wipe": True},
    )


def _issue(
    session: Session,
    settings: AuthSettings,
    user: User,
    device: Device,
    family: str,
    now: datetime,
) -> IssuedTokens:
    access, refresh_value = new_token(ACCESS_PREFIX), new_token(REFRESH_PREFIX)
    session.add_all(
        [
            AuthToken(
                token_hash=digest(access),
                kind="access",
                device_id=device.id,
                family=family,
                expires_at=now + timedelta(seconds=settings.access_ttl),
            ),
            AuthToken(
                token_hash=digest(refresh_value),
                kind="refresh",
                device_id=device.id,
                family=family,
                expires_at=now + timedelta(seconds=settings.refresh_ttl),
            ),
        ]
    )
    return IssuedTokens(access, refresh_value, settings.access_ttl, user, device)


def _revoke_tokens(session: Session, device_id: str, now: datetime) -> None:
    session.execute(
        update(AuthToken)
        .where(AuthToken.device_id == device_id, AuthToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def _is_retry(session: Session, settings: AuthSettings, token: AuthToken, now: datetime) -> bool:
    if token.used_at is None or now - token.used_at > timedelta(
        seconds=settings.refresh_reuse_grace
    ):
        return False
    later_used = session.scalar(
        select(AuthToken.id).where(
            AuthToken.family == token.family,
            AuthToken.kind == "refresh",
            AuthToken.created_at > token.created_at,
            AuthToken.used_at.is_not(None),
        )
    )
    return later_used is None


def _revoke_family_after(session: Session, token: AuthToken, now: datetime) -> None:
    session.execute(
        update(AuthToken)
        .where(
            AuthToken.family == token.family,
            AuthToken.created_at > token.created_at,
            AuthToken.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
