"""Request ids, JSON logs with the request id, and Prometheus metrics."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

from sfa.db import begin_read_only, end_read_only

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_READ_METHODS = {"GET", "HEAD", "OPTIONS"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line; carries the request id when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = _current_request_id()
        if request_id:
            entry["request_id"] = request_id
        for key in ("method", "path", "status", "duration_ms", "user_id"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def _current_request_id() -> str | None:
    try:
        return g.get("request_id")
    except RuntimeError:  # outside a request
        return None


def configure_logging(level: str, as_json: bool) -> None:
    root = logging.getLogger("sfa")
    root.setLevel(level.upper())
    if any(getattr(h, "_sfa", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler._sfa = True  # type: ignore[attr-defined]
    if as_json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root.addHandler(handler)
    root.propagate = False


class Metrics:
    """The app's Prometheus instruments. Under gunicorn (``PROMETHEUS_MULTIPROC_DIR`` set by
    ``sfa serve``) every worker writes its samples to that folder and /metrics adds them up."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "sfa_http_requests_total",
            "HTTP requests handled",
            ["method", "endpoint", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "sfa_http_request_duration_seconds",
            "HTTP request handling time",
            ["endpoint"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )

    def exposition(self) -> Response:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        else:
            registry = self.registry
        return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def install(app: Flask) -> Metrics:
    metrics = Metrics()
    access_log = logging.getLogger("sfa.access")

    @app.before_request
    def _start() -> None:
        supplied = request.headers.get("X-Request-ID", "")
        g.request_id = supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex
        g.started = time.perf_counter()
        if request.method in _READ_METHODS:
            g.read_only_token = begin_read_only()

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id", "")
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        endpoint = request.endpoint or "unmatched"
        metrics.requests.labels(request.method, endpoint, str(response.status_code)).inc()
        metrics.latency.labels(endpoint).observe(elapsed)
        principal = g.get("principal")
        access_log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 2),
                "user_id": principal.user_id if principal else None,
            },
        )
        return response

    @app.teardown_request
    def _end(_exc: BaseException | None) -> None:
        token = g.pop("read_only_token", None)
        if token is not None:
            end_read_only(token)

    return metrics
