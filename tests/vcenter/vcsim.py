"""VMware's vCenter simulator (govmomi's vcsim) as a separate process on loopback.

The launcher (tools/vcsim/src/vcsim/main.go) is built from Debian's govmomi sources by
tools/vcsim/build.sh, which scripts/test.sh runs; a test run on a machine with Go builds
it too (seconds with the build cache). It prints one JSON line once it answers: its URL
and the SHA-256 fingerprint of its certificate, which the tests pin.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "tools" / "vcsim" / "build.sh"
GOVMOMI = Path("/usr/share/gocode/src/github.com/vmware/govmomi/simulator")
USER = "vmconsole@vsphere.local"
PASSWORD = "vcsim-pass-3f9a"
START_TIMEOUT = 60.0
BUILD_TIMEOUT = 600.0


def missing() -> str | None:
    """Why the simulator cannot be built here, or None."""
    if shutil.which("go") is None:
        return "Go is not installed (apt-get install golang-go; scripts/test.sh does it as root)"
    if not GOVMOMI.is_dir():
        return ("govmomi's sources are not installed (apt-get install "
                "golang-github-vmware-govmomi-dev; scripts/test.sh does it as root)")
    return None


def build() -> Path:
    """The launcher's binary, built (or rebuilt after a change) by tools/vcsim/build.sh."""
    out = subprocess.run(["bash", str(BUILD)], capture_output=True, text=True,
                         timeout=BUILD_TIMEOUT, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"building the vcsim launcher failed:\n{out.stderr[-3000:]}")
    return Path(out.stdout.strip().splitlines()[-1])


class Vcsim:
    """One simulator process; `restart()` starts a fresh one on the same port."""

    def __init__(self, binary: Path, *args: str) -> None:
        self.binary, self.args = binary, list(args)
        self.proc: subprocess.Popen[str] | None = None
        self.hello: dict[str, Any] = {}
        # Its log goes to a file, not a pipe that nobody reads and that could fill up.
        self.log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed by the fixture)
        self.start("127.0.0.1:0")

    @property
    def host(self) -> str:
        return str(self.hello["host"])

    @property
    def port(self) -> int:
        return int(self.hello["port"])

    @property
    def fingerprint(self) -> str:
        return str(self.hello["fingerprint"])

    def start(self, listen: str) -> None:
        env = {**os.environ, "VCSIM_PASSWORD": PASSWORD}
        self.proc = subprocess.Popen([str(self.binary), "-l", listen, "-username", USER,
                                      *self.args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log,
                                     text=True, env=env)
        assert self.proc.stdout is not None
        # A wedged start must not hang the run: kill it after the deadline.
        timer = threading.Timer(START_TIMEOUT, self.proc.kill)
        timer.start()
        try:
            line = self.proc.stdout.readline()
        finally:
            timer.cancel()
        if not line:
            raise RuntimeError(f"vcsim exited (code {self.proc.wait()}): {self.log_tail()}")
        self.hello = json.loads(line)

    def log_tail(self, size: int = 3000) -> str:
        """The end of the simulator's log (a Go panic, say)."""
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-size:]

    def kill(self) -> None:
        """Gone at once, mid-answer if need be (SIGKILL)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def restart(self) -> None:
        """A fresh simulator (new inventory, no sessions) on the same address."""
        self.stop()
        self.start(f"{self.host}:{self.port}")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.stdin is not None:
            self.proc.stdin.close()  # the launcher stops when its stdin closes
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None
