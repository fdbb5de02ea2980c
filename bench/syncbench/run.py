"""One benchmark run: the server, the options, and what every measurement needs from them."""

from __future__ import annotations

import http.client
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from syncbench.device import Device
from syncbench.servers import CpuMeter, GunicornServer, InProcessServer

_DURATION_SUM = re.compile(
    r'^sfa_http_request_duration_seconds_sum\{endpoint="([^"]+)"\}\s+(\S+)$', re.M
)


@dataclass
class BenchRun:
    server: GunicornServer | InProcessServer
    database_url: str
    duration: float
    fleet_devices: int
    push_devices: int
    push_batches: int
    idle_requests: int
    repeats: int
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def profiling(self) -> bool:
        return self.server.profiler is not None

    def device(self, email: str, device_id: str) -> Device:
        return Device(self.server.port, email, device_id)

    def server_seconds(self, endpoint: str) -> float:
        """Time the app itself spent handling ``endpoint`` so far (all workers), from the
        request-duration histogram it exports on /metrics."""
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        try:
            connection.request("GET", "/metrics")
            text = connection.getresponse().read().decode()
        finally:
            connection.close()
        return sum(float(v) for name, v in _DURATION_SUM.findall(text) if name == endpoint)

    def cpu_meter(self) -> CpuMeter | None:
        """A meter of the workers' and the database's CPU; None when the server is in-process."""
        if not isinstance(self.server, GunicornServer):
            return None
        return CpuMeter(self.server, self.database_url)


def run_threads(run: BenchRun, tasks: list[Callable[[], None]]) -> None:
    """Run ``tasks`` on their own threads and wait; the first error is raised here, and any
    error (or Ctrl-C) tells the others to stop through ``run.stop``."""
    errors: list[BaseException] = []

    def guarded(task: Callable[[], None]) -> None:
        try:
            task()
        except BaseException as exc:  # noqa: BLE001 (reported by the caller)
            errors.append(exc)
            run.stop.set()

    threads = [threading.Thread(target=guarded, args=(task,), daemon=True) for task in tasks]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)
    except KeyboardInterrupt:
        run.stop.set()
        raise
    if errors:
        raise errors[0]
