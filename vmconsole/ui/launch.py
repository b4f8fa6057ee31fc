"""Open the configured clusters, run the console, and clean up after it."""

from __future__ import annotations

import contextlib
import gc
import logging
import sys
from pathlib import Path

from vmconsole.backends import install_hint, open_backend
from vmconsole.backends.base import BackendError
from vmconsole.config import ClusterConfig, Config, SimCluster
from vmconsole.log_format import FILE_FORMAT, VisibleFormatter
from vmconsole.monitor.poller import Poller, PollLoop
from vmconsole.paths import console_log_path, create_private
from vmconsole.text import visible, visible_lines
from vmconsole.ui.labels import label_key
from vmconsole.ui.symbols import detect_ascii


def poll_interval(cluster: ClusterConfig) -> float:
    """Seconds between polls: the simulator is local and cheap, real clusters are not."""
    return 1.0 if isinstance(cluster, SimCluster) else 2.0


def open_loops(clusters: tuple[ClusterConfig, ...]) -> list[PollLoop]:
    """A poll loop per cluster, for the local console or the SSH server."""
    # Poll threads run pure Python for tens of ms at 10,000 guests; the default 5 ms GIL
    # switch interval then adds up to 5 ms to every wake-up of the event loop that shares
    # the process with them (the console's, or the SSH server's).
    sys.setswitchinterval(0.001)
    # What is loaded by now (modules, classes, the console's code) lives as long as the
    # process: frozen, it is not walked again by every full collection that the
    # clusters' objects set off (issue 12: at 10,000 guests, three before the first
    # screen, each over the whole heap).
    gc.freeze()
    loops: list[PollLoop] = []
    for cluster in clusters:
        try:
            backend = open_backend(cluster)
        except (ImportError, BackendError) as exc:
            for loop in loops:
                loop.backend.close()
            reason = (install_hint(exc.name, cluster.kind)
                      if isinstance(exc, ImportError) else exc.message)
            print(f"vmconsole: cluster '{visible(cluster.name)}': {visible_lines(reason)}",
                  file=sys.stderr)
            raise SystemExit(2) from None
        loop = PollLoop(Poller(backend, interval=poll_interval(cluster), label_key=label_key))
        if isinstance(cluster, SimCluster):  # answers from memory, as fast as it was built
            loop.poll_first()
        loops.append(loop)
    return loops


def log_to_file(path: Path) -> logging.Handler | None:
    """Send warnings and errors (a failed background job's traceback) to `path`: while
    the console runs the terminal is its screen, and stderr is swallowed. Returns the
    handler, or None when the file cannot be opened (then nothing is logged)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError as exc:
        print(f"vmconsole: no log file: {path}: {exc.strerror}", file=sys.stderr)
        return None
    handler.setFormatter(VisibleFormatter(FILE_FORMAT))  # a config's names, made visible
    handler.setLevel(logging.WARNING)
    logging.getLogger("vmconsole").addHandler(handler)
    return handler


def launch(config: Config, clusters: tuple[ClusterConfig, ...], theme: str | None = None,
           ascii: bool | None = None, read_only: bool = False) -> int:
    from rich.console import Console

    from vmconsole.ui.app import VMConsoleApp
    from vmconsole.ui.stderr_guard import TerminalDriver, stderr_to_log
    from vmconsole.ui.terminal_input import guard_local_input

    guard_local_input()  # a byte that is not UTF-8 is data, a paste is text, never keys
    use_ascii = ascii if ascii is not None else (
        config.ascii if config.ascii is not None else detect_ascii())
    log = console_log_path()
    with contextlib.suppress(OSError):  # log_to_file says why it cannot open it
        create_private(log)
    logged = log_to_file(log) is not None
    loops = open_loops(clusters)
    # From here until the console ends, what libraries write to stderr goes to the log:
    # the terminal is the console's screen (ui/stderr_guard.py).
    with stderr_to_log(log) as terminal:
        for loop in loops:
            loop.start()
        try:
            app = VMConsoleApp(loops, config=config, theme=theme, ascii=use_ascii,
                               read_only=read_only)
            app.driver_class = TerminalDriver.drawing_on(terminal)
            # Textual's report of a crash, once the screen is given back
            app.error_console = Console(file=terminal, markup=False, highlight=False)
            app.run()
        finally:
            for loop in loops:
                loop.stop(timeout=2.0)
                loop.backend.close()
    if app.return_code:  # the report of an error Textual reported itself is in the log
        print(f"vmconsole exited with {app.return_code}"
              + (f"; its log: {visible(str(log))}" if logged else ""), file=sys.stderr)
    return app.return_code or 0
