"""Where a sync request's time goes: a profiler (cProfile or pyinstrument) around each sync
request while a measurement runs, and every SQL statement each request executed, timed."""

from __future__ import annotations

import contextlib
import cProfile
import io
import pstats
import re
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import event
from sqlalchemy.engine import Engine

_PARAMETERS = re.compile(r"%\(\w+\)s(?:\s*,\s*%\(\w+\)s)*")
_SPACE = re.compile(r"\s+")
_SAVEPOINT = re.compile(r"sa_savepoint_\d+")


@dataclass
class RequestRecord:
    endpoint: str
    seconds: float = 0.0
    statements: list[tuple[str, float]] = field(default_factory=list)


def statement_shape(sql: str) -> str:
    """A statement with its parameters (expanded IN lists included) folded to ``?``."""
    folded = _SAVEPOINT.sub("sa_savepoint_N", _PARAMETERS.sub("?", sql))
    return _SPACE.sub(" ", folded).strip()


class RequestProfiler:
    """WSGI middleware. While :meth:`recording`, each ``/api/v1/sync/`` request runs under the
    profiler and its SQL statements are timed (the server must be single-threaded)."""

    def __init__(self, app, engine: Engine, kind: str) -> None:  # noqa: ANN001
        self.app, self.kind = app, kind
        self.enabled = False
        self.requests: list[RequestRecord] = []
        self.current = threading.local()
        if kind == "pyinstrument":
            from pyinstrument import Profiler

            self.profiler = Profiler(interval=0.001)
        else:
            self.profiler = cProfile.Profile()
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    @contextlib.contextmanager
    def recording(self) -> Iterator[None]:
        self.enabled = True
        try:
            yield
        finally:
            self.enabled = False

    def __call__(self, environ, start_response):  # noqa: ANN001, ANN204
        path = environ.get("PATH_INFO", "")
        if not (self.enabled and path.startswith("/api/v1/sync/")):
            return self.app(environ, start_response)
        record = RequestRecord(f"{environ['REQUEST_METHOD']} {path}")
        self.current.record = record
        started = time.perf_counter()
        self._start()
        try:
            body = self.app(environ, start_response)
            try:
                chunks = list(body)
            finally:
                if hasattr(body, "close"):
                    body.close()
        finally:
            self._stop()
            record.seconds = time.perf_counter() - started
            self.current.record = None
            self.requests.append(record)
        return chunks

    def _start(self) -> None:
        if self.kind == "pyinstrument":
            self.profiler.start()
        else:
            self.profiler.enable()

    def _stop(self) -> None:
        if self.kind == "pyinstrument":
            self.profiler.stop()
        else:
            self.profiler.disable()

    def _before(self, conn, _cursor, _statement, _params, context, _many) -> None:  # noqa: ANN001
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def _after(self, conn, _cursor, statement, _params, _context, _many) -> None:  # noqa: ANN001
        started = conn.info["bench_started"].pop()
        record = getattr(self.current, "record", None)
        if record is not None:
            record.statements.append((statement, time.perf_counter() - started))

    # reporting --------------------------------------------------------------------------------

    def report(self, out=sys.stdout, top: int = 35) -> None:  # noqa: ANN001
        if not self.requests:
            print("profile: no sync request was recorded", file=out)
            return
        self._report_sql(out)
        print(file=out)
        if self.kind == "pyinstrument":
            session = self.profiler.last_session
            print(
                f"pyinstrument: {session.sample_count:,} samples over the sync requests "
                "(call tree, time in each frame including its callees):",
                file=out,
            )
            print(self.profiler.output_text(unicode=True, color=False), file=out)
            return
        text = io.StringIO()
        stats = pstats.Stats(self.profiler, stream=text).strip_dirs()
        stats.sort_stats("cumulative").print_stats(top)
        stats.sort_stats("tottime").print_stats(top // 2)
        print(text.getvalue(), file=out)

    def _report_sql(self, out) -> None:  # noqa: ANN001
        by_endpoint: dict[str, list[RequestRecord]] = defaultdict(list)
        for record in self.requests:
            by_endpoint[record.endpoint].append(record)
        for endpoint, records in by_endpoint.items():
            n = len(records)
            wall = sum(r.seconds for r in records)
            statements = [s for r in records for s in r.statements]
            sql_seconds = sum(seconds for _, seconds in statements)
            print(
                f"profile {endpoint}: {n:,} requests, {wall / n * 1000:.2f} ms each (profiled), "
                f"{len(statements) / n:.1f} SQL statements per request taking "
                f"{sql_seconds / n * 1000:.2f} ms ({sql_seconds / wall:.0%} of the time)",
                file=out,
            )
            shapes: dict[str, list[float]] = defaultdict(list)
            for sql, seconds in statements:
                shapes[statement_shape(sql)].append(seconds)
            ranked = sorted(shapes.items(), key=lambda item: -sum(item[1]))
            print("   per request   mean ms  ms/request  statement", file=out)
            for shape, times in ranked[:12]:
                print(
                    f"   {len(times) / n:11.2f} {sum(times) / len(times) * 1000:9.3f} "
                    f"{sum(times) * 1000 / n:11.3f}  {shape[:160]}",
                    file=out,
                )
