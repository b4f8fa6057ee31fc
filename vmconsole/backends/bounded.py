"""Calls that may hang, bounded by a timeout: libvirt-python blocks in C, and a
`requests` timeout bounds each socket read, not the call (a server that drips its
answer keeps the caller waiting as long as it drips).

Each call runs on its own daemon thread: a host that stops answering strands that one
thread, never the caller, and never keeps the process from exiting. The stranded thread
ends when its call does; the caller's code sees to it that the call does end.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Pending(Generic[T]):
    """A call running on its own thread; `wait` gives its result or raises its error."""

    def __init__(self, fn: Callable[[], T], name: str) -> None:
        self._done = threading.Event()
        self._result: T | None = None
        self._error: BaseException | None = None
        self._fn = fn
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def _run(self) -> None:
        try:
            self._result = self._fn()
        except BaseException as exc:  # handed to the waiting caller
            self._error = exc
        finally:
            self._done.set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None) -> T:
        """The result; TimeoutError if the call is still running after `timeout`."""
        if not self._done.wait(timeout):
            raise TimeoutError
        if self._error is not None:
            raise self._error
        return self._result  # type: ignore[return-value]


def call_bounded(fn: Callable[[], T], timeout: float, name: str) -> T:
    """`fn()`'s result or error; TimeoutError when it has not returned within `timeout`
    seconds (it runs on, on the thread named `name`)."""
    return Pending(fn, name).wait(timeout)
