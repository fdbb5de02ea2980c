"""Who is calling: the plain value every service receives instead of a request or a model."""

from __future__ import annotations

from dataclasses import dataclass

BACK_OFFICE_ROLES = frozenset({"admin", "erp"})  # they see all data; others see their scope


@dataclass(frozen=True)
class Principal:
    user_id: str
    role: str
    name: str
    device_id: str | None = None

    @property
    def is_back_office(self) -> bool:
        """Admins and the ERP see all data; reps and managers see their scope."""
        return self.role in BACK_OFFICE_ROLES
