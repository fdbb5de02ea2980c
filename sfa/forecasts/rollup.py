"""Rolling figures up the territory tree. Pure logic.

Two ways a figure rolls up:

- a **sum**: a territory's figure is its own plus everything below it (forecasts, sales);
- a **sum with overrides**: where a territory has a figure of its own set by someone who owns
  that level — a quota, a manager's adjusted forecast — that figure stands for its whole
  subtree; elsewhere the territory's figure is the sum of its children's (and its own, when
  it has one without overriding, e.g. a forecast entered at that level).

Both are computed in one pass from the leaves up.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

ZERO = Decimal(0)


def children_of(parents: Mapping[str, str | None]) -> dict[str | None, list[str]]:
    found: dict[str | None, list[str]] = {}
    for node, parent in parents.items():
        found.setdefault(parent if parent in parents else None, []).append(node)
    return found


def bottom_up(parents: Mapping[str, str | None]) -> list[str]:
    """The nodes, every child before its parent."""
    kids = children_of(parents)
    order: list[str] = []
    stack = [(root, False) for root in kids.get(None, [])]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        stack.append((node, True))
        stack.extend((kid, False) for kid in kids.get(node, []))
    return order


def roll_up(
    parents: Mapping[str, str | None],
    own: Mapping[str, Decimal],
    overrides: Mapping[str, Decimal] | None = None,
) -> dict[str, Decimal]:
    """Each node's figure: ``overrides[node]`` where there is one, else ``own[node]`` (0 when
    absent) plus the figures of its children. Nodes are the keys of ``parents`` (a forest)."""
    overrides = overrides or {}
    total: dict[str, Decimal] = {}
    for node in bottom_up(parents):
        total[node] = (
            overrides[node] if node in overrides else total.get(node, ZERO) + own.get(node, ZERO)
        )
        parent = parents[node]
        if parent in parents:
            total[parent] = total.get(parent, ZERO) + total[node]
    return {node: total[node] for node in parents}
