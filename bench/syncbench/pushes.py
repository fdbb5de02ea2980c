"""Push measurements: batches of account edits from several reps' devices at once, and a
fleet of devices each doing a morning sync (push a few edits, then a delta pull)."""

from __future__ import annotations

import itertools
import time
from functools import partial

from syncbench.dataset import reps
from syncbench.device import Device
from syncbench.figures import Figure, percentile
from syncbench.run import BenchRun, run_threads

BATCH = 100
EDITS_PER_SYNC = 10
FLEET = 10_000
FLEET_SECONDS = 600


def ready_devices(run: BenchRun, devices: list[Device]) -> None:
    """Sign each device in and give it its first sync, a few at a time."""
    pending = iter(devices)

    def prepare() -> None:
        for device in pending:  # the threads share one iterator
            if run.stop.is_set():
                return
            device.sign_in()
            device.pull(5000, from_start=True)

    run_threads(run, [prepare] * min(4, len(devices)))


def own_slice(device: Device, index: int, of: int) -> itertools.cycle:
    """The accounts this device edits: its share of its rep's, disjoint from its siblings'."""
    return itertools.cycle(sorted(device.accounts)[index::of])


def push_batches(run: BenchRun) -> list[Figure]:
    count = 1 if run.profiling else run.push_devices
    batches = run.push_batches
    print(
        f"\n[push] {count} device(s) of as many reps, each pushing {batches} batches of "
        f"{BATCH} phone edits to its own accounts, all at once (after one warm-up batch each)"
    )
    devices = [run.device(rep.email, f"push-phone-{n}") for n, rep in enumerate(reps()[:count])]
    ready_devices(run, devices)
    slices = [own_slice(device, 0, 1) for device in devices]
    latencies: list[float] = []

    def pusher(device: Device, accounts: itertools.cycle) -> None:
        for _ in range(batches):
            if run.stop.is_set():
                return
            edits = device.phone_edits([next(accounts) for _ in range(BATCH)])
            latencies.append(device.push(edits).seconds)

    for device, accounts in zip(devices, slices, strict=True):
        device.push(device.phone_edits([next(accounts) for _ in range(BATCH)]))
    meter = run.cpu_meter()
    if meter:
        meter.start()
    started = time.perf_counter()
    tasks = [partial(pusher, d, a) for d, a in zip(devices, slices, strict=True)]
    with run.server.profiling():
        run_threads(run, tasks)
    elapsed = time.perf_counter() - started
    if meter:
        meter.stop()
        meter.close()
    for device in devices:
        device.close()
    mutations = len(latencies) * BATCH
    rate = mutations / elapsed
    ms = [s * 1000 for s in latencies]
    print(
        f"  {mutations:,} mutations in {elapsed:.2f} s: {rate:,.0f} mutations/s; batch latency "
        f"p50 {percentile(ms, 0.5):.1f} ms, p95 {percentile(ms, 0.95):.1f} ms"
    )
    if meter:
        print(f"  {meter.per(mutations, 'mutation')}; {meter.share(elapsed)}")
    return [
        Figure("push: mutations/s (batches of 100)", rate, "mut/s", 10_000, at_most=False, digits=0)
    ]


def fleet(run: BenchRun) -> list[Figure]:
    count = 1 if run.profiling else run.fleet_devices
    team = reps()
    print(
        f"\n[fleet] {count} device(s) syncing back to back for {run.duration:.0f} s; a sync is "
        f"a push of {EDITS_PER_SYNC} account edits, then a delta pull until has_more is false"
    )
    devices = [run.device(team[n % len(team)].email, f"fleet-phone-{n}") for n in range(count)]
    print(f"  signing in and giving each device its first sync ({count} logins, Argon2)")
    ready_devices(run, devices)
    siblings = [(n // len(team), -(-(count - n % len(team)) // len(team))) for n in range(count)]
    slices = [own_slice(d, i, of) for d, (i, of) in zip(devices, siblings, strict=True)]
    durations: list[float] = []
    pulled: list[int] = []
    deadline = time.perf_counter() + run.duration

    def morning_syncs(device: Device, accounts: itertools.cycle) -> None:
        while not run.stop.is_set() and time.perf_counter() < deadline:
            started = time.perf_counter()
            device.push(device.phone_edits([next(accounts) for _ in range(EDITS_PER_SYNC)]))
            pulled.append(device.pull(1000).records)
            durations.append(time.perf_counter() - started)

    meter = run.cpu_meter()
    if meter:
        meter.start()
    started = time.perf_counter()
    tasks = [partial(morning_syncs, d, a) for d, a in zip(devices, slices, strict=True)]
    with run.server.profiling():
        run_threads(run, tasks)
    elapsed = time.perf_counter() - started
    if meter:
        meter.stop()
        meter.close()
    held = sum(len(d.accounts) for d in devices) / count
    for device in devices:
        device.close()
    syncs = len(durations)
    rate = syncs / elapsed
    ms = [s * 1000 for s in durations]
    print(
        f"  {syncs:,} syncs in {elapsed:.1f} s: {rate:.1f} syncs/s; sync latency "
        f"p50 {percentile(ms, 0.5):.0f} ms, p95 {percentile(ms, 0.95):.0f} ms; "
        f"{sum(pulled) / syncs:.1f} records per delta pull "
        f"(devices hold {held:,.0f} accounts on average)"
    )
    if meter:
        print(f"  {meter.per(syncs, 'sync')}; {meter.share(elapsed)}")
    minutes = FLEET / rate / 60
    print(f"  {FLEET:,} morning syncs at this rate: {minutes:.1f} minutes")
    return [
        Figure(
            "fleet: sustained syncs/s",
            rate,
            "syncs/s",
            FLEET / FLEET_SECONDS,
            at_most=False,
            digits=1,
        ),
        Figure(
            "fleet: 10,000 morning syncs (extrapolated)", minutes, "min", 10, at_most=True, digits=1
        ),
    ]
