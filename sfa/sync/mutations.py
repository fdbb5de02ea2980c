"""What a push is made of: one mutation, the context it is applied in, and a refusal."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from sfa.auth.principal import Principal
from sfa.orders.services import OrderSettings


class Rejected(Exception):
    def __init__(self, code: str, reason: str, details: dict | None = None) -> None:
        super().__init__(reason)
        self.code, self.reason, self.details = code, reason, details or {}


@dataclass
class PushContext:
    session: Session
    principal: Principal
    device_id: str | None
    scope: set[str]  # territory ids
    skew_ms: int
    now: datetime
    isolated: bool = False  # each mutation in its own savepoint, flushed as it goes
    conflicts: list[dict] = field(default_factory=list)
    orders: OrderSettings = field(default_factory=OrderSettings)


@dataclass(frozen=True)
class Mutation:
    id: str
    entity: str
    op: str
    record_id: str
    base_revision: int | None
    fields: dict[str, Any]
    edited_at: datetime | None
