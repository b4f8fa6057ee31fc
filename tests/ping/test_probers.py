"""Real probes on loopback: ICMP echo and TCP connect, bounded in count and time."""

import itertools
import socket
import time

import icmplib
import pytest

from tests.ping.conftest import counts, wait_for
from vmconsole.monitor.ping import PingMonitor, ProbeError, ProbeKind, ProbeTarget
from vmconsole.monitor.ping.probers import echo_request, open_icmp_socket


def test_icmp_loopback_answers_every_probe(monitor: PingMonitor, icmp_allowed: None):
    measurement = monitor.start(ProbeTarget.icmp("127.0.0.1"), interval=0.01, count=50)
    assert measurement.wait(5)
    snap = measurement.snapshot()
    assert (snap.sent, snap.received, snap.outages, snap.ongoing) == (50, 50, (), None)
    assert 0 < snap.rtt.min <= snap.rtt.avg <= snap.rtt.max < 0.1


def test_icmp_keeps_its_rate(monitor: PingMonitor, icmp_allowed: None):
    measurement = monitor.start(ProbeTarget.icmp("127.0.0.1"), interval=0.01, duration=0.5)
    assert measurement.wait(5)
    sent = [s.sent for s in measurement.snapshot().samples]
    assert 45 <= len(sent) <= 51
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert sum(gaps) / len(gaps) == pytest.approx(0.01, abs=0.001)


def test_many_targets_share_one_engine(monitor: PingMonitor, icmp_allowed: None):
    measurements = [monitor.start(ProbeTarget.icmp(f"127.0.0.{i}"), interval=0.01, count=20)
                for i in range(1, 11)]
    assert all(s.wait(5) for s in measurements)
    assert [s.snapshot().received for s in measurements] == [20] * 10


def test_echo_request_checksum_is_valid():
    packet = echo_request(0x1234, 0xFFFE)
    words = sum(int.from_bytes(packet[i:i + 2], "big") for i in range(0, len(packet), 2))
    while words >> 16:
        words = (words & 0xFFFF) + (words >> 16)
    assert words == 0xFFFF


def test_no_icmp_privilege_is_a_clear_error(monkeypatch: pytest.MonkeyPatch):
    def refuse(privileged: bool = True) -> None:
        raise icmplib.SocketPermissionError(privileged)

    monkeypatch.setattr(icmplib, "ICMPv4Socket", refuse)
    with pytest.raises(ProbeError, match=r"ping_group_range.*--tcp"):
        open_icmp_socket()
    with pytest.raises(ProbeError, match="ICMP is not allowed"):
        PingMonitor().start(ProbeTarget.icmp("127.0.0.1"), count=1)


def test_tcp_connect_to_a_listening_port(monitor: PingMonitor, tcp_server):
    target = ProbeTarget.tcp("127.0.0.1", tcp_server.port)
    assert target.kind is ProbeKind.TCP
    measurement = monitor.start(target, interval=0.01, count=30)
    assert measurement.wait(5)
    snap = measurement.snapshot()
    assert (snap.sent, snap.received, snap.outages) == (30, 30, ())


def test_tcp_outage_while_the_service_is_gone(monitor: PingMonitor, tcp_server):
    measurement = monitor.start(ProbeTarget.tcp("127.0.0.1", tcp_server.port), interval=0.01,
                            duration=30)
    wait_for(lambda: measurement.snapshot().received >= 20, what="20 replies",
             seen=lambda: counts(measurement))
    closed_at = time.monotonic()
    tcp_server.close()
    wait_for(lambda: (ongoing := measurement.snapshot().ongoing) is not None
             and ongoing.lost >= 25, what="25 probes lost", seen=lambda: counts(measurement))
    tcp_server.open()
    gone = time.monotonic() - closed_at
    wait_for(lambda: measurement.snapshot().outages, what="a reply ending the outage",
             seen=lambda: counts(measurement))
    measurement.stop()
    assert measurement.wait(5)
    [outage] = measurement.snapshot().outages
    # Refused connects are lost probes; the gap is the closed time, give or take one
    # interval (the grid) and 30 ms of scheduling on a shared 2-core machine.
    assert abs(outage.downtime - gone) <= 0.01 + 0.03
    assert 25 <= outage.lost == pytest.approx(gone / 0.01, abs=4)  # one a probe interval


def test_a_refused_port_is_all_loss(monitor: PingMonitor, tcp_server):
    port = tcp_server.port
    tcp_server.close()
    measurement = monitor.start(ProbeTarget.tcp("127.0.0.1", port), interval=0.01, count=10)
    assert measurement.wait(5)
    snap = measurement.snapshot()
    assert snap.received == 0 and snap.ongoing is not None and snap.ongoing.lost == 10


def test_stop_ends_a_session_early(monitor: PingMonitor, tcp_server):
    measurement = monitor.start(ProbeTarget.tcp("127.0.0.1", tcp_server.port), interval=0.01,
                            duration=30)
    wait_for(lambda: measurement.snapshot().sent >= 10, what="10 probes",
             seen=lambda: counts(measurement))
    measurement.stop()
    assert measurement.wait(1)
    # 3000 probes had it run its course; well under a second's worth once stopped
    assert not measurement.running and 10 <= measurement.snapshot().sent < 100


@pytest.mark.parametrize("address", ["300.1.2.3", "no such host!", "", "1.2.3"])
def test_bad_addresses_are_refused_without_a_lookup(address: str):
    with pytest.raises(ProbeError, match="not an IP address"):
        ProbeTarget.icmp(address)


def test_bad_settings_are_refused(monitor: PingMonitor, tcp_server):
    target = ProbeTarget.tcp("127.0.0.1", tcp_server.port)
    for settings in ({"interval": 0.001}, {"timeout": 0}, {"count": 0}, {"duration": -1}):
        with pytest.raises(ValueError):
            monitor.start(target, **settings)  # type: ignore[arg-type]
    with pytest.raises(ProbeError, match="port"):
        ProbeTarget.tcp("127.0.0.1", 70000)


def test_stop_with_probes_in_flight(monitor: PingMonitor):
    # A listener that never accepts: once its backlog is full, SYNs go unanswered and
    # the probes stay in flight until their (long) timeout.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(0)
    try:
        measurement = monitor.start(ProbeTarget.tcp("127.0.0.1", silent.getsockname()[1]),
                                interval=0.01, timeout=5, duration=30)
        # the engine's own count, read here only to wait on it
        wait_for(lambda: measurement.in_flight >= 10, what="10 probes in flight",
                 seen=lambda: counts(measurement))
        measurement.stop()
        assert measurement.wait(1)
        snap = measurement.snapshot()
        # Probes whose fate was still open are not counted at all.
        assert snap.sent < 30 and snap.received <= 2
    finally:
        silent.close()
