"""Field-level merge: what happens to one incoming field edit.

An edit is concurrent when the field changed on the server after the revision the device based
its edit on, by someone else: a device's own earlier edit is not a rival of its later one (it
queues them in the order they were made, and may push a second offline edit of a field based on
the same revision as the first). Only for a concurrent edit does the field's policy decide;
edits to different fields never meet.
``latest_wins`` orders edits by (skew-corrected edit time, mutation id), so the same set of
edits gives the same result in any arrival order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sfa.sync.policy import CLIENT_WINS, LATEST_WINS, REVIEW, SERVER_WINS


@dataclass(frozen=True)
class Stamp:
    """The last change of a field on the server."""

    revision: int
    edited_at: int  # epoch ms
    mutation_id: str = ""
    user_id: str | None = None
    device_id: str | None = None  # None: not a device's edit (back office, manager decision)

    @classmethod
    def read(cls, stamps: dict, field_name: str) -> Stamp | None:
        raw = (stamps or {}).get(field_name)
        if not raw:
            return None
        return cls(
            int(raw["r"]), int(raw.get("t", 0)), raw.get("m") or "", raw.get("u"), raw.get("d")
        )

    def write(self) -> dict[str, Any]:
        return {
            "r": self.revision,
            "t": self.edited_at,
            "m": self.mutation_id,
            "u": self.user_id,
            "d": self.device_id,
        }


@dataclass(frozen=True)
class Edit:
    value: Any
    edited_at: int  # epoch ms, corrected for the device's clock skew
    mutation_id: str
    user_id: str
    device_id: str | None = None


@dataclass(frozen=True)
class Decision:
    apply: bool
    conflict: bool = False
    winner: str = "client"  # "client" | "server"
    open_for_review: bool = False


APPLY = Decision(apply=True)
NOTHING = Decision(apply=False)


def decide(
    policy: str, base_revision: int, stamp: Stamp | None, current: Any, edit: Edit
) -> Decision:
    if policy == LATEST_WINS and current == edit.value:
        # An edit that agrees with the value is still the field's latest edit if it is later:
        # it must take the stamp, or an earlier edit arriving after it would win.
        return APPLY if stamp is None or _is_later(edit, stamp) else NOTHING
    if stamp is None or stamp.revision <= base_revision or _own(edit, stamp):
        return APPLY
    if current == edit.value:
        return NOTHING  # both sides already agree
    if policy == CLIENT_WINS:
        return Decision(apply=True, conflict=True, winner="client")
    if policy == SERVER_WINS:
        return Decision(apply=False, conflict=True, winner="server")
    if policy == REVIEW:
        return Decision(apply=False, conflict=True, winner="server", open_for_review=True)
    if policy == LATEST_WINS:
        client_is_later = _is_later(edit, stamp)
        return Decision(
            apply=client_is_later, conflict=True, winner="client" if client_is_later else "server"
        )
    raise ValueError(f"unknown conflict policy {policy!r}")


def _own(edit: Edit, stamp: Stamp) -> bool:
    """The field was last changed by the same device: that edit came before this one."""
    return stamp.device_id is not None and stamp.device_id == edit.device_id


def _is_later(edit: Edit, stamp: Stamp) -> bool:
    return (edit.edited_at, edit.mutation_id) > (stamp.edited_at, stamp.mutation_id)
