"""The server under test: ``sfa serve`` (gunicorn) as a child process, or, under ``--profile``,
the same app in this process behind a single-threaded WSGI server with a profiler around each
sync request. Both stop when their ``with`` block ends, however it ends (Ctrl-C included)."""

from __future__ import annotations

import contextlib
import http.client
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg

from syncbench.profiling import RequestProfiler

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
ACCESS_TOKEN_TTL = 24 * 3600  # the run outlasts the default 15 minutes


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_environment(database_url: str, secret: str) -> dict[str, str]:
    return {
        "SFA_DATABASE_URL": database_url,
        "SFA_SECRET_KEY": secret,
        "SFA_LOG_LEVEL": "WARNING",
        "SFA_ACCESS_TOKEN_TTL": str(ACCESS_TOKEN_TTL),
    }


def wait_until_healthy(port: int, timeout: float, alive=lambda: True) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError("the server exited while starting")
        with contextlib.suppress(OSError, http.client.HTTPException):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer /healthz within {timeout:.0f} s")


class GunicornServer:
    """``sfa serve --workers N --port P`` in its own session, stopped by its process id."""

    profiler = None

    def __init__(self, database_url: str, secret: str, workers: int) -> None:
        self.database_url, self.secret, self.workers = database_url, secret, workers
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.log = Path(tempfile.gettempdir()) / f"sfa-bench-server-{self.port}.log"

    def describe(self) -> str:
        return (
            f"sfa serve --workers {self.workers} (gunicorn gthread, 4 threads each) "
            f"on port {self.port}; SFA_LOG_LEVEL=WARNING, SFA_ACCESS_TOKEN_TTL={ACCESS_TOKEN_TTL}, "
            "default Argon2 cost"
        )

    def __enter__(self) -> GunicornServer:
        sfa = Path(sys.executable).with_name("sfa")
        command = [str(sfa)] if sfa.exists() else [sys.executable, "-m", "sfa.cli.main"]
        command += ["serve", "--workers", str(self.workers), "--port", str(self.port)]
        env = {**os.environ, **server_environment(self.database_url, self.secret)}
        with self.log.open("wb") as log:  # the child keeps its own copy of the file
            self.process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            wait_until_healthy(self.port, 60, alive=lambda: self.process.poll() is None)
            self._wait_for_workers()
        except RuntimeError as exc:
            self.stop()
            raise SystemExit(f"{exc}; its log ends with:\n{self.log_tail()}") from None
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_exc) -> None:  # noqa: ANN002
        self.stop()

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            self._terminate(process)
        self.log.unlink(missing_ok=True)

    def _terminate(self, process: subprocess.Popen) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)  # its own session: the master and workers
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def worker_pids(self) -> list[int]:
        """The gunicorn workers: the children of the master."""
        master, found = self.process.pid, []
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError):
                    stat = Path(entry.path, "stat").read_text()
                    if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                        found.append(int(entry.name))
        return found

    def _wait_for_workers(self) -> None:
        deadline = time.monotonic() + 30
        while len(self.worker_pids()) < self.workers and time.monotonic() < deadline:
            time.sleep(0.1)

    @contextlib.contextmanager
    def profiling(self) -> Iterator[None]:
        yield


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (everything but idle and iowait)."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / CLOCK_TICKS


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class CpuMeter:
    """CPU seconds used by the gunicorn workers, by the database's backends and by this
    process (the simulated devices) between :meth:`start` and :meth:`stop`."""

    def __init__(self, server: GunicornServer, database_url: str) -> None:
        self.server = server
        self.monitor = psycopg.connect(database_url, autocommit=True)
        self.database = self.monitor.info.dbname
        self.before: dict[str, dict[int, float]] = {}
        self.workers = self.postgres = self.client = self.others = 0.0
        self.machine_before = 0.0
        self.by_worker: list[float] = []
        self.client_before = 0.0

    def close(self) -> None:
        self.monitor.close()

    def _sample(self) -> dict[str, dict[int, float]]:
        backends = self.monitor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (self.database,),
        ).fetchall()
        sample: dict[str, dict[int, float]] = {"workers": {}, "postgres": {}}
        pids = {"workers": self.server.worker_pids(), "postgres": [pid for (pid,) in backends]}
        for kind in sample:
            for pid in pids[kind]:
                with contextlib.suppress(OSError):
                    sample[kind][pid] = cpu_seconds(pid)
        return sample

    def start(self) -> None:
        self.before = self._sample()
        self.client_before = time.process_time()
        self.machine_before = machine_busy_seconds()

    def stop(self) -> None:
        after = self._sample()
        totals = {
            kind: sum(cpu - self.before[kind].get(pid, 0.0) for pid, cpu in after[kind].items())
            for kind in after
        }
        self.workers, self.postgres = totals["workers"], totals["postgres"]
        self.client = time.process_time() - self.client_before
        machine = machine_busy_seconds() - self.machine_before
        self.others = max(0.0, machine - self.workers - self.postgres - self.client)
        self.by_worker = sorted(
            (cpu - self.before["workers"].get(pid, 0.0) for pid, cpu in after["workers"].items()),
            reverse=True,
        )

    def share(self, seconds: float) -> str:
        """How busy the machine's cores were over ``seconds`` of wall time, and with what."""
        cores = os.cpu_count() or 1
        parts = {
            "workers": self.workers,
            "PostgreSQL": self.postgres,
            "devices": self.client,
            "anything else": self.others,
        }
        used = ", ".join(f"{name} {cpu / (seconds * cores):.0%}" for name, cpu in parts.items())
        each = " + ".join(f"{cpu / seconds:.0%}" for cpu in self.by_worker)
        return f"of the {cores} cores: {used} (one core each: {each})"

    def per(self, count: int, unit: str, scale: float = 1000) -> str:
        """The CPU used per ``unit``, in ms (or another ``scale``)."""
        name = "ms" if scale == 1000 else "s"
        return (
            f"CPU per {unit}: gunicorn workers {self.workers / count * scale:.3g} {name}, "
            f"PostgreSQL backends {self.postgres / count * scale:.3g} {name}, "
            f"the simulated devices {self.client / count * scale:.3g} {name}"
        )


class InProcessServer:
    """The app in this process, one request at a time, each sync request profiled."""

    workers = 1

    def __init__(self, database_url: str, secret: str, profiler_kind: str) -> None:
        from sfa import create_app
        from sfa.db import db

        config = {
            "DATABASE_URL": database_url,
            "SECRET_KEY": secret,
            "LOG_LEVEL": "WARNING",
            "ACCESS_TOKEN_TTL": ACCESS_TOKEN_TTL,
        }
        self.app = create_app(config)
        with self.app.app_context():
            engine = db.engine
        self.profiler = RequestProfiler(self.app.wsgi_app, engine, profiler_kind)
        self.app.wsgi_app = self.profiler  # type: ignore[method-assign]
        self.port = free_port()
        self.server = None

    def describe(self) -> str:
        return (
            f"in-process, single-threaded werkzeug server on port {self.port}, "
            f"{self.profiler.kind} around each sync request (timings are inflated by it)"
        )

    def __enter__(self) -> InProcessServer:
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=False)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        wait_until_healthy(self.port, 30)
        return self

    def __exit__(self, *_exc) -> None:  # noqa: ANN002
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def profiling(self):  # noqa: ANN201
        return self.profiler.recording()
