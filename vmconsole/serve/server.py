"""The SSH server: public-key logins only, one console per session, and one poll loop
per cluster shared by every console (thirty viewers poll the cluster as one does)."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh
from rich.color import ColorSystem
from textual import constants

from vmconsole.audit import AuditLog, AuditRecord
from vmconsole.config import Config
from vmconsole.monitor.poller import PollLoop
from vmconsole.serve.console import ClientTerminal, ConsoleSession
from vmconsole.serve.gate import RateLimitedLog, StartupGate
from vmconsole.serve.keys import AuthorizedKeys, KeyIdentity, fingerprint
from vmconsole.serve.limits import Limits
from vmconsole.session import Session
from vmconsole.strictmodes import check_not_writable_by_others
from vmconsole.ui.app import VMConsoleApp
from vmconsole.ui.symbols import detect_ascii

log = logging.getLogger(__name__)


@dataclass
class ServeSettings:
    host_key: asyncssh.SSHKey
    authorized_keys: Path
    config: Config = field(default_factory=Config)
    limits: Limits = field(default_factory=Limits)
    theme: str | None = None
    audit: AuditLog = field(default_factory=AuditLog)  # one log, one lock, every console


class ConsoleServer:
    """Owns the listener and the sessions; the poll loops are the caller's (started
    before, stopped after), given to every console."""

    def __init__(self, loops: Sequence[PollLoop], settings: ServeSettings) -> None:
        self.loops = list(loops)
        self.settings = settings
        self.sessions: set[ConsoleSession] = set()
        self._listener: asyncssh.SSHAcceptor | None = None
        self.gate = StartupGate(settings.limits)
        self.ratelog = RateLimitedLog(log)
        self._keys_stamp: tuple[int, int, int, int] | None = None  # mtime, ctime, size, inode
        self._keys: AuthorizedKeys | None = None

    async def start(self, host: str, port: int) -> tuple[str, int]:
        """Listen; returns the address actually bound (port 0 picks a free one)."""
        self._listener = await asyncssh.create_server(
            lambda: _Connection(self), host, port,
            server_host_keys=[self.settings.host_key],
            encoding="utf-8",
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
        """End every console cleanly and stop listening."""
        if self._listener is not None:
            self._listener.close()
        for console in list(self.sessions):
            console.end("the server is stopping")
        waits = [s.ended.wait() for s in self.sessions]
        try:
            await asyncio.wait_for(asyncio.gather(*waits), timeout)
        except TimeoutError:
            log.warning("%d consoles did not end within %g s", len(self.sessions), timeout)
        if self._listener is not None:
            await self._listener.wait_closed()

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

    # --- sessions -----------------------------------------------------------------------

    def new_console(self, session: Session) -> ConsoleSession:
        return ConsoleSession(session, self._make_app, self.settings.limits,
                              self._admit, self.sessions.discard)

    def _admit(self, console: ConsoleSession) -> str | None:
        limit = self.settings.limits.max_sessions
        if len(self.sessions) >= limit:
            log.warning("%s: refused, %d sessions already", console.session.source, limit)
            return f"the server is full ({limit} sessions); try again later"
        self.sessions.add(console)
        return None

    def _make_app(self, session: Session, client: ClientTerminal) -> VMConsoleApp:
        config = self.settings.config
        ascii = config.ascii if config.ascii is not None else detect_ascii(client.env())
        app = VMConsoleApp(self.loops, config=config, session=session,
                           theme=self.settings.theme, ascii=ascii, audit=self.settings.audit)
        if constants.COLOR_SYSTEM == "auto":
            # Textual would take the colours of the server's own environment (16 under a
            # service manager, truecolor from some shells). Every console of a server
            # gets the same, because Rich and Textual cache a style's escape codes on the
            # style, per process: 256 colours, which every terminal a class uses shows.
            app.console._color_system = ColorSystem.EIGHT_BIT
        # Textual points sys.stdout/stderr at each app while it runs; with many apps on
        # one thread those swaps interleave and could leave an ended app's capture in
        # place. Every served app "captures" into the server's own streams instead.
        app._capture_stdout = sys.stdout  # type: ignore[assignment]
        app._capture_stderr = sys.stderr  # type: ignore[assignment]
        return app


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
        if self._identity is None and self._refusals:
            reasons = "; ".join(f"{fp}: {why}" for fp, why in self._refusals.items())
            log.info("%s: login of %s refused: %s", self._source, self._login_name, reasons)
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
            Session(self._identity.user, self._identity.role, self._source))
