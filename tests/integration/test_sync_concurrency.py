"""No skipped change: a pull cursor never passes a change that a concurrent transaction commits
later. Proven on PostgreSQL with many concurrent writers, against a negative control: the same
run read through a plain sequence cursor, which must miss the late committer."""

from __future__ import annotations

import random
import threading
import time

import pytest
from sqlalchemy import create_engine, text

from tests.builders import headers_for, load
from tests.sync_helpers import PROTOCOL

WRITERS = 16
CHANGES_PER_WRITER = 8

postgresql_only = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


class SequenceCursorFeed:
    """The negative control: changes numbered by a sequence, read with ``id > last seen``."""

    def __init__(self, engine) -> None:  # noqa: ANN001
        self.engine, self.last, self.seen = engine, 0, []

    def poll(self) -> None:
        with self.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT id, sku FROM sequence_probe WHERE id > :last ORDER BY id"),
                {"last": self.last},
            ).all()
        for row_id, sku in rows:
            self.seen.append(sku)
            self.last = max(self.last, row_id)


class ServerPullFeed:
    """The real thing: a device pulling deltas through the sync API."""

    def __init__(self, client, headers) -> None:  # noqa: ANN001
        self.client, self.headers, self.cursor, self.seen = client, headers, None, []

    def poll(self) -> None:
        continuation = None
        while True:
            params = {"limit": 50}
            if self.cursor:
                params["cursor"] = self.cursor
            if continuation:
                params["continuation"] = continuation
            body = self.client.get(
                "/api/v1/sync/pull", query_string=params, headers={**self.headers, **PROTOCOL}
            ).get_json()
            for product in body["changes"].get("products", {}).get("upserts", []):
                if product["sku"].startswith("RACE-"):
                    self.seen.append(product["sku"])
            if not body["has_more"]:
                self.cursor = body["cursor"]
                return
            continuation = body["continuation"]


def write_product(connection, sku: str) -> None:  # noqa: ANN001
    connection.execute(
        text(
            "INSERT INTO products (id, sku, name, product_line, unit, active, created_at, "
            "updated_at) VALUES (:sku, :sku, 'race', 'RACE', 'box', true, now(), now())"
        ),
        {"sku": sku},
    )
    connection.execute(text("INSERT INTO sequence_probe (sku) VALUES (:sku)"), {"sku": sku})


def run_race(app, client, seed: int) -> tuple[list[str], ServerPullFeed, SequenceCursorFeed]:  # noqa: ANN001
    engine = create_engine(app.config["DATABASE_URL"], pool_size=WRITERS + 4)
    with engine.begin() as connection:
        connection.execute(
            text("CREATE TABLE IF NOT EXISTS sequence_probe (id BIGSERIAL PRIMARY KEY, sku TEXT)")
        )
        connection.execute(text("TRUNCATE sequence_probe RESTART IDENTITY"))
    server = ServerPullFeed(client, headers_for(client, "rep.medellin@example.com"))
    sequence = SequenceCursorFeed(engine)
    server.poll()
    sequence.poll()
    committed: list[str] = []
    lock = threading.Lock()
    late_has_begun, others_seen = threading.Event(), threading.Event()

    def late_committer() -> None:
        """Takes its transaction id and sequence number first, commits after others were seen."""
        with engine.connect() as connection:
            write_product(connection, "RACE-late")
            late_has_begun.set()
            others_seen.wait(timeout=30)
            connection.commit()
        with lock:
            committed.append("RACE-late")

    def writer(number: int) -> None:
        late_has_begun.wait(timeout=30)
        rng = random.Random(seed * 100 + number)
        for change in range(CHANGES_PER_WRITER):
            with engine.connect() as connection:
                write_product(connection, f"RACE-{number:02d}-{change}")
                time.sleep(rng.uniform(0, 0.03))  # work inside the open transaction
                connection.commit()
            with lock:
                committed.append(f"RACE-{number:02d}-{change}")

    threads = [threading.Thread(target=late_committer)]
    threads += [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        server.poll()
        sequence.poll()
        if len(sequence.seen) >= WRITERS and len(server.seen) >= WRITERS:
            others_seen.set()  # later commits have been pulled; now let the early one commit
        time.sleep(0.002)
    for thread in threads:
        thread.join()
    server.poll()
    sequence.poll()
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE sequence_probe"))
    engine.dispose()
    return committed, server, sequence


@postgresql_only
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_pull_cursor_never_skips_a_change_committed_late_by_a_concurrent_writer(
    app, client, seed
):
    load(app)
    committed, server, sequence = run_race(app, client, seed)

    assert len(committed) == WRITERS * CHANGES_PER_WRITER + 1
    assert sorted(server.seen) == sorted(committed), "missed or duplicated changes"
    assert len(server.seen) == len(set(server.seen))
    # negative control: the same run through a plain sequence cursor loses the late commit
    missed = set(committed) - set(sequence.seen)
    assert "RACE-late" in missed
