"""The business date. Territory assignments and scope are effective-dated in the company's
time zone (``SFA_TIMEZONE``, default America/Bogota), not UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_TIMEZONE = "America/Bogota"


def today(timezone: str | None = None) -> date:
    if timezone is None:
        timezone = current_app.config["TIMEZONE"] if has_app_context() else DEFAULT_TIMEZONE
    return datetime.now(ZoneInfo(timezone)).date()


def business_date(moment: datetime, timezone: str) -> date:
    """The company's calendar date at ``moment`` (an aware datetime)."""
    return moment.astimezone(ZoneInfo(timezone)).date()


def start_of(day: date, timezone: str) -> datetime:
    """The first instant of the company's ``day``, as an aware UTC datetime."""
    return datetime.combine(day, time(0), ZoneInfo(timezone)).astimezone(UTC)
