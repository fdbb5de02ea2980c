"""The territory tree: adding and moving subtrees keeps the closure table equal to a plain walk
of the parent links, and the scopes of everyone above and below follow."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from sfa.db import db
from sfa.errors import ValidationFailed
from sfa.territories import tree
from sfa.territories.models import Territory, TerritoryClosure
from sfa.territories.services import subtree_ids
from tests.builders import headers_for, load, world
from tests.sync_helpers import SyncDevice


def naive_subtree(parents: dict[str, str | None], root: str) -> set[str]:
    """Every node whose walk up the parent links reaches ``root``."""
    found = set()
    for node in parents:
        current: str | None = node
        while current is not None:
            if current == root:
                found.add(node)
                break
            current = parents[current]
    return found


def closure_of(app) -> set[tuple[str, str, int]]:  # noqa: ANN001
    with app.app_context():
        rows = db.session.execute(
            select(TerritoryClosure.ancestor_id, TerritoryClosure.descendant_id,
                   TerritoryClosure.depth)
        ).all()  # fmt: skip
        return {tuple(row) for row in rows}


def naive_closure(parents: dict[str, str | None]) -> set[tuple[str, str, int]]:
    pairs = set()
    for node in parents:
        current, depth = node, 0
        while current is not None:
            pairs.add((current, node, depth))
            current, depth = parents[current], depth + 1
    return pairs


steps = st.lists(
    st.tuples(st.sampled_from(["add", "move"]), st.integers(0, 10**6), st.integers(0, 10**6)),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(plan=steps)
def test_random_adds_and_moves_keep_subtrees_equal_to_a_walk_of_the_parents(app, plan):
    with app.app_context():
        session = db.session
        session.query(TerritoryClosure).delete()
        session.query(Territory).delete()
        session.commit()
        now = datetime.now(UTC)
        nodes: list[str] = []
        for n, (action, a, b) in enumerate(plan):
            if action == "add" or len(nodes) < 2:
                parent = nodes[a % len(nodes)] if nodes and a % 4 else None
                made = tree.add_territory(session, f"T{n}", f"T{n}", "territory", parent, None, now)
                nodes.append(made.id)
            else:
                moving, target = nodes[a % len(nodes)], nodes[b % len(nodes)] if b % 5 else None
                try:
                    tree.move_subtree(session, moving, target, None, now)
                except ValidationFailed:  # under itself: refused, nothing changed
                    session.rollback()
                    continue
            session.commit()
        parents = dict(session.execute(select(Territory.id, Territory.parent_id)).all())
        for root in nodes:
            below = set(session.scalars(subtree_ids([root])))
            assert below == naive_subtree(parents, root)
    assert closure_of(app) == naive_closure(parents)


def test_a_cycle_is_refused(app):
    load(app)
    with app.app_context():
        codes = dict(db.session.execute(select(Territory.code, Territory.id)).all())
        try:
            tree.move_subtree(db.session, codes["CO-AND"], codes["CO-ANT-01"], None,
                              datetime.now(UTC))  # fmt: skip
        except ValidationFailed as refused:
            assert refused.errors[0]["path"] == "parent_id"
        else:
            raise AssertionError("a move under itself was accepted")


def test_a_subtree_move_changes_the_scope_of_everyone_above_and_below(app, client):
    document = world()
    document["users"].append({"email": "manager.caribe@example.com", "name": "Manager Caribe",
                              "role": "manager", "password": document["users"][0]["password"],
                              "territories": ["CO-CAR"]})  # fmt: skip
    load(app, document)
    admin = headers_for(client, "admin@example.com", "admin-laptop")
    andina = SyncDevice(client, headers_for(client, "manager.andina@example.com", "tablet-a"))
    caribe = SyncDevice(client, headers_for(client, "manager.caribe@example.com", "tablet-c"))
    rep = SyncDevice(client, headers_for(client, "rep.bogota@example.com", "phone-b"))
    for device in (andina, caribe, rep):
        device.pull()
    with app.app_context():
        codes = dict(db.session.execute(select(Territory.code, Territory.id)).all())
    bogota_accounts = set(rep.records["accounts"])
    assert bogota_accounts <= set(andina.records["accounts"])
    assert not bogota_accounts & set(caribe.records["accounts"])

    moved = client.post(f"/api/v1/admin/territories/{codes['CO-BOG-01']}/move",
                        json={"parent_id": codes["CO-CAR"]}, headers=admin)  # fmt: skip
    assert moved.status_code == 200 and moved.get_json()["parent_id"] == codes["CO-CAR"]
    for device in (andina, caribe, rep):
        device.pull()

    assert not bogota_accounts & set(andina.records["accounts"])  # left the old region's
    assert codes["CO-BOG-01"] not in andina.records["territories"]
    assert bogota_accounts <= set(caribe.records["accounts"])  # joined the new one's
    assert codes["CO-BOG-01"] in caribe.records["territories"]
    assert set(rep.records["accounts"]) == bogota_accounts  # below: unchanged
    assert rep.records["territories"][codes["CO-BOG-01"]]["parent_id"] == codes["CO-CAR"]
    under = client.post(f"/api/v1/admin/territories/{codes['CO-CAR']}/move",
                        json={"parent_id": codes["CO-BOG-01"]}, headers=admin)  # fmt: skip
    assert under.status_code == 422
    trail = client.get("/api/v1/admin/audit", query_string={"entity": "territory"},
                       headers=admin).get_json()["items"]  # fmt: skip
    assert trail[0]["action"] == "moved"
    assert trail[0]["before"] == {"parent_id": codes["CO-AND"]}
