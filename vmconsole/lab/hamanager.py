"""The lab's HA manager: `vmconsole ha run --profile lab` started by `lab up` in the
background (its own session, output in `<lab>/ha/manager.log`), stopped by `lab down`
before any guest is, so it never restarts what the teardown stops."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from vmconsole.lab import daemon
from vmconsole.lab.layout import PROFILE, Layout
from vmconsole.lab.shell import LabError

START_TIMEOUT_S = 30.0


def ha_dir(lab: Layout) -> Path:
    return lab.root / "ha"


def status_file(lab: Layout) -> Path:
    """Where the lab's manager writes its status (the profile's `ha.status_file`)."""
    return ha_dir(lab) / "status.json"


def _pidfile(lab: Layout) -> Path:
    return ha_dir(lab) / "manager.pid"


def pid(lab: Layout) -> int | None:
    """The lab's manager, if its pidfile names a live process."""
    try:
        found = int(_pidfile(lab).read_text().strip())
        cmdline = Path(f"/proc/{found}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    return found if b"ha" in cmdline and daemon.alive(found) else None


def start(lab: Layout, config: Path) -> int:
    """Start the manager (a running one is stopped first: the profile may have
    changed); returns its pid once its first status is written. Raises LabError with
    its log's last lines if it does not get that far."""
    from vmconsole.ha.status import read_status

    stop(lab)
    ha_dir(lab).mkdir(parents=True, exist_ok=True, mode=0o700)
    log = ha_dir(lab) / "manager.log"
    with log.open("a") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "vmconsole", "ha", "--config", str(config), "run",
             "--profile", PROFILE], stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
    _pidfile(lab).write_text(str(process.pid))
    deadline = time.monotonic() + START_TIMEOUT_S
    while (found := read_status(status_file(lab))) is None or found.pid != process.pid:
        if process.poll() is not None or time.monotonic() > deadline:
            stop(lab)
            tail = log.read_text(errors="replace").splitlines()[-5:]
            raise LabError("the HA manager did not start: " + " / ".join(tail))
        time.sleep(0.1)
    return process.pid


def stop(lab: Layout) -> bool:
    """Stop the manager (SIGTERM, then SIGKILL); True if one ran."""
    found = pid(lab)
    if found is not None:
        daemon.terminate({found})  # a zombie counts as gone (daemon.alive)
    _pidfile(lab).unlink(missing_ok=True)
    return found is not None
