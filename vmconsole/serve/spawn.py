"""Session processes, forked from a fork server that imported the console once
(multiprocessing's "forkserver" start method: a single-threaded process, started
before any session, from which each session is a fork). A session then starts in tens
of milliseconds and shares the imported code's memory pages with every other."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import socket
from collections.abc import Iterator
from multiprocessing.context import ForkServerContext
from typing import Any

from vmconsole.serve import worker
from vmconsole.serve.worker import Hello

# What the local console imports only when first used (issue 12) is imported here once,
# so that no session process pays for it on its first measurement or dialog.
PRELOAD = ["vmconsole.serve.worker", "vmconsole.serve.prewarm",
           "vmconsole.monitor.ping.measurement",
           "vmconsole.ui.ping_chart", "vmconsole.ui.modals.clone", "vmconsole.ui.modals.migrate",
           "vmconsole.ui.modals.ha", "vmconsole.ui.modals.shutdown",
           "vmconsole.ui.modals.snapshot_create", "vmconsole.ui.modals.snapshots",
           "vmconsole.ui.modals.create_from_template", "vmconsole.ui.modals.task_detail",
           "vmconsole.ui.screens.faults"]


class Spawner:
    """Starts session processes; `prewarm` starts the fork server ahead of the first."""

    def __init__(self) -> None:
        self._context: ForkServerContext = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(PRELOAD)

    def prewarm(self) -> None:
        """Start the fork server and its imports now (about a second), not at the first
        login. Blocking."""
        process = self._context.Process(target=_nothing, daemon=True)
        with _safe_path():
            process.start()
        process.join()

    async def spawn(self, hello: Hello, waiting: bool = False,
                    ) -> tuple[Any, socket.socket, socket.socket]:
        """A session process for `hello`: (the process, the server's end of its
        terminal pipe, the server's end of its call socket). `waiting`: a console
        for the pool (pool.py), drawn before its user logs in."""
        pipe, pipe_child = socket.socketpair()
        calls, calls_child = socket.socketpair()
        name = "vmconsole (waiting)" if waiting else f"vmconsole {hello.actor.user}"
        process = self._context.Process(target=worker.main, name=name, daemon=True,
                                        args=(pipe_child, calls_child, hello, waiting))
        try:
            await asyncio.get_running_loop().run_in_executor(None, _start, process)
        finally:
            pipe_child.close()
            calls_child.close()
        return process, pipe, calls


@contextlib.contextmanager
def _safe_path() -> Iterator[None]:
    """multiprocessing starts the fork server with `python -c`, which puts the working
    directory first on its import path: a `vmconsole/` folder where an admin starts
    `serve` would be imported, as root, instead of the installed package.
    PYTHONSAFEPATH (Python 3.11) leaves it out; set only while the server may start."""
    before = os.environ.get("PYTHONSAFEPATH")
    os.environ["PYTHONSAFEPATH"] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ["PYTHONSAFEPATH"]
        else:
            os.environ["PYTHONSAFEPATH"] = before


def _start(process: Any) -> None:
    """Start a session process; the fork server too, if it is not running (again)."""
    with _safe_path():
        process.start()


def _nothing() -> None:
    """The fork server's first child: it exists to get the imports done."""
