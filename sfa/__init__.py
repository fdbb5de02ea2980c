"""SFA sync server: sales-force automation with offline mobile sync."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

__version__ = "0.1.0"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application. The only place where configuration, the database, the features'
    blueprints and the HTTP edge are wired together."""
    from sfa import config as settings
    from sfa import models  # noqa: F401  (complete metadata)
    from sfa.auth.passwords import PasswordHasher
    from sfa.auth.services import AuthSettings
    from sfa.db import configure_engine, db, engine_options
    from sfa.http import access, errors, observability
    from sfa.http.json import WireJSONProvider
    from sfa.http.openapi import build_openapi
    from sfa.http.sessions import SessionWhenPresent

    app = Flask(__name__, static_folder=None)
    app.json = WireJSONProvider(app)
    app.session_interface = SessionWhenPresent()
    resolved = settings.resolve(app.instance_path, config)
    app.config.update(resolved)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=resolved["DATABASE_URL"],
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(
            resolved["DATABASE_URL"], resolved["SQLITE_BUSY_TIMEOUT_MS"]
        ),
        MAX_CONTENT_LENGTH=resolved["MAX_BODY_BYTES"],
        VERSION=__version__,
    )
    if resolved["TRUSTED_PROXIES"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=resolved["TRUSTED_PROXIES"])  # type: ignore[method-assign]

    observability.configure_logging(resolved["LOG_LEVEL"], resolved["LOG_JSON"])
    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine, resolved["SQLITE_BUSY_TIMEOUT_MS"])

    app.extensions["sfa.auth"] = AuthSettings(
        hasher=PasswordHasher(
            memory_kib=resolved["PASSWORD_MEMORY_KIB"], iterations=resolved["PASSWORD_ITERATIONS"]
        ),
        access_ttl=resolved["ACCESS_TOKEN_TTL"],
        refresh_ttl=resolved["REFRESH_TOKEN_TTL"],
        login_window=resolved["LOGIN_WINDOW_SECONDS"],
        max_failures_per_account=resolved["LOGIN_MAX_FAILURES_PER_ACCOUNT"],
        max_failures_per_address=resolved["LOGIN_MAX_FAILURES_PER_ADDRESS"],
    )
    app.extensions["sfa.metrics"] = observability.install(app)
    app.before_request(access.reject_nul_characters)
    app.before_request(access.enforce_access)
    errors.register_error_handlers(app)
    _register_blueprints(app)
    access.check_routes_declare_access(app)
    app.extensions["sfa.openapi"] = build_openapi(app, __version__)
    return app


def _register_blueprints(app: Flask) -> None:
    from sfa.accounts.views import bp as accounts
    from sfa.auth.admin_views import bp as admin
    from sfa.auth.views import bp as auth
    from sfa.catalog.views import bp as catalog
    from sfa.dashboard.views import bp as dashboard
    from sfa.erp.imports.views import bp as imports
    from sfa.erp.views import bp as erp
    from sfa.forecasts.views import bp as forecasting
    from sfa.http.meta_views import bp as meta
    from sfa.orders.views import bp as orders
    from sfa.sync.conflict_views import bp as conflicts
    from sfa.sync.views import bp as sync
    from sfa.sync.watermelon.views import bp as watermelon
    from sfa.territories.admin_views import bp as territory_admin
    from sfa.territories.realign_views import bp as realignment
    from sfa.territories.views import bp as territories

    for blueprint in (
        meta,
        auth,
        admin,
        imports,
        territories,
        territory_admin,
        realignment,
        accounts,
        catalog,
        sync,
        watermelon,
        conflicts,
        orders,
        erp,
        forecasting,
        dashboard,
    ):
        app.register_blueprint(blueprint)
