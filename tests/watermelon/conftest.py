"""The real WatermelonDB client against a live server.

``device.mjs`` is one WatermelonDB device (its own ``synchronize()``, LokiJS in memory) in a Node
process; ``WatermelonDevice`` drives it from a test. The server is the ``app`` fixture (SQLite and
PostgreSQL) served over HTTP on 127.0.0.1 from a thread. The npm packages are installed on first
use (``npm ci``, once for all xdist workers); without Node.js or npm these tests skip.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import queue
import shutil
import subprocess
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.builders import PASSWORD, load

HERE = Path(__file__).resolve().parent
SCHEMA = HERE.parents[1] / "mobile_protocol" / "watermelon" / "schema-v1.json"
REPLY_SECONDS = 30.0
NODE_MAJOR = 20


# Node and the npm packages ------------------------------------------------------------------


def _node_version() -> int | None:
    node = shutil.which("node")
    if node is None:
        return None
    found = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    return int(found.stdout.strip().lstrip("v").split(".")[0]) if found.returncode == 0 else None


def _npm_ci() -> str | None:
    """Install node_modules from package-lock.json; None, or why it failed."""
    try:
        installed = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=HERE,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
    except subprocess.TimeoutExpired:
        return "no answer from the npm registry in 10 minutes"
    return installed.stderr[-800:] if installed.returncode != 0 else None


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """``tests/watermelon/node_modules`` as package-lock.json pins it, installed once: a lock
    file keeps concurrent workers from racing, a stamp of the lock file's hash skips a repeat."""
    major = _node_version()
    if major is None or shutil.which("npm") is None:
        pytest.skip("the WatermelonDB client needs Node.js and npm on PATH")
    if major < NODE_MAJOR:
        pytest.skip(f"the WatermelonDB client needs Node.js {NODE_MAJOR}+, found {major}")
    wanted = hashlib.sha256((HERE / "package-lock.json").read_bytes()).hexdigest()
    modules = HERE / "node_modules"
    stamp = modules / ".sfa-package-lock.sha256"
    key = hashlib.sha256(str(HERE).encode()).hexdigest()[:16]
    with open(Path(tempfile.gettempdir()) / f"sfa-watermelon-npm-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not stamp.exists() or stamp.read_text() != wanted:
            failed = _npm_ci()
            if failed:
                pytest.skip(f"npm ci failed in {HERE} (offline?): {failed}")
            stamp.write_text(wanted)
    return modules


# The live server ----------------------------------------------------------------------------


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    """The small world (tests.builders), served over real HTTP; yields the base URL."""
    load(app)
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=http.serve_forever, kwargs={"poll_interval": 0.05}, name="sfa-live", daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()
    http.server_close()
    thread.join(timeout=10)


def call_api(
    method: str, url: str, body: Any = None, token: str | None = None
) -> tuple[int, dict[str, Any]]:
    """One JSON request to the live server: (status, decoded body)."""
    request = urllib.request.Request(url, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    data = None if body is None else json.dumps(body).encode()
    try:
        with urllib.request.urlopen(request, data, timeout=REPLY_SECONDS) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def sign_in(server: str, email: str, device_id: str) -> dict[str, Any]:
    status, tokens = call_api(
        "POST",
        f"{server}/api/v1/auth/login",
        {
            "email": email,
            "password": PASSWORD,
            "device_id": device_id,
            "device_name": f"WatermelonDB {device_id}",
            "platform": "android",
        },
    )
    assert status == 200, tokens
    return tokens


# The device ---------------------------------------------------------------------------------


class DeviceError(AssertionError):
    """A command the device answered with ``ok: false``; ``reply`` holds the whole answer."""

    def __init__(self, command: str, reply: dict[str, Any], log_tail: str) -> None:
        super().__init__(f"{command}: {reply.get('error')}\n{json.dumps(reply)[:2000]}\n{log_tail}")
        self.reply = reply


class PausedSync:
    """A sync stopped between its pull and its push; ``reply`` is its answer once resumed."""

    reply: dict[str, Any] | None = None


class WatermelonDevice:
    """One WatermelonDB device: a Node process running device.mjs, signed in as ``email``."""

    def __init__(self, server: str, email: str, device_id: str, log: Path) -> None:
        self.email, self.device_id, self.log = email, device_id, log
        self._log_file = log.open("w")
        self._process = subprocess.Popen(
            ["node", str(HERE / "device.mjs"), "--server", server, "--schema", str(SCHEMA)],
            cwd=HERE,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log_file,
            text=True,
        )
        self._replies: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._early: dict[tuple[int, str | None], dict[str, Any]] = {}
        self._seq = 0
        reader = threading.Thread(target=self._read, args=(self._process.stdout,), daemon=True)
        reader.start()
        try:
            self._wait(0, "ready")
            self.tokens = sign_in(server, email, device_id)
            self.call("set_token", **self.tokens)
        except BaseException:
            self.close()
            raise

    def _read(self, stdout: IO[str]) -> None:
        for line in stdout:
            self._replies.put(json.loads(line))
        self._replies.put(None)

    def _send(self, command: str, **arguments: Any) -> int:
        self._seq += 1
        line = json.dumps({"seq": self._seq, "cmd": command, **arguments})
        self._process.stdin.write(line + "\n")
        self._process.stdin.flush()
        return self._seq

    def _wait(self, seq: int, event: str | None = None) -> dict[str, Any]:
        """The answer to command ``seq`` (or its ``event``), keeping others that come first."""
        while (seq, event) not in self._early:
            try:
                message = self._replies.get(timeout=REPLY_SECONDS)
            except queue.Empty:
                tail = self.log_tail()
                raise AssertionError(f"{self.device_id}: no answer in time\n{tail}") from None
            if message is None:
                raise AssertionError(f"{self.device_id}: the process ended\n{self.log_tail()}")
            self._early[(message["seq"], message.get("event"))] = message
            if event and (seq, None) in self._early:  # it finished without the event
                return self._early.pop((seq, None))
        return self._early.pop((seq, event))

    def log_tail(self, lines: int = 30) -> str:
        self._log_file.flush()
        return "\n".join(self.log.read_text().splitlines()[-lines:])

    def send(self, command: str, **arguments: Any) -> dict[str, Any]:
        """The device's answer to one command, ``ok`` or not."""
        return self._wait(self._send(command, **arguments))

    def call(self, command: str, **arguments: Any) -> dict[str, Any]:
        """The answer to one command that must succeed (else DeviceError)."""
        reply = self.send(command, **arguments)
        if not reply["ok"]:
            raise DeviceError(f"{self.device_id} {command}", reply, self.log_tail())
        return reply

    def sync(self, **options: Any) -> dict[str, Any]:
        """One ``synchronize()``; options: ``lose_push_response=True``."""
        return self.call("sync", **options)

    @contextmanager
    def paused_before_push(self) -> Iterator[PausedSync]:
        """A sync that pulls, then waits inside ``pushChanges`` while the block runs."""
        seq = self._send("sync", pause_before_push=True)
        paused, early = PausedSync(), self._wait(seq, "paused_before_push")
        if "event" not in early:
            raise DeviceError(f"{self.device_id} sync", early, self.log_tail())
        yield paused
        self.call("resume")
        paused.reply = self._wait(seq)

    def create(self, table: str, **fields: Any) -> str:
        return self.call("create", table=table, fields=fields)["id"]

    def update(self, table: str, record_id: str, **fields: Any) -> None:
        self.call("update", table=table, id=record_id, fields=fields)

    def delete(self, table: str, record_id: str, descendants: bool = False) -> None:
        self.call("delete", table=table, id=record_id, descendants=descendants)

    def records(self, table: str, raw: bool = False) -> dict[str, dict[str, Any]]:
        """The table's records by id (with ``_status``/``_changed`` when ``raw``)."""
        found = self.call("query", table=table, raw=raw)["records"]
        return {record["id"]: record for record in found}

    def local_changes(self) -> dict[str, Any]:
        """``{"unsynced": bool, "changes": {table: {created, updated, deleted: [ids]}}}``."""
        return self.call("local_changes")

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.stdin.close()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process.stdout.close()
        self._log_file.close()


@pytest.fixture
def device(
    node_modules: Path, server: str, tmp_path: Path
) -> Iterator[Callable[..., WatermelonDevice]]:
    """``device(email, device_id=...)``: a signed-in WatermelonDB device, closed afterwards."""
    started: list[WatermelonDevice] = []

    def start(email: str, device_id: str | None = None) -> WatermelonDevice:
        name = device_id or f"wm-{len(started) + 1}"
        started.append(WatermelonDevice(server, email, name, tmp_path / f"{name}.log"))
        return started[-1]

    yield start
    for each in started:
        each.close()
