"""A live HTTP server for an app, on 127.0.0.1 in a thread, for a real browser to talk to."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask
from werkzeug.serving import make_server


@dataclass(frozen=True)
class LiveServer:
    url: str
    territories: dict[str, str]  # ids by code


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve ``app`` on a free port until the block ends; yields the base URL."""
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=http.serve_forever, kwargs={"poll_interval": 0.05}, name="sfa-live", daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_port}"
    finally:
        http.shutdown()
        http.server_close()
        thread.join(timeout=10)
