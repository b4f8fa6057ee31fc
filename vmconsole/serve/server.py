"""The SSH server: public-key logins only, one console per session, and one poll loop
per cluster shared by every console (thirty viewers poll the cluster as one does)."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import asyncssh
from rich.color import ColorSystem
from textual import constants

from vmconsole.audit import AuditLog
from vmconsole.config import Config
from vmconsole.monitor.poller import PollLoop
from vmconsole.serve.console import ClientTerminal, ConsoleSession
from vmconsole.serve.keys import KeyIdentity, identity_from_options, read_authorized_keys
from vmconsole.serve.limits import Limits
from vmconsole.session import Session
from vmconsole.text import visible
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
            login_timeout=30,
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
    """One client connection: authentication, then its session channels."""

    def __init__(self, server: ConsoleServer) -> None:
        self._server = server
        self._conn: asyncssh.SSHServerConnection | None = None
        self._keys: asyncssh.SSHAuthorizedKeys | None = None
        self._identity: KeyIdentity | None = None  # set once a key is accepted

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn

    def begin_auth(self, username: str) -> bool:
        path = self._server.settings.authorized_keys
        try:
            self._keys = read_authorized_keys(path)
        except (OSError, ValueError) as exc:
            # No usable key file means no known key: every login is refused.
            log.error("authorized keys unusable: %s", exc)
            self._keys = None
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        if self._keys is None:
            return False
        address = self._peer()[0]
        options = self._keys.validate(key, address, address, None)
        if options is None:
            log.info("%s: refused an unknown key for %s", self._source(), visible(username))
            return False
        environment = cast(Mapping[str, str], options.get("environment", {}))
        try:
            # asyncssh checks the signature after this returns; the login ends with the
            # first key that passes both, so the identity kept is that key's.
            self._identity = identity_from_options(environment, username)
        except ValueError as exc:
            log.error("%s: refused a key with a wrong entry: %s", self._source(), exc)
            return False
        return True

    def session_requested(self) -> ConsoleSession | bool:
        if self._identity is None:
            return False
        return self._server.new_console(
            Session(self._identity.user, self._identity.role, self._source()))

    def _peer(self) -> tuple[str, int]:
        assert self._conn is not None
        host, port = self._conn.get_extra_info("peername")[:2]
        return host, port

    def _source(self) -> str:
        host, port = self._peer()
        return f"ssh:{host}:{port}"
