"""Roll-ups through the tree equal plain sums over random trees (and the override rule, where
a territory's own figure stands for its subtree, equals its recursive definition)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from sfa.forecasts.rollup import roll_up


@st.composite
def forests(draw):  # noqa: ANN001, ANN201
    size = draw(st.integers(1, 40))
    parents: dict[str, str | None] = {}
    for n in range(size):
        parent = draw(st.one_of(st.none(), st.integers(0, n - 1))) if n else None
        parents[f"t{n}"] = None if parent is None else f"t{parent}"
    amounts = st.decimals(min_value=0, max_value=10**9, places=4, allow_nan=False)
    own = draw(st.dictionaries(st.sampled_from(sorted(parents)), amounts, max_size=size))
    overrides = draw(st.dictionaries(st.sampled_from(sorted(parents)), amounts, max_size=4))
    return parents, own, overrides


def descendants(parents: dict[str, str | None], node: str) -> set[str]:
    found = set()
    for other in parents:
        current: str | None = other
        while current is not None:
            if current == node:
                found.add(other)
                break
            current = parents[current]
    return found


@given(forests())
def test_a_sum_up_the_tree_is_the_sum_over_each_subtree(case):
    parents, own, _ = case
    rolled = roll_up(parents, own)
    for node in parents:
        assert rolled[node] == sum((own.get(d, Decimal(0)) for d in descendants(parents, node)),
                                   Decimal(0))  # fmt: skip


@given(forests())
def test_an_override_stands_for_its_whole_subtree(case):
    parents, own, overrides = case

    def value(node: str) -> Decimal:
        if node in overrides:
            return overrides[node]
        kids = [k for k, p in parents.items() if p == node]
        return own.get(node, Decimal(0)) + sum((value(k) for k in kids), Decimal(0))

    rolled = roll_up(parents, own, overrides)
    assert rolled == {node: value(node) for node in parents}
