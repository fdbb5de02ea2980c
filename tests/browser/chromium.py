"""Debian's Chromium for the browser tests: found where Debian puts it, else installed once with
apt-get. Playwright's own browser download is never used (it cannot be fetched here).

One apt-get runs at a time (a lock file in the temp dir), so concurrent xdist workers wait for
the first instead of racing; a failure is written down for the rest of the same pytest run, so
the other workers skip at once instead of trying again.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DEBIAN_PATH = "/usr/bin/chromium"
INSTALL_SECONDS = 600
LOCK = Path(tempfile.gettempdir()) / "sfa-browser-chromium.lock"
FAILED = Path(tempfile.gettempdir()) / "sfa-browser-chromium.failed"
NO_PLAYWRIGHT = "Playwright for Python is not installed (pip install -e '.[test]')"


@dataclass(frozen=True)
class Chromium:
    """Where Chromium is (``path``), or why there is none (``missing``)."""

    path: str | None = None
    missing: str = ""


def find() -> str | None:
    if os.access(DEBIAN_PATH, os.X_OK):
        return DEBIAN_PATH
    return shutil.which("chromium")


def find_or_install() -> Chromium:
    """Chromium as installed, or after ``apt-get install -y chromium`` where this process may
    run it (root, with apt-get); otherwise why not."""
    found = find()
    if found:
        return Chromium(found)
    apt_get = shutil.which("apt-get")
    if apt_get is None:
        return Chromium(missing=f"no {DEBIAN_PATH} and no apt-get to install Debian's chromium")
    if os.geteuid() != 0:
        return Chromium(missing=f"no {DEBIAN_PATH}; installing it needs root (apt-get install)")
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", f"pid-{os.getpid()}")
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = find()
        if found:  # another worker installed it while this one waited
            return Chromium(found)
        earlier = _failure_of(run)
        if earlier:
            return Chromium(missing=earlier)
        failed = _apt_install(apt_get)
        found = find()
        if found:
            return Chromium(found)
        reason = f"apt-get install -y chromium did not provide chromium: {failed}"
        FAILED.write_text(f"{run}\n{reason}")
        return Chromium(missing=reason)


def _failure_of(run: str) -> str | None:
    """The reason an install already failed in this pytest run, if it did."""
    if not FAILED.exists():
        return None
    recorded_run, _, reason = FAILED.read_text().partition("\n")
    return reason if recorded_run == run else None


def _apt_install(apt_get: str) -> str:
    """Install the package, refreshing the package lists first if apt cannot find it; the
    output's tail on failure, else ''."""
    deadline = time.monotonic() + INSTALL_SECONDS
    failed = _apt(apt_get, ["install", "-y", "chromium"], deadline)
    if failed and "Unable to locate package" in failed:
        failed = _apt(apt_get, ["update"], deadline) or _apt(
            apt_get, ["install", "-y", "chromium"], deadline
        )
    return failed


def _apt(apt_get: str, arguments: list[str], deadline: float) -> str:
    left = deadline - time.monotonic()
    if left <= 0:
        return f"out of time ({INSTALL_SECONDS} s) before apt-get {arguments[0]}"
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        done = subprocess.run(
            [apt_get, *arguments],
            capture_output=True,
            text=True,
            env=environment,
            check=False,
            timeout=left,
        )
    except subprocess.TimeoutExpired:
        return f"apt-get {arguments[0]} took longer than {INSTALL_SECONDS} s"
    if done.returncode == 0:
        return ""
    return f"apt-get {arguments[0]} exited {done.returncode}: {(done.stdout + done.stderr)[-600:]}"
