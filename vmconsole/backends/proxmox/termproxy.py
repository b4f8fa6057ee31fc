"""A Proxmox guest's serial console: PVE's `termproxy` and its websocket, as PVE's own
xterm.js console uses them (pve-manager, `www/manager6/` and `pve-xtermjs`).

`POST /nodes/N/qemu/V/termproxy` (`serial=serial0`: `qm terminal` onto a VM's
`serial0: socket`) or `/nodes/N/lxc/V/termproxy` (the container's console) answers a
one-time ticket, its port and the user it was issued to. `GET .../vncwebsocket?port=P&
vncticket=T`, authenticated like any API call (token header or ticket cookie), opens
the websocket; the first message is `USER:TICKET\\n`, and the proxy answers `OK`. Then
the guest's output comes as binary frames, and the client sends text frames: `0:LEN:DATA`
(LEN the bytes of DATA in UTF-8), `1:COLS:ROWS:` (a resize) and `2` (a keepalive, which
the web console sends every 30 s).

The websocket is aiohttp's client, on an asyncio loop in a thread of the console's own;
TLS is checked as the API's is: the pinned SHA-256 fingerprint (aiohttp's
`Fingerprint`, checked before the request is sent), the profile's CA file, or the
system's CAs.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import aiohttp

from vmconsole.backends.base import AuthError, BackendError, Conflict, NotSupported, Unreachable
from vmconsole.backends.proxmox.answers import TEXT, Record, ask, read, within
from vmconsole.backends.proxmox.connection import Connection, normalise_fingerprint
from vmconsole.backends.proxmox.guest_ref import CURRENT
from vmconsole.backends.serial import ConsoleSink, EndOnce
from vmconsole.model import GuestKind

KEEPALIVE_S = 30.0  # pve-xtermjs pings the proxy this often
# termproxy's answer (its `returns` in PVE's API schema): the proxy's TCP port, which
# the websocket URL carries, the one-time ticket and the user it was issued to.
TICKET = Record({"port": within(int, 1, 65535), "ticket": TEXT, "user": TEXT},
                required=("port", "ticket", "user"))
SERIAL_PORTS = tuple(f"serial{n}" for n in range(4))  # qemu-server's serial0..serial3


def serial_port(config: dict[str, Any]) -> str | None:
    """The first `serialN` of a VM's config that is a socket (`qm terminal` reaches
    only those; a host device `/dev/ttyS0` is the host's), or None."""
    return next((port for port in SERIAL_PORTS if str(config.get(port, "")) == "socket"),
                None)


def open_console(conn: Connection, path: str, kind: GuestKind, vmid: int, name: str,
                 sink: ConsoleSink) -> TermProxyConsole:
    """The console of the running guest at API `path` ("/nodes/pve1/qemu/100"), its
    output going to `sink`. Blocks up to the profile's timeout, twice (the API, then the
    websocket). Errors as `SupportsSerialConsole.open_console` says."""
    status = read(conn.call, f"{path}/status/current", CURRENT)["status"]
    if status != "running":
        raise Conflict(f"{name} is {status}: its console opens once it runs")
    params: dict[str, Any] = {}
    device = "console"
    if kind is GuestKind.VM:
        port = serial_port(read(conn.call, f"{path}/config", Record()))
        if port is None:
            raise NotSupported(
                f"{name} has no serial port on a socket: add one with `qm set {vmid} "
                "--serial0 socket` and boot its kernel with console=ttyS0")
        params["serial"] = device = port
    answer = ask(conn.call, "POST", f"{path}/termproxy", TICKET, **params)
    ticket, proxy_port, user = str(answer["ticket"]), int(answer["port"]), str(answer["user"])
    console = TermProxyConsole(name, device, sink, conn.cfg.timeout)
    console.connect(f"{conn.base_url}{path}/vncwebsocket", {"port": str(proxy_port),
                                                             "vncticket": ticket},
                    conn.auth_headers(), _tls(conn), f"{user}:{ticket}\n")
    return console


def _tls(conn: Connection) -> ssl.SSLContext | bool | aiohttp.Fingerprint:
    """The API's own TLS rule, in aiohttp's terms."""
    cfg = conn.cfg
    if cfg.fingerprint:
        return aiohttp.Fingerprint(bytes.fromhex(normalise_fingerprint(cfg.fingerprint)))
    if cfg.ca_file:
        return ssl.create_default_context(cafile=cfg.ca_file)
    return bool(cfg.verify_ssl)


class TermProxyConsole:
    """One termproxy websocket (`ConsoleStream`), on an asyncio loop in its own thread."""

    def __init__(self, name: str, device: str, sink: ConsoleSink, timeout: float) -> None:
        self.name, self.sink, self.timeout = name, sink, timeout
        self._device = device
        self._end = EndOnce(sink)
        self._loop = asyncio.new_event_loop()
        self._outbox: asyncio.Queue[str] = asyncio.Queue()
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._thread = threading.Thread(target=self._run_loop, name=f"termproxy-{name}",
                                        daemon=True)

    @property
    def device(self) -> str:
        return self._device

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()
        self._loop.close()

    # --- opening --------------------------------------------------------------------

    def connect(self, url: str, query: dict[str, str], headers: dict[str, str],
                tls: ssl.SSLContext | bool | aiohttp.Fingerprint, hello: str) -> None:
        """Open the websocket and present the ticket; blocks until the proxy said OK.
        Raises AuthError (TLS, a refused ticket), Unreachable, BackendError."""
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            self._open(url, query, headers, tls, hello), self._loop)
        try:
            future.result(self.timeout * 2)
        except FutureTimeout:
            future.cancel()
            self._stop_loop()
            raise Unreachable(f"the console of {self.name}: no answer within "
                              f"{self.timeout * 2:g} s") from None
        except BaseException:
            self._stop_loop()
            raise

    async def _open(self, url: str, query: dict[str, str], headers: dict[str, str],
                    tls: ssl.SSLContext | bool | aiohttp.Fingerprint, hello: str) -> None:
        self._session = aiohttp.ClientSession(
            headers=headers, timeout=aiohttp.ClientTimeout(sock_connect=self.timeout))
        try:
            self._ws = await asyncio.wait_for(self._session.ws_connect(
                url, params=query, ssl=tls, protocols=("binary",), autoping=True,
                max_msg_size=1024 * 1024), self.timeout)
            await self._ws.send_str(hello)
            first = await asyncio.wait_for(self._ws.receive(), self.timeout)
        except BaseException as exc:
            await self._session.close()
            raise _translated(exc, self.name) from None
        data = first.data.encode() if first.type is aiohttp.WSMsgType.TEXT else first.data
        if first.type not in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT) \
                or not data.startswith(b"OK"):
            await self._session.close()
            raise AuthError(f"the console proxy of {self.name} refused its ticket")
        if data[2:]:
            self.sink.received(data[2:])
        self._tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._write()),
                       asyncio.create_task(self._keepalive())]

    # --- the open stream ------------------------------------------------------------

    async def _read(self) -> None:
        assert self._ws is not None
        reason = f"the console of {self.name} closed"
        async for message in self._ws:
            if message.type is aiohttp.WSMsgType.BINARY:
                self.sink.received(message.data)
            elif message.type is aiohttp.WSMsgType.TEXT:
                self.sink.received(message.data.encode())
            elif message.type is aiohttp.WSMsgType.ERROR:
                reason = f"the console of {self.name} failed: {self._ws.exception()}"
                break
        await self._shutdown(reason)

    async def _write(self) -> None:
        assert self._ws is not None
        while True:
            frame = await self._outbox.get()
            try:
                await self._ws.send_str(frame)
            except (aiohttp.ClientError, ConnectionError) as exc:
                await self._shutdown(f"writing to the console failed: {exc}")
                return

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(KEEPALIVE_S)
            self._outbox.put_nowait("2")

    async def _shutdown(self, reason: str) -> None:
        """End once: tell the sink, close the websocket and the session, stop the loop."""
        self._end(reason)
        if self._closing:
            return
        self._closing = True
        current = asyncio.current_task()
        others = [task for task in self._tasks if task is not current]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        with contextlib.suppress(Exception):
            if self._ws is not None:
                await self._ws.close()
        if self._session is not None:
            await self._session.close()
        self._loop.stop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)

    def _call(self, fn: Callable[[], object]) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: the stream ended
            self._loop.call_soon_threadsafe(fn)

    # --- ConsoleStream --------------------------------------------------------------

    def send(self, data: bytes) -> None:
        if self._end.done or not data:
            return
        text = data.decode("utf-8", "replace")  # a text frame carries UTF-8 only
        self._call(lambda: self._outbox.put_nowait(f"0:{len(text.encode())}:{text}"))

    def resize(self, columns: int, rows: int) -> None:
        if not self._end.done:
            self._call(lambda: self._outbox.put_nowait(f"1:{columns}:{rows}:"))

    def close(self) -> None:
        self._call(lambda: asyncio.ensure_future(self._shutdown("detached")))


def _translated(exc: BaseException, name: str) -> BaseException:
    """aiohttp's failures in the backend's terms, with its words."""
    if isinstance(exc, aiohttp.ServerFingerprintMismatch):
        return AuthError(f"the console of {name}: the server's TLS certificate does not "
                         "match the pinned fingerprint")
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
        return AuthError(f"the console of {name}: the server's TLS certificate is not "
                         f"trusted ({exc})")
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        if exc.status in (401, 403):
            return AuthError(f"the console of {name} was refused: {exc.status} {exc.message}")
        return BackendError(f"the console of {name}: {exc.status} {exc.message}")
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return Unreachable(f"the console of {name}: no answer in time")
    if isinstance(exc, aiohttp.ClientError | OSError):
        return Unreachable(f"the console of {name}: {exc}")
    return exc
