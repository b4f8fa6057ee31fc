"""JSON read from a file the console does not control (the HA manager's status, the
maintenance record, the audit log, a lab's size, a pve-ha-manager test directory)."""

from __future__ import annotations

import json
from typing import Any


def parse_json(text: str | bytes) -> Any:
    """`json.loads(text)`, where arrays or objects nested too deeply for its recursive
    decoder (RecursionError: about a thousand within each other, fewer from a deep
    stack; a file of 100,000 `[`) are bad JSON like any other: ValueError
    (json.JSONDecodeError for the rest), so that the caller's refusal of an unreadable
    file covers them, not a traceback."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("arrays or objects nested too deeply") from None
