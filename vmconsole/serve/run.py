"""Run the server until SIGINT or SIGTERM: open and start the poll loops once, serve,
then end every console, stop the loops and close the backends."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vmconsole.config import ClusterConfig, Config
from vmconsole.serve.gate import RateLimitedLog, raise_file_limit
from vmconsole.serve.keys import AuthorizedKeys, fingerprint, load_or_create_host_key
from vmconsole.serve.limits import Limits
from vmconsole.serve.server import ConsoleServer, ServeSettings
from vmconsole.stdout import send_to_devnull
from vmconsole.ui.launch import open_loops

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Listen:
    host: str
    port: int


def parse_listen(text: str) -> Listen:
    """`HOST:PORT`, `[IPV6]:PORT` or `:PORT` (loopback)."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"--listen {text!r}: expected HOST:PORT, e.g. 127.0.0.1:2222")
    host = host.strip("[]") or "127.0.0.1"
    return Listen(host, int(port_text))


def serve(config: Config, clusters: Sequence[ClusterConfig], listen: Listen,
          host_key_path: Path, authorized_keys: Path, limits: Limits,
          theme: str | None = None, read_only: bool = False, warm_sessions: int = 0) -> int:
    if not authorized_keys.exists():
        print(f"vmconsole serve: no authorized keys at {authorized_keys}: put one public key "
              "per line there (roles: see docs/serve.md), or pass --authorized-keys",
              file=sys.stderr)
        return 2
    try:
        host_key = load_or_create_host_key(host_key_path)
        keys = AuthorizedKeys.read(authorized_keys)  # fail early; logins read it again
    except (OSError, ValueError) as exc:
        print(f"vmconsole serve: {exc}", file=sys.stderr)
        return 2
    for problem in keys.skipped:
        print(f"vmconsole serve: {authorized_keys}: {problem}: skipped", file=sys.stderr)
    raise_file_limit()
    loops = open_loops(tuple(clusters))
    for loop in loops:
        loop.start()
    try:
        settings = ServeSettings(host_key, authorized_keys, config, limits, theme,
                                 read_only=read_only, warm_sessions=warm_sessions)
        return asyncio.run(_serve(ConsoleServer(loops, settings), listen, host_key_path))
    finally:
        for loop in loops:
            loop.stop(timeout=2.0)
            loop.backend.close()


def _quiet_handler(ratelog: RateLimitedLog) -> Callable[
        [asyncio.AbstractEventLoop, dict[str, Any]], None]:
    """asyncio's handler for errors no one awaits, without its traceback per error: at
    the file limit every accept fails, and every refused connection would log one."""

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        reason = f"{type(exc).__name__}: {exc}" if exc is not None else ""
        ratelog.warning(context.get("message", "error"),
                        f"{context.get('message', 'error')} {reason}".strip())

    return handle


async def _serve(server: ConsoleServer, listen: Listen, host_key_path: Path) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    loop.set_exception_handler(_quiet_handler(RateLimitedLog(log)))
    try:
        host, port = await server.start(listen.host, listen.port)
    except OSError as exc:
        _tell(f"vmconsole serve: cannot listen on {listen.host}:{listen.port}: "
              f"{exc.strerror}")
        return 1
    names = ", ".join(loop.backend.name for loop in server.loops)
    _tell(f"vmconsole serve: listening on {host}:{port} for {names}\n"
          f"  host key {fingerprint(server.settings.host_key)} ({host_key_path})\n"
          f"  authorized keys {server.settings.authorized_keys}\n"
          f"  connect with: ssh -p {port} {host}")
    await stop.wait()
    _tell("vmconsole serve: stopping")
    await server.stop()
    return 0


def _tell(text: str) -> None:
    """One message for the administrator on stderr, flushed. `serve 2>&1 | tee log`, then
    Ctrl+C, ends tee as well: the message is dropped, and stderr pointed at /dev/null for
    the log lines after it, rather than a BrokenPipeError ending serve before it has told
    its sessions that it stops (and restored their terminals)."""
    try:
        print(text, file=sys.stderr, flush=True)
    except BrokenPipeError:
        send_to_devnull(sys.stderr)
