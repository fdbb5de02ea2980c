"""The business date. Territory assignments and scope are effective-dated in the company's
time zone (``SFA_TIMEZONE``, default America/Bogota), not UTC."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_TIMEZONE = "America/Bogota"


def today(timezone: str | None = None) -> date:
    if timezone is None:
        timezone = current_app.config["TIMEZONE"] if has_app_context() else DEFAULT_TIMEZONE
    return datetime.now(ZoneInfo(timezone)).date()
