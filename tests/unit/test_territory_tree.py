from hypothesis import given
from hypothesis import strategies as st

from sfa.territories.rules import closure_pairs, find_cycle


@st.composite
def forests(draw):
    """Random trees: node i's parent is None or a node with a smaller index."""
    size = draw(st.integers(min_value=1, max_value=40))
    parents = {}
    for index in range(size):
        parent = draw(st.none() | st.integers(min_value=0, max_value=max(index - 1, 0)))
        parents[f"t{index}"] = None if index == 0 or parent is None else f"t{parent}"
    return parents


def naive_ancestors(parents, node):
    chain, current = [], node
    while current is not None:
        chain.append(current)
        current = parents[current]
    return chain


@given(forests())
def test_closure_pairs_equal_a_naive_walk_up_the_tree(parents):
    expected = {
        (ancestor, node, depth)
        for node in parents
        for depth, ancestor in enumerate(naive_ancestors(parents, node))
    }
    assert set(closure_pairs(parents)) == expected


@given(forests())
def test_a_forest_has_no_cycle(parents):
    assert find_cycle(parents) is None


def test_two_territories_parenting_each_other_form_a_cycle():
    cycle = find_cycle({"CO": None, "A": "B", "B": "A", "C": "A"})
    assert sorted(cycle) == ["A", "B"]


def test_a_territory_that_is_its_own_parent_is_a_cycle():
    assert find_cycle({"A": "A"}) == ["A"]


def test_a_long_cycle_is_found_from_a_branch_leading_into_it():
    parents = {"leaf": "x1", "x1": "x2", "x2": "x3", "x3": "x1"}
    assert sorted(find_cycle(parents)) == ["x1", "x2", "x3"]
