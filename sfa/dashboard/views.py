"""``/dashboard``: the managers' pages. Browser sign-in with a session cookie (HttpOnly,
SameSite=Lax) that names a sign-in kept on the server (signing out ends it), a CSRF token on
every form, and the same services and scope as the JSON API (``/api/v1/forecasting``); every
table is exported as CSV."""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
from datetime import date
from decimal import Decimal
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import select

from sfa.auth import services as auth_services
from sfa.auth.models import BrowserSession, User
from sfa.auth.principal import Principal
from sfa.clock import today
from sfa.columns import utcnow
from sfa.dashboard import charts
from sfa.db import db
from sfa.errors import DomainError, Unauthorized, ValidationFailed
from sfa.forecasts import insights, services, snapshots
from sfa.forecasts.models import FORECAST_CATEGORIES
from sfa.http.endpoints import PUBLIC, page
from sfa.territories.models import Territory, TerritoryClosure
from sfa.wire import wire_value

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard", template_folder="templates")
ROLES = ("manager", "admin")
SUMMARY_FIELDS = (
    ("quota", lambda r: r["quota"]),
    *((f"forecast_{c}", lambda r, c=c: r["forecast"][c]) for c in FORECAST_CATEGORIES),
    *((f"adjusted_{c}", lambda r, c=c: r["forecast_adjusted"][c]) for c in FORECAST_CATEGORIES),
    ("cumulative_commit_best_case", lambda r: r["forecast_cumulative"]["commit_best_case"]),
    ("baseline", lambda r: r.get("baseline")),
    ("attainment_booked", lambda r: r["attainment"]["booked"]),
    ("attainment_invoiced", lambda r: r["attainment"]["invoiced"]),
    ("attainment_percent", lambda r: r["attainment_percent"]),
    ("gap", lambda r: r["gap"]),
)


# session and CSRF -----------------------------------------------------------------------------


def _csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


class FormExpired(Exception):
    """A form post without this session's CSRF token."""


@bp.errorhandler(FormExpired)
def _form_expired(_exc: FormExpired):  # noqa: ANN202
    message = "the form expired or came from elsewhere; reload the page and try again"
    return render_template("dashboard/error.html", message=message), 400


def _check_csrf() -> None:
    sent = request.form.get("csrf_token", "")
    if not sent or not secrets.compare_digest(sent, session.get("csrf", "")):
        raise FormExpired


def _sid_digest(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def _principal() -> Principal | None:
    """The signed-in manager: the cookie names a sign-in that has not ended nor expired, of a
    user still active in a dashboard role."""
    sid = session.get("sid")
    if not isinstance(sid, str) or not sid:
        return None
    found = db.session.get(BrowserSession, _sid_digest(sid))
    if found is None or found.ended_at is not None or found.expires_at <= utcnow():
        session.clear()
        return None
    user = db.session.get(User, found.user_id)
    if user is None or not user.active or user.role not in ROLES:
        session.clear()
        return None
    return Principal(user.id, user.role, user.name)


@bp.get("/login")
@page(PUBLIC)
def login_form():
    return render_template("dashboard/login.html", csrf=_csrf_token(), error=None)


@bp.post("/login")
@page(PUBLIC)
def login():
    _check_csrf()
    settings = current_app.extensions["sfa.auth"]
    try:
        user = auth_services.check_password(
            db.session, settings, email=request.form.get("email", "")[:254],
            password=request.form.get("password", "")[:1024],
            address=request.remote_addr or "unknown",
        )  # fmt: skip
    except DomainError as exc:
        db.session.commit()
        status = exc.status if isinstance(exc, Unauthorized) else 429
        return render_template(
            "dashboard/login.html", csrf=_csrf_token(), error=exc.message
        ), status
    db.session.commit()
    if user.role not in ROLES:
        return render_template("dashboard/login.html", csrf=_csrf_token(),
                               error="the dashboard is for managers"), 403  # fmt: skip
    sid, now = secrets.token_urlsafe(32), utcnow()
    lifetime = current_app.permanent_session_lifetime
    db.session.add(BrowserSession(id=_sid_digest(sid), user_id=user.id, created_at=now,
                                  expires_at=now + lifetime))  # fmt: skip
    db.session.commit()
    session.clear()
    session.permanent = True  # PERMANENT_SESSION_LIFETIME: 12 hours, a working day
    session["sid"], session["csrf"] = sid, secrets.token_urlsafe(32)
    return redirect(url_for("dashboard.home"))


@bp.post("/logout")
@page(PUBLIC)
def logout():
    _check_csrf()
    sid = session.get("sid")
    if isinstance(sid, str) and sid:
        found = db.session.get(BrowserSession, _sid_digest(sid))
        if found is not None and found.ended_at is None:
            found.ended_at = utcnow()
            db.session.commit()
    session.clear()
    return redirect(url_for("dashboard.login_form"))


# pages ----------------------------------------------------------------------------------------


def _window(on: date) -> tuple[list[str], str, str]:
    """The months asked for; by default the last three, this one included."""
    start = request.args.get("from") or services.month_before(f"{on:%Y-%m}", 2)
    end = request.args.get("to") or f"{on:%Y-%m}"
    return services.months(start, end), start, end


def _days() -> int:
    raw = request.args.get("days", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= 365:
        raise ValidationFailed([{"path": "days", "message": "1 to 365"}])
    return int(raw)


def _trail(root: Territory, homes: list[Territory]) -> list[Territory]:
    """From the caller's own territory down to ``root`` (the breadcrumb)."""
    home_ids = {t.id for t in homes}
    chain = list(
        db.session.scalars(
            select(Territory)
            .join(TerritoryClosure, TerritoryClosure.ancestor_id == Territory.id)
            .where(TerritoryClosure.descendant_id == root.id)
            .order_by(TerritoryClosure.depth.desc())
        )
    )
    for n, territory in enumerate(chain):
        if territory.id in home_ids:
            return chain[n:]
    return chain[-1:]


@bp.get("")
@page(PUBLIC)
def home():
    principal = _principal()
    if principal is None:
        return redirect(url_for("dashboard.login_form"))
    on = today()
    homes = services.home_territories(db.session, principal, on)
    if not homes:
        abort(403, "no territory is assigned to you")
    territory_id = request.args.get("territory_id") or homes[0].id
    line = request.args.get("product_line") or None
    try:
        periods, start, end = _window(on)
        root = services.visible_territory(db.session, principal, territory_id, on)
        body = services.summary(db.session, principal, root.id, periods, line, on)
        monthly = services.monthly(db.session, principal, root.id, periods, line, on)
        base = insights.baseline_for(db.session, principal, root.id, periods, line, on)
        accuracy = insights.forecast_accuracy(db.session, principal, root.id, periods, on)
        days = _days()
        compliance = insights.sync_compliance(db.session, principal, root.id, days, utcnow(), on)
        conflicts = insights.open_conflicts(db.session, principal, root.id, on)
        latest = snapshots.listing(db.session, limit=2)
        weekly = (
            snapshots.diff(db.session, principal, root.id, latest[1].id, latest[0].id, periods,
                           line, on)
            if len(latest) == 2 else None
        )  # fmt: skip
    except DomainError as exc:
        return render_template("dashboard/error.html", message=exc.message), exc.status
    labels = [m["period"] for m in monthly["months"]]
    monthly_chart = charts.lines_chart(
        "chart-monthly", "Quota, forecast and actual by month", labels,
        {"quota": [m["quota"] for m in monthly["months"]],
         "forecast": [m["forecast_adjusted"]["commit"] for m in monthly["months"]],
         "actual": [m["attainment"]["booked"] for m in monthly["months"]]},
    )  # fmt: skip
    rows = [body["territory"], *body["children"]]
    attainment_chart = charts.bars_chart(
        "chart-attainment",
        "Attainment by territory (% of quota)",
        [(row["code"], _percent(row["attainment_percent"])) for row in rows],
    )
    query = {"territory_id": root.id, "from": start, "to": end,
             **({"product_line": line} if line else {})}  # fmt: skip
    return render_template(
        "dashboard/home.html",
        user=principal, csrf=_csrf_token(), body=body, rows=rows,
        fields=SUMMARY_FIELDS, trail=_trail(root, homes), start=start, end=end, line=line,
        monthly_chart=monthly_chart, attainment_chart=attainment_chart, baseline=base,
        accuracy=accuracy, compliance=compliance, days=days, conflicts=conflicts, query=query,
        weekly=weekly,
        fmt=_fmt, plain=_plain,
    )  # fmt: skip


def _plain(value: Any) -> Any:
    """A figure as the JSON API writes it (exact amounts without trailing zeros)."""
    return wire_value(value) if isinstance(value, Decimal) else value


def _percent(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, Decimal | int | float):
        exact = Decimal(str(value))
        return f"{exact:,.0f}" if exact == exact.to_integral_value() else f"{exact:,.2f}"
    return str(value)


@bp.get("/export/<table>.csv")
@page(PUBLIC)
def export(table: str):
    principal = _principal()
    if principal is None:
        return redirect(url_for("dashboard.login_form"))
    on = today()
    try:
        periods, _, _ = _window(on)
        territory_id = request.args.get("territory_id", "")
        line = request.args.get("product_line") or None
        if table == "summary":
            body = services.summary(db.session, principal, territory_id, periods, line, on)
            header = ["code", "name", *(name for name, _ in SUMMARY_FIELDS)]
            rows = [[r["code"], r["name"], *(_plain(get(r)) for _, get in SUMMARY_FIELDS)]
                    for r in [body["territory"], *body["children"]]]  # fmt: skip
        elif table == "monthly":
            body = services.monthly(db.session, principal, territory_id, periods, line, on)
            header = ["period", *(name for name, _ in SUMMARY_FIELDS)]
            rows = [
                [m["period"], *(_plain(get(m)) for _, get in SUMMARY_FIELDS)]
                for m in body["months"]
            ]
        elif table == "accuracy":
            found = insights.forecast_accuracy(db.session, principal, territory_id, periods, on)
            header = ["name", "territory_id", "months", "wape", "bias"]
            rows = [[r[k] for k in header] for r in found]
        elif table == "compliance":
            found = insights.sync_compliance(db.session, principal, territory_id, 1, utcnow(), on)
            header = ["name", "territory_id", "last_sync_at", "late"]
            rows = [[r[k] for k in header] for r in found]
        elif table == "baseline":
            found = insights.baseline_for(db.session, principal, territory_id, periods, line, on)
            header = ["period", "amount", "model"]
            rows = [[p["period"], p["amount"], found["model"]] for p in found["forecast"]]
        elif table == "conflicts":
            found = insights.open_conflicts(db.session, principal, territory_id, on)
            header = ["entity", "record_id", "field", "kept_value", "overruled_value", "created_at"]
            rows = [[getattr(c, k) for k in header] for c in found]
        else:
            abort(404)
    except DomainError as exc:
        return render_template("dashboard/error.html", message=exc.message), exc.status
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return Response(
        out.getvalue(),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{table}.csv"'},
    )
