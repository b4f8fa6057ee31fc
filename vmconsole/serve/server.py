"""The SSH server: public-key logins only, one console process per session, and one poll
hub per cluster shared by every console (sixty viewers poll the cluster as one does)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh

from vmconsole.actor import Actor, Role
from vmconsole.audit import AuditLog, AuditRecord
from vmconsole.config import Config
from vmconsole.monitor.poller import PollLoop
from vmconsole.serve.console import ConsoleSession
from vmconsole.serve.first_screens import FirstScreens, Turn
from vmconsole.serve.gate import RateLimitedLog, StartupGate
from vmconsole.serve.hub import PollHub
from vmconsole.serve.keys import AuthorizedKeys, KeyIdentity, fingerprint
from vmconsole.serve.limits import Limits
from vmconsole.serve.pool import WarmPool
from vmconsole.serve.session_process import Process
from vmconsole.serve.spawn import Spawner
from vmconsole.serve.worker import Hello, console_ascii
from vmconsole.strictmodes import check_not_writable_by_others
from vmconsole.text import visible
from vmconsole.ui.terminal_input import INPUT_ENCODING, INPUT_ERRORS

log = logging.getLogger(__name__)
CALL_THREADS = 32  # sessions' backend calls at once (a migration's start may block)


@dataclass
class ServeSettings:
    host_key: asyncssh.SSHKey
    authorized_keys: Path
    config: Config = field(default_factory=Config)
    limits: Limits = field(default_factory=Limits)
    theme: str | None = None
    audit: AuditLog = field(default_factory=AuditLog)  # one log, one lock, every console
    read_only: bool = False  # every console changes nothing (--read-only, the profile's)
    warm_sessions: int = 0  # viewers' consoles drawn ahead of their logins (pool.py)


class ConsoleServer:
    """Owns the listener, the sessions and a poll hub per cluster; the poll loops are
    the caller's (started before, stopped after)."""

    def __init__(self, loops: Sequence[PollLoop], settings: ServeSettings) -> None:
        self.loops = list(loops)
        self.settings = settings
        self.sessions: set[ConsoleSession] = set()
        self._hubs = [PollHub(loop, settings.audit, settings.read_only)
                      for loop in self.loops]
        self._spawner = Spawner()
        self._pool = (WarmPool(self._spawner, settings.warm_sessions, self._waiting_hello,
                               self._first_frames, self._room)
                      if settings.warm_sessions else None)
        self._calls = ThreadPoolExecutor(CALL_THREADS, thread_name_prefix="calls")
        self.first_screens = FirstScreens()
        self._listener: asyncssh.SSHAcceptor | None = None
        self.gate = StartupGate(settings.limits)
        self.ratelog = RateLimitedLog(log)
        self._keys_stamp: tuple[int, int, int, int] | None = None  # mtime, ctime, size, inode
        self._keys: AuthorizedKeys | None = None

    async def start(self, host: str, port: int) -> tuple[str, int]:
        """Start the fork server and the hubs, then listen; returns the address actually
        bound (port 0 picks a free one)."""
        await asyncio.get_running_loop().run_in_executor(None, self._spawner.prewarm)
        for hub in self.hubs:
            hub.start()
        if self._pool is not None:
            self._pool.start()
        self._listener = await asyncssh.create_server(
            lambda: _Connection(self), host, port,
            server_host_keys=[self.settings.host_key],
            # What the client types is read as the local console reads its terminal: a
            # byte that is not UTF-8 is U+FFFD (strict, asyncssh closed the connection)
            encoding=INPUT_ENCODING,
            errors=INPUT_ERRORS,
            line_editor=False,  # keys go to the console raw, not echoed line by line
            x11_forwarding=False,
            agent_forwarding=False,
            allow_scp=False,
            sftp_factory=None,
            gss_host=None,
            login_timeout=self.settings.limits.login_grace_time,
        )
        address = self._listener.sockets[0].getsockname()
        return address[0], address[1]

    async def stop(self, timeout: float = 5.0) -> None:
        """End every console cleanly (each process exits), and stop listening."""
        if self._listener is not None:
            self._listener.close()
        if self._pool is not None:
            await self._pool.close()
        for console in list(self.sessions):
            console.end("the server is stopping")
        waits = [s.ended.wait() for s in self.sessions]
        try:
            await asyncio.wait_for(asyncio.gather(*waits), timeout)
        except TimeoutError:
            log.warning("%d consoles did not end within %g s", len(self.sessions), timeout)
        for hub in self.hubs:
            hub.stop()
        if self._listener is not None:
            await self._listener.wait_closed()
        self._calls.shutdown(wait=False, cancel_futures=True)

    # --- logins -------------------------------------------------------------------------

    def authorized_keys(self) -> AuthorizedKeys | None:
        """The authorized keys as the file now says (read again when it changed), or
        None when it is unusable: then every login is refused, and the log says why
        once per interval. Malformed lines are logged, with their numbers, when the
        file is read."""
        path = self.settings.authorized_keys
        try:
            st = path.stat()
            stamp = (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)
            if stamp != self._keys_stamp:
                self._keys, self._keys_stamp = AuthorizedKeys.read(path), stamp
                for problem in self._keys.skipped:
                    log.warning("%s: %s: skipped", path, problem)
            elif self._keys is not None:
                check_not_writable_by_others(path)  # its folders may have changed
        except OSError as exc:
            # Both a missing file and one others may change (UnsafeFile) refuse all.
            self._keys, self._keys_stamp = None, None
            self.ratelog.warning("keys", f"authorized keys unusable, every login refused: "
                                 f"{exc}")
        return self._keys

    def audit_login_refusal(self, login_name: str, source: str, reasons: str) -> None:
        """Append a refused login to the audit log, in a thread (the log fsyncs)."""
        record = AuditRecord(user=login_name, role="", source=source, cluster="", target="",
                             operation="login", result=f"refused: {reasons}")
        asyncio.get_running_loop().run_in_executor(None, self._append_audit, record)

    def _append_audit(self, record: AuditRecord) -> None:
        try:
            self.settings.audit.append(record)
        except OSError as exc:
            self.ratelog.warning("audit", f"audit log not written: {exc}")

    # --- sessions (console.Host) ----------------------------------------------------------

    @property
    def limits(self) -> Limits:
        return self.settings.limits

    @property
    def hubs(self) -> Sequence[PollHub]:
        return self._hubs

    def new_console(self, actor: Actor) -> ConsoleSession:
        return ConsoleSession(actor, self)

    def admit(self, console: ConsoleSession) -> str | None:
        limit = self.settings.limits.max_sessions
        if len(self.sessions) >= limit:
            log.warning("%s: refused, %d sessions already", console.actor.source, limit)
            return f"the server is full ({limit} sessions); try again later"
        self.sessions.add(console)
        return None

    def release(self, console: ConsoleSession) -> None:
        self.sessions.discard(console)

    def hello(self, actor: Actor, term: str, client_env: Mapping[str, str],
              size: tuple[int, int], notices: tuple[str, ...]) -> Hello:
        settings = self.settings
        return Hello(actor, term, dict(client_env), size,
                     tuple(hub.info() for hub in self.hubs), settings.config,
                     settings.audit.path, dict(os.environ), settings.theme,
                     settings.limits.max_output_buffer, notices, settings.read_only)

    async def first_screen_turn(self, actor: Actor) -> Turn:
        """A viewer's turn to draw a first screen (first_screens.py); an operator's
        or admin's console does not queue."""
        return await self.first_screens.turn(queue=not actor.role.may_operate())

    async def spawn(self, hello: Hello) -> tuple[Process, Any, Any]:
        """A session process for `hello`: a waiting console for a viewer, when the
        pool has one drawn as this viewer's would be, else a new one."""
        if (self._pool is not None and not hello.actor.role.may_operate()
                and console_ascii(hello) == console_ascii(self._waiting_hello())):
            waiting = self._pool.take(hello)
            if waiting is not None:
                return waiting.process, waiting.pipe, waiting.calls
        return await self._spawner.spawn(hello)

    def _waiting_hello(self) -> Hello:
        """What a waiting console starts from: a viewer's console on an 80x24
        xterm, named when its user logs in."""
        return self.hello(Actor("", Role.VIEWER, "ssh:waiting"), "xterm-256color", {},
                          (80, 24), ())

    def _room(self) -> int:
        return self.settings.limits.max_sessions - len(self.sessions)

    def _first_frames(self) -> list[bytes]:
        return [data for hub in self.hubs for data in hub.first_frames()]

    async def run_call(self, call: Callable[[], bytes]) -> bytes:
        """A session's backend call, in the calls' own thread pool (they block)."""
        return await asyncio.get_running_loop().run_in_executor(self._calls, call)


class _Connection(asyncssh.SSHServer):
    """One client connection: admission, authentication, then its session channels."""

    def __init__(self, server: ConsoleServer) -> None:
        self._server = server
        self._conn: asyncssh.SSHServerConnection | None = None
        self._address = ""
        self._source = ""  # ssh:ADDRESS:PORT, kept: a closed connection has no peer
        self._waiting = False  # counted by the startup gate until logged in or gone
        self._keys: AuthorizedKeys | None = None
        self._identity: KeyIdentity | None = None  # set once a key is accepted
        self._login_name = ""
        self._refusals: dict[str, str] = {}  # key fingerprint: why it was refused

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        host, port = conn.get_extra_info("peername")[:2]
        self._address, self._source = host, f"ssh:{host}:{port}"
        refusal = self._server.gate.admit(self._address)
        if refusal is not None:
            self._server.ratelog.warning("drop", f"dropped connections before login: {refusal}")
            # After asyncssh has finished setting the connection up: closing it inside
            # connection_made would leave it half made.
            asyncio.get_running_loop().call_soon(conn.abort)
            return
        self._waiting = True

    def auth_completed(self) -> None:
        self._stop_waiting()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        if isinstance(exc, asyncssh.IllegalUserName):
            # asyncssh refuses a user name that SASLprep (RFC 4013) prohibits, a control
            # or a bidi character, before begin_auth: the name never reaches us, only
            # the character it names
            self._refusals["user name"] = f"not allowed in SSH: {exc.reason}"
        if self._identity is None and self._refusals:
            reasons = "; ".join(f"{fp}: {why}" for fp, why in self._refusals.items())
            log.info("%s: login of %s refused: %s", self._source,
                     visible(self._login_name) or "a user name SSH prohibits",
                     visible(reasons, None))
            self._server.audit_login_refusal(self._login_name, self._source, reasons)

    def _stop_waiting(self) -> None:
        if self._waiting:
            self._waiting = False
            self._server.gate.done(self._address)

    def begin_auth(self, username: str) -> bool:
        self._login_name = username
        self._keys = self._server.authorized_keys()
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        if self._keys is None:
            self._refusals[fingerprint(key)] = "no usable authorized keys file"
            return False
        check = self._keys.check(key, self._address, username)
        if check.identity is None:
            self._refusals[fingerprint(key)] = check.reason
            return False
        # asyncssh checks the signature after this returns; the login ends with the
        # first key that passes both, so the identity kept is that key's.
        self._identity = check.identity
        return True

    def session_requested(self) -> ConsoleSession | bool:
        if self._identity is None:
            return False
        return self._server.new_console(
            Actor(self._identity.user, self._identity.role, self._source))
