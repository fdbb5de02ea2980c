"""Sync converges: a Hypothesis state machine of field devices against the real server.

Three to five phones (reps', possibly two of one rep, possibly the Andina manager's) edit
customer details, record visits and take draft orders offline; they push their queues (the
response is sometimes lost and the queue replayed, the push sometimes sent twice) and pull
(sometimes in small pages), while the back office edits customers, moves them between
territories and reassigns reps. After quiescence (every queue pushed empty, then every phone
pulled) each phone must hold exactly what a brand-new device of its user receives, no write
the server acknowledged may be lost unless its policy let a recorded edit overrule it, and no
deleted record may come back.

One fake clock serves the phones and the server (the sync views and the import read it): it
advances a second per step, edits carry it as ``edited_at`` and pushes as ``device_time``, so
skew is 0 and ``latest_wins`` follows the order of the steps. The world is loaded and every
phone signed in and synced once per test; each example starts from an exact copy of that
database and of the phones.
"""

from __future__ import annotations

from collections import Counter
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import delete, insert, select, text

from sfa.db import Base, db
from sfa.sync.entities import BY_NAME
from sfa.sync.triggers import TRACKED as TRACKED_TABLES
from sfa.sync.triggers import install_statements, remove_statements
from tests.builders import headers_for, load, world
from tests.sync_helpers import PROTOCOL, SyncDevice, mutation, new_id

REPS = ("rep.medellin@example.com", "rep.bogota@example.com", "rep.barranquilla@example.com")
MANAGER = "manager.andina@example.com"
POOL = tuple((user, n) for user in (*REPS, MANAGER) for n in (1, 2))  # phones one may carry
LEAVES = ("CO-ANT-01", "CO-BOG-01", "CO-BAQ-01")
BELOW = {"CO": LEAVES, "CO-AND": LEAVES[:2], "CO-CAR": LEAVES[2:]}
WORLD = world()
CUSTOMERS = {row["code"]: row for row in WORLD["accounts"]}
PEOPLE = {row["email"]: row for row in WORLD["users"]}
PAGE_SIZES = (1000, 1000, 5)  # some phones pull in small pages, through continuations
STATUSES = {"applied", "merged", "rejected", "duplicate"}

# What reps type (small pools, so that edits collide), and each field's policy (PROTOCOL.md)
TYPED = {
    "phone": ("+57 604 555 0101", "+57 604 555 0202", "+57 604 555 0303"),
    "email": (None, "compras@example.com", "gerencia@example.com"),
    "address": ("Cl 80 #45-10", "Cra 43A #1-50", "Cl 10 #5-20"),
}
NOTES = ("llamar antes", "pide descuento", None)
BACK_OFFICE = {"name": "Drogueria {}", "phone": "+57 601 {:07d}", "address": "Cl {} #1-1"}
POLICY = {"phone": "latest_wins", "email": "latest_wins", "address": "review"}  # else: last
TRACKED = {
    "accounts": ("name", "phone", "email", "address"),
    "visits": ("notes",),
    "orders": ("notes",),
    "order_lines": ("quantity",),
}


def wire(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FakeClock:
    """The one clock of the story: whole seconds, one tick per step."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.at = datetime.now(UTC).replace(microsecond=0)

    def tick(self) -> None:
        self.at += timedelta(seconds=1)

    def now(self) -> datetime:
        return self.at

    def wire(self) -> str:
        return wire(self.at)

    def ms(self) -> int:
        return int(self.at.timestamp() * 1000)


@dataclass
class Stage:
    """The world loaded, every phone signed in and synced once; ``reset`` restores that."""

    app: Any
    client: Any
    clock: FakeClock
    headers: dict[tuple, dict] = field(default_factory=dict)
    synced: dict[tuple, SyncDevice] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)  # account code or email -> id
    work: dict[str, dict[str, dict]] = field(default_factory=dict)  # visits, orders, lines
    rows: dict[str, list[dict]] = field(default_factory=dict)

    def prepare(self) -> Stage:
        load(self.app, world())
        everyone = (*REPS, MANAGER, "admin@example.com")
        for who in (*POOL, *((user, "fresh") for user in everyone)):
            self.headers[who] = headers_for(self.client, who[0], f"{who[0]}-{who[1]}")
        for user in (*REPS, MANAGER):
            self.record_earlier_work((user, 1))
        self.work = {entity: self.records(entity) for entity in ("visits", "orders", "order_lines")}
        for who in POOL:
            self.synced[who] = SyncDevice(self.client, self.headers[who])
            self.synced[who].pull()
        with self.app.app_context():
            accounts, users = BY_NAME["accounts"].table, Base.metadata.tables["users"]
            for key in (accounts.c.code, users.c.email):
                self.ids.update(db.session.execute(select(key, key.table.c.id)).all())
            self.rows = {
                table.name: [dict(row._mapping) for row in db.session.execute(select(table))]
                for table in Base.metadata.sorted_tables
            }
            db.session.rollback()
        return self

    def record_earlier_work(self, who: tuple) -> None:
        """A visit and a draft order with a line, already on the server, for ``who``'s user."""
        phone = SyncDevice(self.client, self.headers[who])
        phone.pull()
        account, product = min(phone.ids("accounts")), min(phone.ids("products"))
        order = new_id()
        results = phone.push(
            mutation("visits", "create", new_id(), {"account_id": account, "notes": NOTES[0]}),
            mutation("orders", "create", order, {"account_id": account, "notes": NOTES[0]}),
            mutation(
                "order_lines",
                "create",
                new_id(),
                {"order_id": order, "product_id": product, "quantity": 1},
            ),
        )
        assert {result["status"] for result in results} == {"applied"}, results

    def reset(self) -> None:
        """Put the database back as prepared, sync versions included (change tracking is off
        meanwhile, so the copy leaves no tombstones and the phones' cursors stay valid)."""
        with self.app.app_context():
            dialect = db.engine.dialect.name
            for statement in remove_statements(dialect, TRACKED_TABLES):
                db.session.execute(text(statement))
            for table in reversed(Base.metadata.sorted_tables):
                db.session.execute(delete(table))
            for table in Base.metadata.sorted_tables:
                if self.rows[table.name]:
                    db.session.execute(insert(table), self.rows[table.name])
            for statement in install_statements(dialect, TRACKED_TABLES):
                db.session.execute(text(statement))
            db.session.commit()

    def phone(self, who: tuple) -> SyncDevice:
        """A pool phone as it was after its first sync."""
        synced = self.synced[who]
        return SyncDevice(self.client, synced.headers, synced.cursor, deepcopy(synced.records))

    def records(self, entity: str) -> dict[str, dict]:
        """The server's rows of ``entity``, by id."""
        with self.app.app_context():
            rows = db.session.execute(select(BY_NAME[entity].table)).mappings().all()
            db.session.rollback()
        return {row["id"]: dict(row) for row in rows}

    def first_sync(self, user: str) -> SyncDevice:
        """What a brand-new device of ``user`` receives."""
        fresh = SyncDevice(self.client, self.headers[(user, "fresh")])
        fresh.pull()
        return fresh


@dataclass
class Device:
    """A phone: its local copy (from pulls), its offline queue, what it created and deleted
    itself, and the results it received."""

    user: str
    sync: SyncDevice
    page: int  # records per pull page
    queue: list[dict] = field(default_factory=list)
    made: dict[str, list[str]] = field(default_factory=lambda: {"visits": [], "orders": []})
    gave_up: set[str] = field(default_factory=set)
    pulled_at: int = 0  # ledger position of its last complete pull
    acknowledged: dict[str, dict] = field(default_factory=dict)

    def local(self, entity: str) -> dict[str, dict]:
        return self.sync.records.get(entity, {})

    def own(self, entity: str, user_id: str) -> list[str]:
        pulled = {i for i, r in self.local(entity).items() if r["user_id"] == user_id}
        return sorted((pulled | set(self.made[entity])) - self.gave_up)


@dataclass
class Write:
    """One value the server took for one field."""

    value: Any
    at: int  # fake-clock ms of the edit
    seq: int  # position in the server's processing order
    user: str | None = None  # None: the back office (or the initial load)
    seen: int = 0  # ledger position of the pull the edit was based on
    device: int | None = None  # which phone made it


@dataclass
class Ledger:
    """What the server was told, in the order it processed it."""

    seq: int = 0
    results: dict[str, dict] = field(default_factory=dict)  # mutation id -> first result
    writes: dict[tuple[str, str, str], list[Write]] = field(default_factory=dict)
    live: dict[tuple[str, str], str] = field(default_factory=dict)  # phones' records -> account
    lines: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  # -> order
    deleted: dict[tuple[str, str], int] = field(default_factory=dict)  # -> seq of the delete

    @classmethod
    def before_any_step(cls, stage: Stage) -> Ledger:
        """The customers as loaded and the earlier work, as the first writes of their fields."""
        ledger = cls()
        for code, row in CUSTOMERS.items():
            for name in TRACKED["accounts"]:
                ledger.write("accounts", stage.ids[code], name, row[name], at=-1)
        for entity, records in stage.work.items():
            for record_id, record in records.items():
                ledger.live[(entity, record_id)] = record["account_id"]
                if entity == "order_lines":
                    ledger.lines[(entity, record_id)] = ("orders", record["order_id"])
                for name in TRACKED[entity]:
                    ledger.write(entity, record_id, name, record[name], at=-1)
        return ledger

    def step(self) -> None:
        self.seq += 1

    def write(self, entity: str, record_id: str, name: str, value: Any, **how: Any) -> None:
        found = self.writes.setdefault((entity, record_id, name), [])
        found.append(Write(value, seq=self.seq, **how))

    def forget(self, key: tuple[str, str]) -> None:
        self.live.pop(key, None)
        self.deleted[key] = self.seq
        for line in [line for line, order in self.lines.items() if order == key]:
            del self.lines[line]
            self.forget(line)


def pick(items: list, index: int) -> Any:
    return items[index % len(items)]


class SyncConvergence(RuleBasedStateMachine):
    """Phones and the back office at work; ``teardown`` quiesces and checks convergence."""

    def __init__(self, stage: Stage) -> None:
        super().__init__()
        stage.reset()
        stage.clock.reset()
        self.stage, self.clock = stage, stage.clock
        self.devices: list[Device] = []
        self.ledger = Ledger.before_any_step(stage)
        self.territory = {stage.ids[c]: row["territory"] for c, row in CUSTOMERS.items()}
        self.assigned = {email: set(row.get("territories", [])) for email, row in PEOPLE.items()}
        self.seen: dict[str, int] = {}  # mutation id -> ledger position its edit was based on
        self.clean = True

    @initialize(
        phones=st.lists(
            st.tuples(st.sampled_from(POOL), st.sampled_from(PAGE_SIZES)),
            min_size=3,
            max_size=5,
            unique_by=lambda phone: phone[0],
        )
    )
    def hand_out_phones(self, phones: list) -> None:
        """Three to five synced phones, each pulling pages of its own size; a rep may carry
        two, the manager may carry one."""
        self.devices = [Device(who[0], self.stage.phone(who), page) for who, page in phones]

    def begin_step(self) -> None:
        self.clean = False
        self.clock.tick()

    def phone(self, index: int) -> Device:
        self.begin_step()
        return pick(self.devices, index)

    def offline(
        self,
        device: Device,
        entity: str,
        op: str,
        record_id: str,
        fields: dict,
        base: int | None = None,
    ) -> None:
        queued = mutation(entity, op, record_id, fields, base, self.clock.wire())
        device.queue.append(queued)
        self.seen[queued["id"]] = device.pulled_at

    # what reps do offline --------------------------------------------------------------

    @rule(
        device=st.integers(0, 4),
        which=st.integers(0, 3),
        changes=st.dictionaries(st.sampled_from(sorted(TYPED)), st.integers(0, 2), min_size=1),
    )
    def rep_corrects_customer_details(self, device: int, which: int, changes: dict) -> None:
        """A rep corrects a pharmacy's phone, email or address, offline."""
        phone = self.phone(device)
        accounts = phone.local("accounts")
        if accounts:
            account = accounts[pick(sorted(accounts), which)]
            fields = {name: TYPED[name][n] for name, n in changes.items()}
            self.offline(phone, "accounts", "update", account["id"], fields, account["revision"])

    @rule(device=st.integers(0, 4), which=st.integers(0, 3), notes=st.sampled_from(NOTES))
    def rep_records_a_visit(self, device: int, which: int, notes: str | None) -> None:
        """A rep reports a visit to a pharmacy of their territory."""
        phone = self.phone(device)
        if phone.local("accounts"):
            visit, account = new_id(), pick(sorted(phone.local("accounts")), which)
            fields = {"account_id": account, "planned_at": self.clock.wire(), "notes": notes}
            self.offline(phone, "visits", "create", visit, fields)
            phone.made["visits"].append(visit)

    @rule(
        device=st.integers(0, 4),
        which=st.integers(0, 3),
        quantities=st.lists(st.integers(1, 9), min_size=1, max_size=2),
    )
    def rep_takes_a_draft_order(self, device: int, which: int, quantities: list[int]) -> None:
        """A rep takes a draft order with a line or two."""
        phone = self.phone(device)
        if phone.local("accounts"):
            order, account = new_id(), pick(sorted(phone.local("accounts")), which)
            self.offline(phone, "orders", "create", order, {"account_id": account, "notes": None})
            for product, quantity in zip(sorted(phone.local("products")), quantities, strict=False):
                line = {"order_id": order, "product_id": product, "quantity": quantity}
                self.offline(phone, "order_lines", "create", new_id(), line)
            phone.made["orders"].append(order)

    @rule(
        device=st.integers(0, 4),
        which=st.integers(0, 3),
        entity=st.sampled_from(["visits", "orders", "order_lines"]),
        notes=st.sampled_from(NOTES),
        quantity=st.integers(1, 9),
    )
    def rep_amends_own_work(
        self, device: int, which: int, entity: str, notes: str | None, quantity: int
    ) -> None:
        """A rep changes the notes of one of their visits or orders, or a line's quantity."""
        phone = self.phone(device)
        if entity == "order_lines":
            orders = set(phone.own("orders", self.stage.ids[phone.user]))
            mine = sorted(i for i, r in phone.local(entity).items() if r["order_id"] in orders)
            fields = {"quantity": quantity}
        else:
            mine, fields = phone.own(entity, self.stage.ids[phone.user]), {"notes": notes}
        if mine:
            record_id = pick(mine, which)
            base = phone.local(entity).get(record_id, {}).get("revision")
            self.offline(phone, entity, "update", record_id, fields, base)

    @rule(
        device=st.integers(0, 4),
        which=st.integers(0, 3),
        entity=st.sampled_from(["visits", "orders"]),
    )
    def rep_deletes_own_work(self, device: int, which: int, entity: str) -> None:
        """A rep deletes one of their visits or draft orders."""
        phone = self.phone(device)
        mine = phone.own(entity, self.stage.ids[phone.user])
        if mine:
            record_id = pick(mine, which)
            base = phone.local(entity).get(record_id, {}).get("revision")
            self.offline(phone, entity, "delete", record_id, {}, base)
            phone.gave_up.add(record_id)

    # syncing ---------------------------------------------------------------------------

    @rule(
        device=st.integers(0, 4), how=st.sampled_from(["delivered", "response lost", "sent twice"])
    )
    def phone_pushes(self, device: int, how: str) -> None:
        """A phone pushes its queue; the response may be lost, or the push sent twice."""
        self.push(self.phone(device), how)

    @rule(device=st.integers(0, 4))
    def phone_pulls(self, device: int) -> None:
        """A phone pulls every change in its scope."""
        self.pull(self.phone(device))

    def push(self, device: Device, how: str = "delivered") -> None:
        if not device.queue:
            return
        sent = list(device.queue)
        results = self.send(device, sent)
        for queued, result in zip(sent, results, strict=True):
            self.settle(device, queued, result)
        if how == "sent twice":
            for again in self.send(device, sent):
                assert again["status"] == "duplicate", again
                assert again["original"] == self.ledger.results[again["id"]], again
        if how != "response lost":
            device.acknowledged.update({m["id"]: r for m, r in zip(sent, results, strict=True)})
            device.queue = device.queue[len(sent) :]

    def send(self, device: Device, mutations: list[dict]) -> list[dict]:
        body = {"protocol": 1, "device_time": self.clock.wire(), "mutations": mutations}
        headers = {**device.sync.headers, **PROTOCOL}
        response = self.stage.client.post("/api/v1/sync/push", json=body, headers=headers)
        assert response.status_code < 500, response.get_data(as_text=True)
        assert response.status_code == 200, response.get_json()
        results = response.get_json()["results"]
        assert [r["id"] for r in results] == [m["id"] for m in mutations]
        assert {r["status"] for r in results} <= STATUSES, results
        return results

    def pull(self, device: Device) -> None:
        device.sync.pull(device.page)
        device.pulled_at = self.ledger.seq
        self.check_no_deleted_record_came_back()

    # what the server makes of a mutation -----------------------------------------------

    def settle(self, device: Device, queued: dict, result: dict) -> None:
        """Check one result against what the server was bound to do, and remember it."""
        if result["status"] == "duplicate":
            assert result["original"] == self.ledger.results[queued["id"]], result
            return
        assert queued["id"] not in self.ledger.results, f"processed twice: {result}"
        self.ledger.results[queued["id"]] = result
        refusal = self.refusal(device.user, queued)
        if refusal:
            assert (result["status"], result.get("code")) == ("rejected", refusal), result
        else:
            assert result["status"] in ("applied", "merged"), (queued, result)
            self.remember(device, queued)

    def refusal(self, user: str, queued: dict) -> str | None:
        """The rejection code the server must answer with, if any."""
        entity, op, fields = queued["entity"], queued["op"], queued["fields"]
        if op == "create" and entity == "order_lines":
            account = self.ledger.live.get(("orders", fields["order_id"]))
        elif op == "create":
            account = fields["account_id"]
        elif entity == "accounts":
            account = queued["record_id"]
        else:
            account = self.ledger.live.get((entity, queued["record_id"]))
        if account is None:
            return "not_found"
        return None if self.territory[account] in self.scope(user) else "out_of_scope"

    def scope(self, user: str) -> set[str]:
        return {leaf for code in self.assigned[user] for leaf in BELOW.get(code, (code,))}

    def remember(self, device: Device, queued: dict) -> None:
        self.ledger.step()
        key, fields = (queued["entity"], queued["record_id"]), queued["fields"]
        if queued["op"] == "delete":
            self.ledger.forget(key)
            return
        if queued["op"] == "create" and key[0] == "order_lines":
            order = ("orders", fields["order_id"])
            self.ledger.live[key], self.ledger.lines[key] = self.ledger.live[order], order
        elif queued["op"] == "create":
            self.ledger.live[key] = fields["account_id"]
        edited = int(datetime.fromisoformat(queued["edited_at"]).timestamp() * 1000)
        for name in set(fields) & set(TRACKED[key[0]]):
            how = {
                "at": edited,
                "user": device.user,
                "seen": self.seen[queued["id"]],
                "device": id(device),
            }
            self.ledger.write(*key, name, fields[name], **how)

    # the back office -------------------------------------------------------------------

    @rule(which=st.integers(0, 5), name=st.sampled_from(sorted(BACK_OFFICE)))
    def back_office_updates_a_customer(self, which: int, name: str) -> None:
        """The ERP sends a new name, phone or address for a customer."""
        self.begin_step()
        code = pick(sorted(CUSTOMERS), which)
        value = BACK_OFFICE[name].format(self.clock.ms() // 1000 % 10_000_000)
        self.import_customer(code, {name: value})
        self.ledger.step()
        self.ledger.write("accounts", self.stage.ids[code], name, value, at=self.clock.ms())

    @rule(which=st.integers(0, 5), territory=st.sampled_from(LEAVES))
    def back_office_moves_a_customer(self, which: int, territory: str) -> None:
        """The ERP moves a customer to another territory."""
        self.begin_step()
        code = pick(sorted(CUSTOMERS), which)
        self.territory[self.stage.ids[code]] = territory
        self.import_customer(code, {"territory": territory})

    @rule(rep=st.sampled_from(REPS), territories=st.sets(st.sampled_from(LEAVES), max_size=2))
    def back_office_reassigns_a_rep(self, rep: str, territories: set[str]) -> None:
        """The ERP gives a rep another set of territories (possibly none)."""
        self.begin_step()
        self.assigned[rep] = territories
        user = {**PEOPLE[rep], "territories": sorted(territories)}
        load(self.stage.app, {"format": WORLD["format"], "users": [user]})

    def import_customer(self, code: str, changes: dict) -> None:
        """Import one customer as the ERP has it: the details the server holds, ``changes``."""
        held = self.stage.records("accounts")[self.stage.ids[code]]
        row = {**CUSTOMERS[code], **{n: held[n] for n in TRACKED["accounts"]}}
        row["territory"] = self.territory[held["id"]]
        load(self.stage.app, {"format": WORLD["format"], "accounts": [{**row, **changes}]})

    # checks ----------------------------------------------------------------------------

    @invariant()
    def no_phone_holds_a_record_deleted_before_its_last_pull(self) -> None:
        self.check_no_deleted_record_came_back()
        self.clean = True  # the step and its checks passed: teardown may check convergence

    def check_no_deleted_record_came_back(self) -> None:
        for device in self.devices:
            gone = {key for key, seq in self.ledger.deleted.items() if seq <= device.pulled_at}
            held = {(e, i) for e, table in device.sync.records.items() for i in table}
            assert not held & gone, f"deleted records came back: {held & gone}"

    def teardown(self) -> None:
        if not self.clean or not self.devices:
            return  # a step failed: that failure is the one to report
        self.quiesce()
        assert set(self.seen) == set(self.ledger.results), "a mutation never reached the server"
        assert sum(len(d.acknowledged) for d in self.devices) == len(self.seen)
        views = {user: self.stage.first_sync(user) for user in {d.user for d in self.devices}}
        for n, device in enumerate(self.devices):
            assert_same_records(device.sync.state(), views[device.user].state(), f"phone {n}")
        self.check_writes(views)

    def quiesce(self) -> None:
        """Every phone pushes until its queue is empty (replaying lost pushes), then pulls."""
        for device in self.devices:
            while device.queue:
                self.clock.tick()
                self.push(device)
        for device in self.devices:
            self.clock.tick()
            self.pull(device)

    def check_writes(self, views: dict[str, SyncDevice]) -> None:
        """No acknowledged write is lost: each field holds the write its policy makes win,
        each device value kept for review is an open conflict, deleted records stay deleted."""
        server = {entity: self.stage.records(entity) for entity in TRACKED}
        for entity, record_id in self.ledger.deleted:
            assert record_id not in server[entity], (entity, record_id)
        for entity, record_id in self.ledger.live:
            assert record_id in server[entity], (entity, record_id)
        for_review: dict[str, Counter] = {user: Counter() for user in views}
        for (entity, record_id, name), writes in self.ledger.writes.items():
            if (entity, record_id) in self.ledger.deleted:
                continue
            expected, lost = outcome(POLICY.get(name, "last"), writes)
            actual = server[entity][record_id][name]
            assert actual == expected, (entity, record_id, name, actual, writes)
            for write, kept in lost:
                for_review[write.user][(record_id, kept, write.value)] += 1
        for user, view in views.items():
            open_ones = Counter(
                (c["record_id"], c["kept_value"], c["overruled_value"])
                for c in view.records.get("conflicts", {}).values()
                if c["policy"] == "review" and c["status"] == "open"
            )
            assert open_ones == for_review[user], (user, open_ones, for_review[user])


def outcome(policy: str, writes: list[Write]) -> tuple[Any, list[tuple[Write, Any]]]:
    """The value a field must end with, and the device writes kept for review instead (each
    with the value kept over it). ``writes`` are in the server's processing order."""
    if policy == "latest_wins":  # the latest edit, whatever the order of arrival
        return max(writes, key=lambda w: w.at).value, []
    if policy != "review":  # client_wins, or only the back office writes it: the last one
        return writes[-1].value, []
    value, changed, by, lost = None, -1, None, []
    for write in writes:  # a device edit concurrent with another's change waits for a manager
        rival = by is None or by != write.device
        if write.user is not None and changed > write.seen and write.value != value and rival:
            lost.append((write, value))
        elif write.value != value:
            value, changed, by = write.value, write.seq, write.device
    return value, lost


def assert_same_records(held: dict, expected: dict, who: str) -> None:
    """Compare two local copies entity by entity, naming the records that differ."""
    for entity in sorted(set(held) | set(expected)):
        mine, theirs = held.get(entity, {}), expected.get(entity, {})
        extra, missing = set(mine) - set(theirs), set(theirs) - set(mine)
        assert not extra and not missing, f"{who} {entity}: extra {extra}, missing {missing}"
        for record_id, record in mine.items():
            fresh = theirs[record_id]
            assert record == fresh, f"{who} {entity} {record_id}: {record} != {fresh}"


CONVERGENCE = settings(
    max_examples=200,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def test_devices_converge_on_the_servers_view_of_their_scope(app, client, monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr("sfa.sync.views.utcnow", clock.now)
    monkeypatch.setattr("sfa.erp.imports.services.utcnow", clock.now)
    stage = Stage(app, client, clock).prepare()
    run_state_machine_as_test(lambda: SyncConvergence(stage), settings=CONVERGENCE)


# What the machine found, kept as plain regressions ---------------------------------------


def test_a_visit_deleted_after_its_account_moved_away_leaves_the_old_reps_phone(app, client):
    load(app, world())
    manager = SyncDevice(client, headers_for(client, MANAGER, "manager-phone"))
    bogota = SyncDevice(client, headers_for(client, REPS[1], "bogota-phone"))
    manager.pull()
    account = next(
        a["id"] for a in manager.records["accounts"].values() if a["code"] == "A-CO-BOG-01-1"
    )
    visit = new_id()
    manager.push(mutation("visits", "create", visit, {"account_id": account}))
    bogota.pull()
    moved = {**CUSTOMERS["A-CO-BOG-01-1"], "territory": "CO-ANT-01"}
    load(app, {"format": WORLD["format"], "accounts": [moved]})
    assert manager.push(mutation("visits", "delete", visit))[0]["status"] == "applied"

    bogota.pull()

    assert account not in bogota.ids("accounts")
    assert visit not in bogota.ids("visits")


@pytest.mark.parametrize("back_office_first", [False, True], ids=["unstamped", "stamped"])
def test_latest_wins_keeps_the_latest_edit_even_when_it_agrees_with_the_server(
    app, client, back_office_first
):
    load(app, world())
    first, second = (SyncDevice(client, headers_for(client, REPS[0], f"m-{n}")) for n in (1, 2))
    first.pull()
    second.pull()
    account = min(first.records["accounts"].values(), key=lambda a: a["code"])
    agreed = account["phone"]
    if back_office_first:  # both phones' edits are then concurrent with a stamped change
        agreed = "+57 601 555 0000"
        changed = {**CUSTOMERS[account["code"]], "phone": agreed}
        load(app, {"format": WORLD["format"], "accounts": [changed]})
    soon = datetime.now(UTC) + timedelta(hours=1)

    def edit(phone: str, at: datetime) -> dict:
        fields = {"phone": phone}
        return mutation("accounts", "update", account["id"], fields, account["revision"], wire(at))

    second.push(edit(agreed, soon + timedelta(minutes=5)))  # the latest edit agrees
    first.push(edit("+57 604 555 0202", soon))  # made earlier, arrives last
    first.pull()

    assert first.records["accounts"][account["id"]]["phone"] == agreed
