"""The three probers: ICMP echo (icmplib), TCP connect, and the simulator's `probe()`."""

from __future__ import annotations

import errno
import itertools
import os
import random
import select
import selectors
import socket
import struct
import time
from typing import TYPE_CHECKING

import icmplib

from vmconsole.backends.base import BackendError
from vmconsole.monitor.ping.engine import Engine
from vmconsole.monitor.ping.targets import ProbeError, ProbeKind

if TYPE_CHECKING:
    from vmconsole.monitor.ping.measurement import Measurement

_ECHO_REPLY = 0
_ECHO_REQUEST = 8
_SEQ_SPACE = 1 << 16
# 56 bytes like ping's default; fixed, since icmplib would draw random bytes per probe.
_PAYLOAD = bytes(range(56))
_DRAIN = 64  # packets read per turn at most, so sending stays on time


def _ping_group_range() -> str:
    try:
        with open("/proc/sys/net/ipv4/ping_group_range", encoding="ascii") as f:
            return " ".join(f.read().split())
    except OSError:
        return "unknown"


def open_icmp_socket() -> icmplib.ICMPv4Socket:
    """A raw ICMP socket as root, else a datagram one where ping_group_range allows it."""
    try:
        return icmplib.ICMPv4Socket(privileged=True)
    except icmplib.SocketPermissionError:
        pass
    try:
        return icmplib.ICMPv4Socket(privileged=False)
    except icmplib.SocketPermissionError:
        raise ProbeError(
            "ICMP is not allowed: it needs root, or your group in net.ipv4.ping_group_range "
            f"(now '{_ping_group_range()}'); use a TCP probe instead (--tcp PORT)") from None


def _ones_complement_sum(data: bytes) -> int:
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


_PAYLOAD_SUM = _ones_complement_sum(_PAYLOAD)


def echo_request(ident: int, seq: int) -> bytes:
    """An ICMP echo request with `_PAYLOAD`; the checksum adds the header's words to the
    payload's precomputed sum instead of summing 64 bytes for every probe."""
    total = _PAYLOAD_SUM + (_ECHO_REQUEST << 8) + ident + seq
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return struct.pack("!BBHHH", _ECHO_REQUEST, 0, ~total & 0xFFFF, ident, seq) + _PAYLOAD


class IcmpEngine(Engine):
    """Echo requests through one socket; replies are told apart by their sequence number.

    icmplib opens the socket (raw as root, else datagram, with its permission errors) and
    parses what comes back. Requests are packed here and sent on its socket: icmplib's
    `send()` costs about 20 us a probe (an address lookup, two setsockopt calls and a
    checksum in Python), and 50 targets at 10 ms send 5,000 probes a second.

    Sequence numbers are the engine's own (16 bits, shared by its measurements); the measurement
    limits keep timeouts far below the time 65,536 probes take. As root the socket is
    raw and sees every ICMP packet of the namespace, so replies are also checked against
    our identifier and the probed address.
    """

    def _open(self) -> None:
        self._sock = open_icmp_socket()
        self._id = (os.getpid() ^ random.getrandbits(16)) & 0xFFFF
        self._seqs = itertools.count(random.getrandbits(16))

    def _close(self) -> None:
        self._sock.close()

    def _send(self, measurement: Measurement, seq: int, now: float) -> None:
        key = next(self._seqs) % _SEQ_SPACE
        packet = echo_request(self._id, key)
        sent = measurement.clock()
        start = time.monotonic()
        self.track(key, measurement, seq, sent, start)
        try:
            self._sock.sock.sendto(packet, (measurement.target.address, 0))
        except OSError:
            self.resolve(key, None)  # no route, or the link is down: lost, not fatal

    def _wait(self, timeout: float) -> None:
        if self._readable(timeout):
            self._drain()

    def _drain(self) -> None:
        for _ in range(_DRAIN):  # replies of a batch come together
            if not self._readable(0) or not self._receive():
                return

    def _readable(self, timeout: float) -> bool:
        return bool(select.select([self._sock.sock], [], [], timeout)[0])

    def _receive(self) -> bool:
        """Read the waiting packet and resolve the probe it answers.

        Only called when the socket is readable: icmplib's receive() drops a packet that
        it reads after its own timeout has passed, so the waiting is done here and its
        timeout is only a bound that a waiting packet never reaches.
        """
        try:
            reply = self._sock.receive(None, 1.0)
        except icmplib.ICMPLibError:
            return False
        if reply.type == _ECHO_REQUEST:
            return True  # our own request, seen by the raw socket on its way out (loopback)
        pending = self.pending(reply.sequence)
        if pending is None or (self._sock.is_privileged and reply.id != self._id):
            return True  # a late reply, or someone else's ping
        if reply.type != _ECHO_REPLY:
            self.resolve(reply.sequence, None)  # unreachable or TTL exceeded: lost
        elif reply.source == pending.measurement.target.address:
            self.resolve(reply.sequence, max(0.0, time.monotonic() - pending.sent_mono))
        return True


class TcpEngine(Engine):
    """A non-blocking connect per probe; the handshake's round trip is the RTT.

    A refused connection counts as lost: the service did not answer. Sockets close with
    an RST (SO_LINGER 0), so thousands of probes leave no TIME_WAIT behind.
    """

    _LINGER_RST = struct.pack("ii", 1, 0)

    def _open(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._socks: dict[int, socket.socket] = {}
        self._keys = itertools.count()

    def _close(self) -> None:
        for sock in self._socks.values():
            sock.close()
        self._selector.close()

    def _send(self, measurement: Measurement, seq: int, now: float) -> None:
        target = measurement.target
        key = next(self._keys)
        family = socket.AF_INET6 if ":" in target.address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, self._LINGER_RST)
        sent = measurement.clock()
        start = time.monotonic()
        code = sock.connect_ex((target.address, target.port))
        self.track(key, measurement, seq, sent, start)
        if code == 0:
            sock.close()
            self.resolve(key, time.monotonic() - start)
        elif code == errno.EINPROGRESS:
            self._socks[key] = sock
            self._selector.register(sock, selectors.EVENT_WRITE, key)
        else:
            sock.close()
            self.resolve(key, None)

    def _wait(self, timeout: float) -> None:
        if not self._socks:
            self.sleep(timeout)
            return
        self._handle(self._selector.select(timeout))

    def _drain(self) -> None:
        if self._socks:
            self._handle(self._selector.select(0))

    def _handle(self, ready: list[tuple[selectors.SelectorKey, int]]) -> None:
        for selected, _ in ready:
            key = selected.data
            pending = self.pending(key)
            sock = self._socks[key]
            failed = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            self._forget(key)
            if pending is not None:
                self.resolve(key, None if failed else time.monotonic() - pending.sent_mono)

    def _forget(self, key: int) -> None:
        sock = self._socks.pop(key, None)
        if sock is not None:
            self._selector.unregister(sock)
            sock.close()


class SimEngine(Engine):
    """Asks the simulator whether the guest answers; the reply is immediate.

    Probes keep the wall-clock grid (one per interval of real time), and a slot in which
    the simulated clock has not moved since the last probe sends none: a paused
    simulation is probed not at all, and at 60x a probe stands for 60 intervals of
    simulated time. Probing every interval of simulated time instead would cost
    speed-fold more: at 60x, 6,000 probes a second, each taking the model's lock that
    the polls and operations wait for.
    """

    def _open(self) -> None:
        self._keys = itertools.count()
        self._clock_read = 0.0  # the simulated time `_holds` read for the slot it passed

    def _holds(self, measurement: Measurement) -> bool:
        self._clock_read = measurement.clock()  # one read a slot: a served console's
        last = measurement.last_sent            # clock is a call to the server
        return last is not None and self._clock_read <= last

    def _send(self, measurement: Measurement, seq: int, now: float) -> None:
        target = measurement.target
        assert target.source is not None
        key = next(self._keys)
        measurement.last_sent = sent = self._clock_read
        self.track(key, measurement, seq, sent, now)
        try:
            rtt = target.source.probe(target.address)
        except BackendError:
            rtt = None  # e.g. the guest was deleted: it does not answer
        self.resolve(key, rtt)


ENGINES: dict[ProbeKind, type[Engine]] = {
    ProbeKind.ICMP: IcmpEngine,
    ProbeKind.TCP: TcpEngine,
    ProbeKind.SIM: SimEngine,
}
