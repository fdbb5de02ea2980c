"""Pull measurements: a territory's initial sync, an idle delta pull, a manager's full pull."""

from __future__ import annotations

import time

from syncbench.dataset import FIRST_TERRITORY_ACCOUNTS, MANAGER, reps
from syncbench.device import PullResult
from syncbench.figures import Figure, percentile
from syncbench.run import BenchRun

MB = 1_000_000


def timed_pulls(run: BenchRun, device, limit: int, times: int) -> list[PullResult]:  # noqa: ANN001
    """``times`` pulls from the start, each with the app's own handling time attached."""
    results = []
    for _ in range(times):
        before = run.server_seconds("sync.pull")
        with run.server.profiling():
            result = device.pull(limit, from_start=True)
        result.server_seconds = run.server_seconds("sync.pull") - before
        results.append(result)
    return results


def describe_pull(label: str, result: PullResult) -> None:
    print(
        f"  {label}: {result.pages} pages, {result.records:,} records; "
        f"requests {result.request_seconds:.3f} s (app {result.server_seconds:.3f} s), "
        f"device total {result.seconds:.3f} s; {result.wire_bytes / MB:.2f} MB gzip "
        f"({result.json_bytes / MB:.2f} MB JSON)"
    )


def initial_sync(run: BenchRun) -> list[Figure]:
    rep = reps()[0]
    print(
        f"\n[initial] first sync of {rep.email} ({rep.territory}: "
        f"{FIRST_TERRITORY_ACCOUNTS:,} accounts), median of {run.repeats} after a warm-up"
    )
    device = run.device(rep.email, "initial-phone")
    device.sign_in()
    warm = device.pull(5000, from_start=True)
    print("  records: " + ", ".join(f"{k} {v:,}" for k, v in warm.by_entity.items()))
    figures = []
    for limit in (5000, 1000):
        runs = timed_pulls(run, device, limit, run.repeats)
        chosen = sorted(runs, key=lambda r: r.request_seconds)[len(runs) // 2]
        describe_pull(f"limit {limit}", chosen)
        if limit == 5000:
            figures += [
                Figure(
                    "initial sync: server time (limit 5000)",
                    chosen.request_seconds,
                    "s",
                    1.0,
                    at_most=True,
                    digits=3,
                ),
                Figure(
                    "initial sync: bytes gzip (limit 5000)",
                    chosen.wire_bytes / MB,
                    "MB",
                    2.0,
                    at_most=True,
                ),
            ]
        else:
            figures.append(
                Figure(
                    "initial sync: server time (limit 1000)",
                    chosen.request_seconds,
                    "s",
                    1.0,
                    at_most=True,
                    digits=3,
                )
            )
    device.close()
    return figures


def watermelon_first_pull(run: BenchRun) -> list[Figure]:
    """The same territory's first sync through the WatermelonDB endpoint, beside the native
    protocol's (one page of everything, as WatermelonDB asks for it)."""
    rep = reps()[0]
    print(
        f"\n[watermelon] first WatermelonDB pull of {rep.email} ({rep.territory}: "
        f"{FIRST_TERRITORY_ACCOUNTS:,} accounts), median of {run.repeats} after a warm-up, "
        "beside the native protocol's first sync"
    )
    device = run.device(rep.email, "watermelon-phone")
    device.sign_in()
    warm = device.watermelon_pull()
    print("  records: " + ", ".join(f"{k} {v:,}" for k, v in warm.by_entity.items()))
    runs = []
    for _ in range(run.repeats):
        before = run.server_seconds("watermelon.pull")
        result = device.watermelon_pull()
        result.server_seconds = run.server_seconds("watermelon.pull") - before
        runs.append(result)
    chosen = sorted(runs, key=lambda r: r.request_seconds)[len(runs) // 2]
    describe_pull("watermelon", chosen)
    native = sorted(timed_pulls(run, device, 5000, run.repeats), key=lambda r: r.request_seconds)[
        run.repeats // 2
    ]
    describe_pull("native, limit 5000", native)
    device.close()
    return [
        Figure("watermelon first pull: server time", chosen.request_seconds, "s", 1.0,
               at_most=True, digits=3),
        Figure("watermelon first pull: bytes gzip", chosen.wire_bytes / MB, "MB", 2.0,
               at_most=True),
        Figure("native first sync, same run: server time", native.request_seconds, "s", 1.0,
               at_most=True, digits=3),
        Figure("native first sync, same run: bytes gzip", native.wire_bytes / MB, "MB", 2.0,
               at_most=True),
    ]  # fmt: skip


def idle_pull(run: BenchRun) -> list[Figure]:
    n = run.idle_requests
    rep = reps()[1]
    print(
        f"\n[idle] {n:,} delta pulls with nothing changed, one keep-alive connection, "
        f"after {n // 10:,} to warm up"
    )
    device = run.device(rep.email, "idle-phone")
    device.sign_in()
    device.pull(5000, from_start=True)
    for _ in range(n // 10):
        device.pull(5000)
    meter = run.cpu_meter()
    seconds, delivered = [], 0
    if meter:
        meter.start()
    started = time.perf_counter()
    with run.server.profiling():
        for _ in range(n):
            result = device.pull(5000)
            seconds.append(result.request_seconds)
            delivered += result.records
    elapsed = time.perf_counter() - started
    if meter:
        meter.stop()
        meter.close()
    device.close()
    ms = [s * 1000 for s in seconds]
    print(
        f"  latency p50 {percentile(ms, 0.5):.2f} ms, p95 {percentile(ms, 0.95):.2f} ms, "
        f"p99 {percentile(ms, 0.99):.2f} ms, mean {sum(ms) / n:.2f} ms; "
        f"{delivered} records delivered (expected 0)"
    )
    figures = [Figure("idle pull: p50 latency", percentile(ms, 0.5), "ms", 1.4, at_most=True)]
    if meter:
        print(f"  {meter.per(n, 'request')}; the target is on the workers'")
        print(f"  {meter.share(elapsed)}")
        figures.append(
            Figure(
                "idle pull: server CPU per request",
                meter.workers / n * 1000,
                "ms",
                0.8,
                at_most=True,
            )
        )
    return figures


def full_pull(run: BenchRun) -> list[Figure]:
    print(
        f"\n[full] full pull by {MANAGER.email} (all 10,000 accounts), limit 5000, "
        f"median of {run.repeats} after a warm-up"
    )
    device = run.device(MANAGER.email, "full-tablet")
    device.sign_in()
    warm = device.pull(5000, from_start=True)
    print("  records: " + ", ".join(f"{k} {v:,}" for k, v in warm.by_entity.items()))
    meter = run.cpu_meter()
    if meter:
        meter.start()
    started = time.perf_counter()
    runs = timed_pulls(run, device, 5000, run.repeats)
    elapsed = time.perf_counter() - started
    if meter:
        meter.stop()
        meter.close()
    device.close()
    chosen = sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]
    describe_pull("limit 5000", chosen)
    rate = chosen.records / chosen.seconds
    print(
        f"  {rate:,.0f} records/s over the pull's wall time, "
        f"{chosen.records / chosen.request_seconds:,.0f} over its requests, "
        f"{chosen.records / chosen.server_seconds:,.0f} over the app's handling time"
    )
    if meter:
        print(f"  {meter.per(len(runs), 'pull', scale=1)}")
        print(f"  {meter.share(elapsed)}")
    return [
        Figure(
            "full pull (10,000 accounts): records/s",
            rate,
            "rec/s",
            150_000,
            at_most=False,
            digits=0,
        )
    ]
