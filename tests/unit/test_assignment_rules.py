"""Assignment rules: the condition language, and how rules combine down the tree."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfa.territories.assignment import (
    Assigner,
    ConditionError,
    Rule,
    Territory,
    compile_condition,
)

ACCOUNT = {"city": " Medellín ", "postal_code": "050021", "kind": "pharmacy", "channel": None,
           "tax_id": "900123456", "code": "A-1", "name": "Drogueria Central"}  # fmt: skip


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        ({"field": "city", "op": "eq", "value": "medellín"}, True),
        ({"field": "city", "op": "ne", "value": "Bogotá"}, True),
        ({"field": "city", "op": "in", "value": ["Envigado", "MEDELLÍN"]}, True),
        ({"field": "city", "op": "not_in", "value": ["Medellín"]}, False),
        ({"field": "tax_id", "op": "prefix", "value": "900"}, True),
        ({"field": "tax_id", "op": "prefix", "value": ["800", "901"]}, False),
        ({"field": "name", "op": "contains", "value": "central"}, True),
        ({"field": "postal_code", "op": "between", "value": ["050000", "059999"]}, True),
        ({"field": "postal_code", "op": "between", "value": ["110000", "119999"]}, False),
        ({"field": "channel", "op": "is_empty", "value": True}, True),
        ({"field": "channel", "op": "eq", "value": "retail"}, False),
        ({"field": "channel", "op": "ne", "value": "retail"}, False),  # empty never matches
        ({"all": [{"field": "kind", "op": "eq", "value": "pharmacy"},
                  {"any": [{"field": "city", "op": "eq", "value": "Cali"},
                           {"field": "tax_id", "op": "prefix", "value": "9"}]}]}, True),
        ({"not": {"field": "kind", "op": "eq", "value": "pharmacy"}}, False),
    ],
)  # fmt: skip
def test_conditions(condition, holds):
    assert compile_condition(condition)(ACCOUNT) is holds


@pytest.mark.parametrize(
    ("condition", "path"),
    [
        ({"field": "password", "op": "eq", "value": "x"}, "condition.field"),
        ({"field": "city", "op": "like", "value": "x"}, "condition.op"),
        ({"field": "city", "op": "in", "value": "Cali"}, "condition.value"),
        ({"field": "city", "op": "in", "value": []}, "condition.value"),
        ({"field": "city", "op": "between", "value": ["9", "1"]}, "condition.value"),
        ({"field": "city", "op": "eq", "value": 5}, "condition.value"),
        ({"field": "city", "op": "is_empty", "value": "yes"}, "condition.value"),
        ({"all": []}, "condition.all"),
        ({"all": [{"field": "city"}], "any": []}, "condition"),
        ({"any": [{"field": "city", "op": "eq", "value": "x"}, "nope"]}, "condition.any[1]"),
        ({"field": "city", "op": "eq", "value": "x", "extra": 1}, "condition"),
        ("city = Cali", "condition"),
    ],
)
def test_a_bad_condition_is_refused_with_its_path(condition, path):
    with pytest.raises(ConditionError) as refused:
        compile_condition(condition)
    assert path in [e["path"] for e in refused.value.errors]


def test_conditions_cannot_nest_without_end():
    deep: dict = {"field": "city", "op": "eq", "value": "x"}
    for _ in range(12):
        deep = {"not": deep}
    with pytest.raises(ConditionError):
        compile_condition(deep)


# the tree:  CO ── ANT ── MED-N, MED-S        (ANT holds a rule: department Antioquia)
#               └─ BOG ── BOG-1, BOG-2
TREE = [
    Territory("co", None, "CO"),
    Territory("ant", "co", "ANT"),
    Territory("med-n", "ant", "MED-N"),
    Territory("med-s", "ant", "MED-S"),
    Territory("bog", "co", "BOG"),
    Territory("bog-1", "bog", "BOG-1"),
    Territory("bog-2", "bog", "BOG-2"),
]


def city(*names: str) -> dict:
    return {"field": "city", "op": "in", "value": list(names)}


def test_a_region_s_rule_narrows_every_territory_below_it():
    rules = [
        Rule("r0", "ant", 0, city("Medellín", "Envigado")),
        Rule("rb", "bog", 0, city("Bogotá", "Cali")),
        Rule("r1", "med-n", 0, {"field": "kind", "op": "eq", "value": "pharmacy"}),
        Rule("r2", "med-s", 0, {"field": "kind", "op": "eq", "value": "hospital"}),
        Rule("r3", "bog-1", 0, {"field": "kind", "op": "eq", "value": "pharmacy"}),
    ]
    place = Assigner(TREE, rules).territory_for
    assert place({"city": "Medellín", "kind": "pharmacy"}) == "med-n"
    assert place({"city": "Envigado", "kind": "hospital"}) == "med-s"
    assert place({"city": "Cali", "kind": "pharmacy"}) == "bog-1"  # ANT's rule does not hold
    assert place({"city": "Pasto", "kind": "pharmacy"}) is None  # neither region's holds
    assert place({"city": "Medellín", "kind": "distributor"}) is None  # no leaf rule holds


def test_priority_then_depth_then_code_decide_between_matching_territories():
    everyone = {"field": "kind", "op": "is_empty", "value": False}
    rules = [Rule("a", "bog-2", 5, everyone), Rule("b", "med-n", 1, everyone)]
    assert Assigner(TREE, rules).territory_for({"kind": "pharmacy"}) == "bog-2"
    tied = [Rule("a", "bog-2", 1, everyone), Rule("b", "med-n", 1, everyone)]
    assert Assigner(TREE, tied).territory_for({"kind": "pharmacy"}) == "bog-2"  # code BOG-2 < MED-N
    deeper = [*TREE, Territory("bog-2a", "bog-2", "AAA")]
    assert Assigner(deeper, [Rule("a", "bog-1", 1, everyone), Rule("b", "bog-2a", 1, everyone)]
                    ).territory_for({"kind": "x"}) == "bog-2a"  # fmt: skip


def test_only_leaves_receive_accounts():
    rules = [Rule("r", "bog", 9, {"field": "kind", "op": "is_empty", "value": False})]
    assert Assigner(TREE, rules).territory_for({"kind": "pharmacy"}) is None


accounts = st.fixed_dictionaries(
    {
        "city": st.sampled_from(["Medellín", "Envigado", "Cali", "Bogotá", None]),
        "kind": st.sampled_from(["pharmacy", "hospital", "distributor"]),
        "postal_code": st.text("0123456789", min_size=0, max_size=6),
    }
)
leaf_rules = st.lists(
    st.tuples(
        st.sampled_from(["med-n", "med-s", "bog-1", "bog-2", "ant", "bog"]),
        st.integers(-3, 3),
        st.sampled_from(["Medellín", "Envigado", "Cali", "Bogotá"]),
        st.sampled_from(["pharmacy", "hospital", "distributor"]),
    ),
    max_size=8,
)


@given(account=accounts, raw=leaf_rules)
def test_placement_equals_the_definition_checked_leaf_by_leaf(account, raw):
    """The top-down walk agrees with the rule written plainly: of the leaves whose own rule and
    every ruled ancestor's rule hold, the best by (priority, depth, -code)."""
    rules = [
        Rule(f"r{n}", territory, priority, {"any": [city(town), {"field": "kind", "op": "eq",
                                                                 "value": kind}]})
        for n, (territory, priority, town, kind) in enumerate(raw)
    ]  # fmt: skip
    nodes = {t.id: t for t in TREE}
    parents = {t.id for t in TREE if t.parent_id} | set()
    leaves = [t for t in TREE if not any(o.parent_id == t.id for o in TREE)]

    def best_rule(territory: str) -> int | None:
        mine = [r for r in rules if r.territory_id == territory]
        held = [r.priority for r in mine if compile_condition(r.condition)(account)]
        return max(held) if held else None

    def ruled(territory: str) -> bool:
        return any(r.territory_id == territory for r in rules)

    candidates = []
    for leaf in leaves:
        priority = best_rule(leaf.id)
        if priority is None:
            continue
        chain, node, depth = [], leaf.parent_id, 1
        while node is not None:
            chain.append(node)
            node, depth = nodes[node].parent_id, depth + 1
        if all(best_rule(a) is not None for a in chain if ruled(a)):
            candidates.append((priority, depth, [-ord(c) for c in leaf.code], leaf.id))
    expected = max(candidates)[3] if candidates else None
    assert parents  # the tree has inner nodes
    assert Assigner(TREE, rules).territory_for(account) == expected
