"""Configuration: defaults, overridden by ``SFA_*`` environment variables, overridden by the
mapping given to ``create_app``. Read in the factory, never at import time."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,  # None: a SQLite file in the instance folder
    "SECRET_KEY": None,  # None: generated once and kept in the instance folder
    "ACCESS_TOKEN_TTL": 900,
    "REFRESH_TOKEN_TTL": 90 * 24 * 3600,
    "MAX_BODY_BYTES": 2 * 1024 * 1024,
    "MAX_IMPORT_BYTES": 256 * 1024 * 1024,
    "LOGIN_WINDOW_SECONDS": 900,
    "LOGIN_MAX_FAILURES_PER_ACCOUNT": 5,
    "LOGIN_MAX_FAILURES_PER_ADDRESS": 50,
    "PASSWORD_MEMORY_KIB": 19456,  # OWASP Argon2id: m=19 MiB, t=2, p=1
    "PASSWORD_ITERATIONS": 2,
    "TRUSTED_PROXIES": 0,
    "TIMEZONE": "America/Bogota",
    "SESSION_COOKIE_SAMESITE": "Lax",  # the dashboard's cookie (HttpOnly by default)
    "SESSION_COOKIE_SECURE": False,  # set true behind HTTPS (SFA_SESSION_COOKIE_SECURE=true)
    "PERMANENT_SESSION_LIFETIME": 12 * 3600,  # a dashboard sign-in lasts a working day
    "LOG_LEVEL": "INFO",
    "LOG_JSON": True,
    "SQLITE_BUSY_TIMEOUT_MS": 30000,
    "DB_RETRY_ATTEMPTS": 6,
    "SYNC_HORIZON_DAYS": 90,
    "SYNC_MAX_MUTATIONS": 500,
    "SYNC_IDLE_FAST_LANE": True,  # answer idle pulls with one statement (sfa.sync.idle)
    "SYNC_ORDER_HISTORY_DAYS": 90,  # settled orders older than this stay off devices (0: all)
    "SYNC_MAX_BODY_BYTES": 8 * 1024 * 1024,
    "SYNC_WATERMELON_MAX_RECORDS": 5000,  # records in one WatermelonDB push
    "ORDER_MIN_VALUE": "0",  # when an account has none (exact decimal, as text)
    # The ERP feed (docs/erp-feed.md)
    "ERP_ADAPTER": "pull",  # webhook | amqp | pull (events wait for GET /api/v1/erp/events)
    "ERP_WEBHOOK_URL": None,
    "ERP_WEBHOOK_SECRET": None,  # signs outgoing webhooks
    "ERP_INBOUND_SECRET": None,  # signs the ERP's acknowledgements; default: the webhook's
    "ERP_SIGNATURE_TOLERANCE_SECONDS": 300,
    "ERP_MAX_ATTEMPTS": 12,  # then the event is dead-lettered
    "ERP_BACKOFF_BASE_SECONDS": 1.0,
    "ERP_BACKOFF_MAX_SECONDS": 900.0,
    "ERP_LEASE_SECONDS": 60,  # a dispatcher's hold on an event it is sending
    "ERP_DELIVERY_TIMEOUT_SECONDS": 10.0,
    "ERP_DISPATCH_BATCH": 50,
    "ERP_DISPATCH_THREADS": 4,
    "ERP_POLL_SECONDS": 0.5,
    "ERP_AMQP_URL": "amqp://guest:guest@127.0.0.1:5672/%2F",
    "ERP_AMQP_EXCHANGE": "sfa.orders",
    "ERP_AMQP_ROUTING_KEY": "orders",
}

_CONVERTERS = {
    int: int,
    float: float,
    bool: lambda v: v.strip().lower() in {"1", "true", "yes", "on"},
}


def from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """The ``SFA_<KEY>`` variables for every known key, converted to the default's type."""
    found: dict[str, Any] = {}
    for key, default in DEFAULTS.items():
        raw = environ.get(f"SFA_{key}")
        if raw is None:
            continue
        convert = _CONVERTERS.get(type(default), str)
        try:
            found[key] = convert(raw)
        except ValueError as exc:
            raise ValueError(f"SFA_{key}: cannot read {raw!r} as {type(default).__name__}") from exc
    return found


def resolve(instance_path: str, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults < environment < overrides, with the instance-folder fallbacks filled in."""
    settings = dict(DEFAULTS)
    settings.update(from_environment(os.environ))
    settings.update(overrides or {})
    folder = Path(instance_path)
    if not settings["DATABASE_URL"]:
        folder.mkdir(parents=True, exist_ok=True)
        settings["DATABASE_URL"] = f"sqlite:///{folder / 'sfa.db'}"
    settings["DATABASE_URL"] = normalise_database_url(settings["DATABASE_URL"])
    if not settings["SECRET_KEY"]:
        settings["SECRET_KEY"] = _instance_secret(folder)
    return settings


def normalise_database_url(url: str) -> str:
    """PostgreSQL URLs without a driver use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _instance_secret(folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
