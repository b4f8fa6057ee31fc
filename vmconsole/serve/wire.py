"""The pipe between the server and a session process: length-prefixed frames over a
Unix stream socket, each with a one-byte kind.

Server to session: the client's input, its terminal size, notes for the user, poll
results (pickled once by the hub, the same bytes to every session) and, as a session
attaches, the hub's latest events, replies to calls, the end, and for a console started
before its user logged in, who that user is.
Session to server: the screen's output, calls to the shared backend, and a waiting
console's word that it has drawn.
A session process is less trusted than the server (it parses what a client sends), so
what it sends is unpickled with only the classes a backend call takes
(`load_call`), and every call is checked against the session's role by the hub.
"""

from __future__ import annotations

import io
import pickle
import struct
from collections.abc import Callable
from enum import IntEnum
from typing import Any

from vmconsole.audit import AuditRecord
from vmconsole.backends.abilities import FaultKind
from vmconsole.backends.backups import BackupMode, BackupSpec, Compression, RestoreSpec
from vmconsole.backends.base import MigrationMode
from vmconsole.backends.clones import CloneSpec
from vmconsole.backends.ha_config import HASettings
from vmconsole.model.ha import HARequest, RestartPriority

HEADER = struct.Struct("!IB")  # payload length (bytes), kind
MAX_FRAME = 64 * 1024 * 1024  # a poll of 10,000 guests pickles to a few MB


class Kind(IntEnum):
    # server -> session
    INPUT = 1  # UTF-8 text the client typed (already limited)
    RESIZE = 2  # pickled (width, height), already clamped
    NOTICE = 3  # UTF-8 text for the user
    POLL = 4  # pickled (PollResult, BackendState)
    REPLY = 5  # pickled (call id, ok, value or (error kind, message, fields))
    END = 6  # UTF-8 reason; the console exits
    ATTACH = 7  # pickled worker.Attach: a waiting console's user has logged in (pool.py)
    EVENTS = 8  # pickled hub.EarlierEvents: the hub's latest events, before a first poll
    # session -> server
    OUTPUT = 10  # UTF-8 text for the client's terminal
    CALL = 11  # pickled (call id, cluster, method, args, kwargs); id 0: no reply
    READY = 12  # empty: a waiting console has drawn its first screen (pool.py)
    FIRST_SCREEN = 13  # empty: the console has drawn its first screen for its client


def frame(kind: Kind, payload: bytes) -> bytes:
    """One frame: header and payload."""
    return HEADER.pack(len(payload), kind) + payload


class FrameError(ValueError):
    """The other end sent something that is not a frame (or one too large)."""


def parse_header(header: bytes) -> tuple[int, Kind]:
    """(payload length in bytes, kind) of a frame header; FrameError if invalid."""
    length, kind = HEADER.unpack(header)
    if length > MAX_FRAME:
        raise FrameError(f"frame of {length} bytes (at most {MAX_FRAME})")
    try:
        return length, Kind(kind)
    except ValueError:
        raise FrameError(f"unknown frame kind {kind}") from None


# What a call from a session may carry besides plain data: the parameters of the
# backend's operations (backends/base.py, abilities.py) and the audit record of a
# started task. Named from the classes themselves, so a class moved to another module
# still crosses (a list of module names once refused every fault injection after
# FaultKind moved to abilities.py).
_CALL_CLASSES = {(cls.__module__, cls.__qualname__) for cls in (
    CloneSpec, HASettings, MigrationMode, FaultKind, BackupSpec, BackupMode, Compression,
    RestoreSpec, HARequest, RestartPriority, AuditRecord)} | {
    ("copyreg", "__newobj__"),  # how pickle rebuilds a dataclass with slots
}


class _CallUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _CALL_CLASSES:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a call")
        return super().find_class(module, name)


def load_call(payload: bytes) -> tuple[int, str, str, tuple[Any, ...], dict[str, Any]]:
    """A session's call: (id, cluster, method, args, kwargs). Raises
    pickle.UnpicklingError (or ValueError) for anything else."""
    value = _CallUnpickler(io.BytesIO(payload)).load()
    if not (isinstance(value, tuple) and len(value) == 5 and isinstance(value[0], int)
            and isinstance(value[1], str) and isinstance(value[2], str)
            and isinstance(value[3], tuple) and isinstance(value[4], dict)):
        raise ValueError("a call is (id, cluster, method, args, kwargs)")
    return value


dumps: Callable[[Any], bytes] = pickle.dumps
loads: Callable[[bytes], Any] = pickle.loads  # only for what the server sends
