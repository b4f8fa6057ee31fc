"""One libvirt host: its connection, a state machine (connecting, active, lost),
keepalive, and reconnection with back-off.

A host that dies closes its connection (the close callback, or keepalive when the
socket stays open but nobody answers) and becomes LOST; polls then try to reconnect
after 1, 2, 4, 8, then every 10 s. Every call through `call` is bounded by the
cluster's timeout, so a hung host costs its caller that long at most.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import PurePosixPath
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit

import libvirt

from vmconsole.backends.base import Unreachable
from vmconsole.backends.bounded import call_bounded
from vmconsole.backends.libvirt.errors import libvirt_message, translate

T = TypeVar("T")

BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 10.0)
KEEPALIVE_INTERVAL_S = 5
KEEPALIVE_COUNT = 3


class HostState(StrEnum):
    CONNECTING = "connecting"  # before the first answer
    ACTIVE = "active"
    LOST = "lost"


# (host, what happened, a sentence for the user)
StateListener = Callable[["Host", HostState, str], None]
# (host, domain uuid, domain name, event, detail)
DomainListener = Callable[["Host", str, str, int, int], None]


def name_from_uri(uri: str) -> str:
    """A node name for a host before it has told its hostname (or when it never can).

    test:///path/pve1.xml -> pve1; qemu+ssh://root@kvm1/system -> kvm1;
    qemu:///system?socket=/var/lib/vmconsole-lab/nodes/pve1/run/libvirt-sock -> pve1;
    qemu:///system -> this machine's hostname.
    """
    parts = urlsplit(uri)
    if parts.scheme.startswith("test"):
        return PurePosixPath(parts.path).stem or "test"
    if parts.hostname:
        return parts.hostname
    if sock := parse_qs(parts.query).get("socket"):
        skip = {"run", "libvirt", "var", "lib", "sock", "/"}
        dirs = [p for p in PurePosixPath(sock[0]).parent.parts if p not in skip]
        if dirs:
            return dirs[-1]
    return socket.gethostname()


class Host:
    def __init__(self, uri: str, timeout: float, on_state: StateListener,
                 on_domain: DomainListener) -> None:
        self.uri = uri
        self.timeout = timeout
        self.name = name_from_uri(uri)
        self.state = HostState.CONNECTING
        self.error = ""
        self._on_state = on_state
        self._on_domain = on_domain
        self._conn: libvirt.virConnect | None = None
        self._event_id = -1  # the lifecycle callback registered on _conn
        self._lock = threading.Lock()
        # Calls using each connection now, and connections retired while in use: closing
        # a connection under a running call makes libvirt-python abort, so a lost one is
        # closed only when its last call returns.
        self._users: dict[int, int] = {}
        self._retired: dict[int, tuple[libvirt.virConnect, int]] = {}
        self._failures = 0
        self._retry_at = 0.0
        self._ever_connected = False
        # When it became unreachable, or began connecting (epoch seconds).
        self.since = time.time()

    # --- state --------------------------------------------------------------------

    @property
    def driver(self) -> str:
        """The libvirt driver its URI names: `qemu` (`qemu+ssh://...`), `lxc`, `test`."""
        return urlsplit(self.uri).scheme.split("+")[0]

    @property
    def containers(self) -> bool:
        """An `lxc://` URI (`lxc+ssh://`, ...): the host's containers. A node may have
        two hosts, its VMs' (qemu) and its containers'."""
        return self.driver == "lxc"

    @property
    def active(self) -> bool:
        return self.state is HostState.ACTIVE

    @property
    def listening(self) -> bool:
        """Whether the live connection delivers domain lifecycle events (its callback is
        registered): then a poll need not read every domain to see a state change."""
        with self._lock:
            return self._conn is not None and self._event_id >= 0

    def next_try(self) -> float:
        """When the next connection attempt is due (epoch seconds): the end of the
        back-off, or now if it is over. Polls make the attempt, so it may come up to a
        poll interval later."""
        with self._lock:
            wait = self._retry_at - time.monotonic()
        return time.time() + max(0.0, wait)

    def mark_lost(self, reason: str) -> None:
        """Forget the connection; the next poll after the back-off tries again."""
        with self._lock:
            conn, self._conn = self._conn, None
            event_id = self._event_id
            self.error = reason
            delay = BACKOFF_S[min(self._failures, len(BACKOFF_S) - 1)]
            self._failures += 1
            self._retry_at = time.monotonic() + delay
            newly_lost = self.state is not HostState.LOST
            if newly_lost:
                self.since = time.time()
            self.state = HostState.LOST
        if conn is not None:
            self._retire(conn, event_id)
        if newly_lost:
            self._on_state(self, HostState.LOST, f"{self.name} lost: {reason}")

    # --- connecting ---------------------------------------------------------------

    def ensure_connected(self, hostname_taken: Callable[[str], bool]) -> libvirt.virConnect:
        """The live connection, opening one when due. Blocks: run it bounded."""
        with self._lock:
            conn = self._conn
            retry_in = self._retry_at - time.monotonic()
        if conn is not None:
            return conn
        if retry_in > 0:
            raise Unreachable(f"{self.name}: {self.error} (next try in {retry_in:.0f} s)")
        try:
            conn = libvirt.open(self.uri)
        except libvirt.libvirtError as exc:
            self.mark_lost(libvirt_message(exc))
            raise translate(exc, f"connecting to {self.uri}") from None
        self._adopt(conn, hostname_taken)
        return conn

    def _adopt(self, conn: libvirt.virConnect, hostname_taken: Callable[[str], bool]) -> None:
        if not urlsplit(self.uri).scheme.startswith("test"):
            # The test driver reports this machine's hostname for every instance.
            hostname = conn.getHostname().split(".")[0]
            if hostname and not hostname_taken(hostname):
                self.name = hostname
        # Local drivers (test://) have no keepalive: nothing between them can drop.
        with contextlib.suppress(libvirt.libvirtError):
            conn.setKeepAlive(KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT)
        conn.registerCloseCallback(self._closed, None)
        try:
            event_id = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                   self._lifecycle, None)
        except libvirt.libvirtError:
            event_id = -1  # a driver without domain events: `listening` is False
        with self._lock:
            self._conn = conn
            self._event_id = event_id
            self._failures = 0
            self.error = ""
            self.since = time.time()
            returning = self._ever_connected
            self._ever_connected = True
            self.state = HostState.ACTIVE
        verb = "back" if returning else "connected"
        self._on_state(self, HostState.ACTIVE, f"{self.name} {verb} ({self.uri})")

    def _closed(self, conn: libvirt.virConnect, reason: int, _opaque: object) -> None:
        if reason == libvirt.VIR_CONNECT_CLOSE_REASON_CLIENT:
            return
        why = {
            libvirt.VIR_CONNECT_CLOSE_REASON_EOF: "connection closed by the host",
            libvirt.VIR_CONNECT_CLOSE_REASON_KEEPALIVE: "keepalive: no answer",
        }.get(reason, "connection error")
        with self._lock:
            ours = conn is self._conn or (self._conn is not None
                                          and conn.c_pointer() == self._conn.c_pointer())
        if ours:
            self.mark_lost(why)

    def _lifecycle(self, _conn: libvirt.virConnect, dom: libvirt.virDomain, event: int,
                   detail: int, _opaque: object) -> None:
        self._on_domain(self, dom.UUIDString(), dom.name(), event, detail)

    # --- calls ----------------------------------------------------------------------

    def connection(self) -> libvirt.virConnect:
        with self._lock:
            conn = self._conn
        if conn is None:
            raise Unreachable(f"{self.name} is {self.state.value}: {self.error or 'not connected'}")
        return conn

    @contextlib.contextmanager
    def hold(self, conn: libvirt.virConnect) -> Iterator[libvirt.virConnect]:
        """Keep `conn` open while a call uses it, even if the host is lost meanwhile.

        Raises Unreachable when `conn` was already retired with nobody holding it: its
        close is under way, and libvirt-python reaches freed memory through a closed
        virConnect (the process dies with SIGSEGV), so a caller that took `conn` from
        `connection()` just before the host was lost must not use it."""
        key = id(conn)
        with self._lock:
            if conn is not self._conn and key not in self._retired:
                raise Unreachable(f"{self.name} is {self.state.value}: "
                                  f"{self.error or 'its connection was closed'}")
            self._users[key] = self._users.get(key, 0) + 1
        try:
            yield conn
        finally:
            with self._lock:
                left = self._users.pop(key) - 1
                if left:
                    self._users[key] = left
                retired = None if left else self._retired.pop(key, None)
            if retired is not None:
                _close_in_background(*retired)

    def _retire(self, conn: libvirt.virConnect, event_id: int) -> None:
        with self._lock:
            if self._users.get(id(conn)):
                self._retired[id(conn)] = (conn, event_id)
                return
        _close_in_background(conn, event_id)

    def call(self, fn: Callable[[libvirt.virConnect], T], doing: str,
             timeout: float | None = None) -> T:
        """`fn(connection)` bounded by the timeout, libvirt's errors translated."""
        conn = self.connection()
        limit = self.timeout if timeout is None else timeout

        def held() -> T:
            with self.hold(conn):
                return fn(conn)

        try:
            return call_bounded(held, limit, f"libvirt-{self.name}")
        except TimeoutError:
            self.mark_lost(f"no answer within {limit:g} s")
            raise Unreachable(f"{doing}: {self.name} did not answer within {limit:g} s; "
                              "the console marked it lost and will reconnect") from None
        except libvirt.libvirtError as exc:
            error = translate(exc, doing)
            if isinstance(error, Unreachable) and not _alive(conn):
                self.mark_lost(libvirt_message(exc))
            raise error from None

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            self._retire(conn, self._event_id)


def _alive(conn: libvirt.virConnect) -> bool:
    try:
        return bool(conn.isAlive())
    except libvirt.libvirtError:
        return False


def _close_in_background(conn: libvirt.virConnect, event_id: int) -> None:
    """Drop the callbacks (they hold the connection open) and close it, on a thread of
    its own: close() can block on a dead TCP peer."""

    def close() -> None:
        for drop in (lambda: conn.domainEventDeregisterAny(event_id),
                     conn.unregisterCloseCallback, conn.close):
            with contextlib.suppress(libvirt.libvirtError):
                drop()

    threading.Thread(target=close, name="libvirt-close", daemon=True).start()
