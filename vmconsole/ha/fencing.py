"""Fencing: making sure a lost node runs nothing before its guests start elsewhere.

A fence succeeds only when its agent confirms it; the manager recovers nothing of a
node until then, and tries again every round. Two agents:
- `CommandFence`: a configured command, such as fence-agents' `fence_ipmilan` or
  `fence_virsh` with `--action off`, or a script; exit status 0 is the confirmation.
- `LabFence`: the lab's power-off (`vmconsole lab fail --power`'s path): every process
  in the node's cgroups killed, and none left.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from vmconsole.text import visible

#: At most this much of an agent's output goes into a decision.
OUTPUT_CHARS = 300


@dataclass(frozen=True, slots=True)
class FenceResult:
    ok: bool
    message: str  # what the agent said, or why it failed


class Fence(Protocol):
    """A fence agent. `method` names it in decisions ("lab power-off")."""

    @property
    def method(self) -> str: ...

    def fence(self, node: str, uri: str) -> FenceResult:
        """Power `node` off (its libvirt URI is `uri`) and confirm it. Never raises: a
        failure is a result with ok False."""
        ...


class CommandFence:
    """Runs `command` with `{node}` and `{uri}` filled in, at most `timeout` seconds;
    success is exit status 0 (fence-agents' convention)."""

    def __init__(self, command: tuple[str, ...], timeout: float) -> None:
        self.command, self.timeout = command, timeout

    @property
    def method(self) -> str:
        return f"command {visible(Path(self.command[0]).name)}"

    def fence(self, node: str, uri: str) -> FenceResult:
        argv = [word.replace("{node}", node).replace("{uri}", uri) for word in self.command]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, errors="replace",
                                  timeout=self.timeout, stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired:
            return FenceResult(False, f"{argv[0]} did not finish within {self.timeout:g} s")
        except OSError as exc:
            return FenceResult(False, f"{argv[0]} could not run: {exc.strerror or exc}")
        lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
        said = visible(lines[-1], limit=OUTPUT_CHARS) if lines else "no output"
        if done.returncode != 0:
            return FenceResult(False, f"{argv[0]} exited with status {done.returncode}: {said}")
        return FenceResult(True, f"{argv[0]} confirmed: {said}")


class LabFence:
    """The lab's node power-off (`vmconsole.lab.faults.fence`)."""

    def __init__(self, lab_dir: Path) -> None:
        self.lab_dir = lab_dir

    @property
    def method(self) -> str:
        return "lab power-off"

    def fence(self, node: str, uri: str) -> FenceResult:
        from vmconsole.lab import faults  # the lab needs root and its tools: only here
        from vmconsole.lab.layout import NodeLayout
        from vmconsole.lab.shell import LabError

        index = node.removeprefix("pve")
        layout = NodeLayout(int(index), self.lab_dir) if index.isdigit() else None
        if layout is None or not layout.dir.is_dir():
            return FenceResult(False, f"{node} is not a node of the lab in {self.lab_dir}")
        try:
            faults.fence(layout)
        except (LabError, OSError) as exc:
            return FenceResult(False, visible(str(exc), limit=OUTPUT_CHARS))
        return FenceResult(True, "its cgroups hold no process (libvirtd and QEMUs killed)")
