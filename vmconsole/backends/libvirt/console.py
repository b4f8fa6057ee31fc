"""A libvirt guest's serial console: `virDomainOpenConsole` onto a non-blocking
`virStream`, read by a stream callback on libvirt's event loop thread and written by a
thread of its own, so neither the caller nor the event loop ever waits on the guest.

libvirt lets one stream hold a console at a time (`virsh console` refuses a second with
"Active console session exists"); `force` takes it over, ending the other, as
`virsh console --force` does. The stream keeps its host's connection open
(`Host.hold`) until it ends: a connection closed under a running stream makes
libvirt-python abort.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
import xml.etree.ElementTree as ET

import libvirt

from vmconsole.backends.base import BackendError, Conflict, NotSupported
from vmconsole.backends.libvirt.cluster import ClusterCore
from vmconsole.backends.libvirt.connection import Host
from vmconsole.backends.libvirt.errors import libvirt_message
from vmconsole.backends.serial import READ_CHUNK, ConsoleBusy, ConsoleSink, EndOnce

#: libvirt's words when another client holds the console (qemu and lxc drivers).
_BUSY = "Active console session exists"
_RETRY_S = 0.01  # a full stream (-2, EAGAIN): try the write again this much later


def open_console(core: ClusterCore, guest_id: str, sink: ConsoleSink,
                 force: bool = False) -> LibvirtConsole:
    """The console of the running guest `guest_id` (its first `<console>` or `<serial>`
    device), its output going to `sink`. Errors as `SupportsSerialConsole` says."""
    host, dom = core.locate(guest_id)
    name = dom.name()

    def opener(conn: libvirt.virConnect) -> tuple[libvirt.virStream, str]:
        if not dom.isActive():
            raise Conflict(f"{name} is not running: its console opens once it runs")
        device = _console_device(dom.XMLDesc(0))
        if device is None:
            raise NotSupported(
                f"{name} has no serial console: add <serial type='pty'/> and <console "
                "type='pty'/> to its devices (virsh edit), and console=ttyS0 to its "
                "kernel's command line")
        stream = conn.newStream(libvirt.VIR_STREAM_NONBLOCK)
        flags = libvirt.VIR_DOMAIN_CONSOLE_SAFE
        if force:
            flags |= libvirt.VIR_DOMAIN_CONSOLE_FORCE
        try:
            dom.openConsole(None, stream, flags)
        except libvirt.libvirtError as exc:
            with contextlib.suppress(libvirt.libvirtError):
                stream.abort()
            if _BUSY in libvirt_message(exc):
                raise ConsoleBusy(f"another session has the console of {name}: "
                                  "take it over to end that session") from None
            raise
        return stream, device

    stream, device = host.call(opener, f"opening the console of {name}")
    return LibvirtConsole(host, stream, device, name, sink)


def _console_device(xml: str) -> str | None:
    """"console" or "serial" when the domain has such a device, else None."""
    devices = ET.fromstring(xml).find("devices")
    if devices is None:
        return None
    for tag in ("console", "serial"):
        if devices.find(tag) is not None:
            return tag
    return None


class LibvirtConsole:
    """One open console stream (`ConsoleStream`)."""

    def __init__(self, host: Host, stream: libvirt.virStream, device: str, name: str,
                 sink: ConsoleSink) -> None:
        self.host, self.stream, self.name, self.sink = host, stream, name, sink
        self._device = device
        self._end = EndOnce(sink)
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._held = contextlib.ExitStack()
        self._held.enter_context(host.hold(host.connection()))
        events = (libvirt.VIR_STREAM_EVENT_READABLE | libvirt.VIR_STREAM_EVENT_ERROR
                  | libvirt.VIR_STREAM_EVENT_HANGUP)
        stream.eventAddCallback(events, self._event, None)
        threading.Thread(target=self._write_loop, name=f"console-{name}", daemon=True).start()

    @property
    def device(self) -> str:
        return self._device

    def send(self, data: bytes) -> None:
        if not self._end.done and data:
            self._queue.put(data)

    def resize(self, columns: int, rows: int) -> None:
        """A serial line carries no terminal size: nothing to tell."""

    def close(self) -> None:
        self._finish("detached")

    def _finish(self, reason: str) -> None:
        self._end(reason)
        self._queue.put(None)  # the writer thread lets go of the stream

    # --- on libvirt's event loop thread ---------------------------------------------

    def _event(self, stream: libvirt.virStream, events: int, _opaque: object) -> None:
        if self._end.done:
            return
        if events & libvirt.VIR_STREAM_EVENT_READABLE:
            # One read per event: the loop also carries keepalives and domain events,
            # and the event fires again while more is waiting.
            try:
                data = stream.recv(READ_CHUNK)
            except libvirt.libvirtError as exc:  # what a take-over does to the stream
                self._finish(f"the console of {self.name} was cut ({libvirt_message(exc)}):"
                             " another session took it over, or the guest stopped")
                return
            if isinstance(data, bytes) and data:
                self.sink.received(data)
            elif isinstance(data, bytes):  # end of stream
                self._finish(f"{self.name} closed its console: it stopped, or another "
                             "session took the console over")
                return
        if events & (libvirt.VIR_STREAM_EVENT_ERROR | libvirt.VIR_STREAM_EVENT_HANGUP):
            self._finish(f"the console of {self.name} hung up")

    # --- on the stream's own thread -------------------------------------------------

    def _write_loop(self) -> None:
        while (data := self._queue.get()) is not None:
            try:
                self._write(data)
            except (BackendError, libvirt.libvirtError) as exc:
                message = exc.message if isinstance(exc, BackendError) else libvirt_message(exc)
                self._finish(f"writing to the console failed: {message}")
        for drop in (self.stream.eventRemoveCallback, self.stream.abort):
            with contextlib.suppress(libvirt.libvirtError):
                drop()
        self._held.close()

    def _write(self, data: bytes) -> None:
        """All of `data`, waiting out a full stream up to the host's timeout."""
        deadline = time.monotonic() + self.host.timeout
        while data and not self._end.done:
            sent = self.stream.send(data)
            if sent == -2:  # EAGAIN: the guest has not read what it was sent
                if time.monotonic() > deadline:
                    raise BackendError(f"{self.name} has read nothing for "
                                       f"{self.host.timeout:g} s")
                time.sleep(_RETRY_S)
                continue
            data = data[sent:]
