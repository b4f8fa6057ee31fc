"""The console's measurements: a guest that leaves its cluster ends its measurement with
the reason, and the result reads as a person would say it."""

from __future__ import annotations

import pytest

from tests.ping.conftest import FakeSim
from vmconsole.monitor.ping import Measurement, ProbeResult, ProbeTarget
from vmconsole.monitor.ping.failures import Failure
from vmconsole.monitor.ping.watches import KEEP_ENDED, Watch, Watches


def measurement(pattern: str) -> Measurement:
    """One probe every 100 ms ending now (a frozen clock): '.' a reply, 'x' lost."""
    sim = FakeSim(scale=0, down_at=0, up_at=0)
    s = Measurement(ProbeTarget.sim(sim, "qemu/100", "web"), interval=0.1, timeout=0.2,
                    count=None, duration=60)
    for seq, c in enumerate(pattern):
        s.record(ProbeResult(seq, sim.now() - (len(pattern) - seq) * 0.1,
                             0.0005 if c == "." else None))
    return s


def test_a_guest_gone_from_its_cluster_ends_its_measurement_saying_why():
    watches = Watches()
    gone = watches.add(Watch("web", cluster="lab", guest="qemu/100"))
    gone.attach(measurement("." * 50 + "x" * 30))  # down when it vanished
    stays = watches.add(Watch("db", cluster="lab", guest="qemu/101"))
    other = watches.add(Watch("web", cluster="kvm", guest="qemu/100"))
    ended = watches.end_vanished("lab", {"qemu/101"})
    assert ended == [gone]
    assert not gone.running and stays.running and other.running
    assert gone.ended == "qemu/100 is no longer in cluster lab"
    text = gone.result_text()
    assert "still down" not in text and text.endswith("ended: qemu/100 is no longer in "
                                                      "cluster lab")
    assert watches.running_on("lab", "qemu/100") is None


def test_results_in_words():
    one = Watch("web")
    assert one.result_text() == "starting…"
    one.attach(measurement("." * 20 + "x" * 5 + "." * 20))
    assert one.result_text().startswith("downtime ") and "5 probes lost" in one.result_text()
    two = Watch("web")
    two.attach(measurement("." * 10 + "xxx" + "." * 10 + "xxxx" + "." * 10))
    assert two.result_text().startswith("2 outages, downtime ")
    clean = Watch("web")
    clean.attach(measurement("." * 30))
    assert clean.result_text() == "no outage in 30 probes"
    assert Watch("x", error="no ICMP privilege").result_text() == (
        "not measured: no ICMP privilege")


def test_an_outage_from_what_ended_a_measurement_on_is_not_counted_in_it():
    """A migration's measurement probes on until a poll tells of the power off that
    starts a failover's: the guest's loss from the power off on is the failover's
    (CI: "2 outages ...; ended: a failover began")."""
    migration = Watch("web", cluster="lab", guest="qemu/100", why="migration")
    m = measurement("." * 10 + "xxx" + "." * 10 + "xxxx")  # a blip, then the power off
    migration.attach(m)
    power_off = m.snapshot().ongoing.start
    migration.end("a failover began: it has a measurement of its own", power_off)
    text = migration.result_text()
    assert text.startswith("downtime ") and "3 probes lost" in text, text
    assert text.endswith("; ended: a failover began: it has a measurement of its own")


def test_ended_measurements_are_bounded_running_ones_kept():
    watches = Watches()
    running = watches.add(Watch("keep", cluster="lab", guest="qemu/1"))
    for i in range(KEEP_ENDED + 5):
        watches.add(Watch(f"old{i}", error="failed"))
    assert running in list(watches)
    assert len(watches) == KEEP_ENDED + 1


def test_an_outage_that_began_before_pinging_says_so_not_a_downtime():
    """A tester's finding: `w` on a guest 100 s into its outage read "downtime at least
    5.64 s, still down", which a class took for the failover's time."""
    from vmconsole.monitor.ping.report import outage_line, outage_summary

    down = Watch("web")
    down.attach(measurement("x" * 50))  # down from the first probe, 4.9 s ago
    snap = down.measurement.snapshot()
    said = "down since pinging began: no reply in 4.90 s, 50 probes lost"
    assert down.result_text() == said  # the panel's list, the task detail
    assert outage_summary(snap.ongoing) == said  # the panel's line
    assert outage_line(snap.ongoing).startswith(  # `vmconsole ping`
        "outage: down since pinging began: no reply in 4.90 s, 50 probes lost, ")
    back = Watch("web")
    back.attach(measurement("x" * 50 + "." * 10))
    [outage] = back.measurement.snapshot().outages
    assert back.result_text() == outage_summary(outage) == (
        "down when pinging began: first reply after 5.00 s, 50 probes lost")
    again = Watch("web")
    again.attach(measurement("x" * 50 + "." * 10 + "xxx" + "." * 5))
    assert again.result_text().startswith(
        "2 outages (the first began before pinging did), downtime ")


def test_an_outage_under_way_at_the_first_probe_is_counted_from_its_failure():
    """A failover's measurement began at the poll that saw pve2 power off, at 60x up to
    a minute later: "down when pinging began: first reply after 5.00 s" was short of the
    failover's downtime by that minute."""
    from vmconsole.monitor.ping.report import outage_summary, summary_lines

    now = FakeSim(scale=0, down_at=0, up_at=0).now()  # `measurement`'s frozen clock
    back = Watch("db1", why="failover")
    back.mark("power off", at=now - 65.0, failure=Failure.DOWNED)
    back.mark("node lost", at=now - 57.0, failure=Failure.LOST)
    back.attach(measurement("x" * 50 + "." * 10))  # first probe 6 s ago, a reply at 1 s
    back.mark("fence", at=now - 3.0, failure=Failure.LOST)  # after it: counts nothing
    snap = back.measurement.snapshot()
    [outage] = snap.outages
    assert outage.downtime == pytest.approx(64.0, abs=1e-3)
    said = "down since power off: first reply after 64.00 s, 50 probes lost"
    assert back.result_text() == outage_summary(outage) == said
    assert snap.covers_from == now - 65.0  # the chart reaches back to the power off
    assert "outages: 1 (the first counted from power off), downtime 64.00 s in all" in \
        summary_lines(snap)
    down = Watch("db1", why="failover")
    down.mark("power off", at=now - 125.0, failure=Failure.DOWNED)
    down.attach(measurement("x" * 50))
    assert down.result_text() == "down since power off: no reply in 2 min 05 s, 50 " \
        "probes lost"


def test_a_failure_that_downed_the_guest_counts_before_a_node_lost():
    """The partition scenario: pve3 is lost to the cluster at +14 s, but its guest answers
    until its watchdog resets it at +61 s; a poll that saw both must not count from +14."""
    now = FakeSim(scale=0, down_at=0, up_at=0).now()
    partition = Watch("dns1", why="failover")
    partition.mark("node lost", at=now - 60.0, failure=Failure.LOST)
    partition.mark("watchdog reset", at=now - 13.0, failure=Failure.DOWNED)
    partition.attach(measurement("x" * 50 + "." * 10))
    assert partition.result_text() == "down since watchdog reset: first reply after " \
        "12.00 s, 50 probes lost"
    lost = Watch("db1", why="failover")  # a real cluster's only sign: the node lost
    lost.mark("node lost", at=now - 7.0, failure=Failure.LOST)
    lost.attach(measurement("x" * 50 + "." * 10))
    assert lost.result_text().startswith("down since node lost: first reply after 6.00 s")


def test_a_mark_that_lost_nothing_or_a_failure_after_a_reply_counts_nothing():
    now = FakeSim(scale=0, down_at=0, up_at=0).now()
    started = Watch("db1")
    started.mark("started", at=now - 65.0)
    started.attach(measurement("x" * 50 + "." * 10))
    assert started.result_text().startswith("down when pinging began: first reply after")
    seen = Watch("db1")
    seen.attach(measurement("." * 5 + "x" * 45 + "." * 10))
    seen.mark("power off", at=now - 5.5, failure=Failure.DOWNED)
    assert seen.result_text() == "downtime 4.60 s, 45 probes lost"


def test_a_tasks_result_counts_the_outages_within_the_task_only():
    """A boot's outage before a migration and a power off's well after it are not the
    migration's (a tester saw "3 outages … downtime 20.06 s" next to QEMU's 112 ms)."""
    from vmconsole.monitor.ping.watches import AFTER_TASK_S

    pattern = "." * 10 + "x" * 20 + "." * 20 + "xx" + "." * 200 + "x" * 30 + "." * 10
    watch = Watch("web")
    watch.attach(measurement(pattern))
    assert watch.result_text().startswith("3 outages")
    t0 = watch.measurement.snapshot().samples[0].sent  # one probe every 0.1 s from t0
    migration = (t0 + 4.0, t0 + 5.2)  # probes 40 to 52: the "xx" at 50 and 51
    assert watch.result_text(during=migration) == "downtime 300 ms, 2 probes lost"
    running = (t0 + 4.0, None)
    assert watch.result_text(during=running).startswith("2 outages")
    quiet = (t0 + 10.0, t0 + 12.0)  # the power off's outage begins at 25.1
    assert 12.0 + AFTER_TASK_S < 25.1
    assert watch.result_text(during=quiet) == "no outage during the task"
