"""Running the system's tools, with their own words when they fail."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence


class LabError(Exception):
    """Building or removing the lab failed; the message says what and why."""


class LabRefused(LabError):
    """What was asked cannot be built (a bad size or time, a missing part): refused
    before anything was made, so there is nothing to remove."""


def run(args: Sequence[str], check: bool = True, timeout: float = 60.0) -> str:
    try:
        done = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise LabError(f"{' '.join(args)}: no answer within {timeout:g} s") from None
    if check and done.returncode != 0:
        raise LabError(f"{' '.join(args)}: {(done.stderr or done.stdout).strip()}")
    return done.stdout


def in_netns(netns: str, *args: str) -> list[str]:
    return ["ip", "netns", "exec", netns, *args]
