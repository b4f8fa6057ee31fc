"""The outage detector on synthetic probe streams (10 ms probes, 1 ms round trips)."""

import random

import pytest

from vmconsole.monitor.ping import OutageDetector, ProbeResult

INTERVAL = 0.01
RTT = 0.001


def stream(pattern: str, start: float = 100.0) -> list[ProbeResult]:
    """'.' a reply, 'x' a lost probe, one every INTERVAL."""
    return [ProbeResult(i, start + i * INTERVAL, RTT if c == "." else None)
            for i, c in enumerate(pattern)]


def feed(pattern: str, min_lost: int = 1) -> OutageDetector:
    detector = OutageDetector(min_lost=min_lost)
    for result in stream(pattern):
        detector.add(result)
    return detector


def test_a_gap_runs_from_the_last_reply_before_to_the_first_reply_after():
    detector = feed("....xxxxx....")
    [outage] = detector.outages
    assert outage.lost == 5
    assert outage.start == pytest.approx(100.0 + 3 * INTERVAL + RTT)
    assert outage.end == pytest.approx(100.0 + 9 * INTERVAL + RTT)
    assert outage.downtime == pytest.approx(6 * INTERVAL)
    assert outage.exact
    assert (detector.sent, detector.received, detector.lost) == (13, 8, 5)


def test_each_gap_is_its_own_outage():
    detector = feed("..xx...xxxx..")
    assert [o.lost for o in detector.outages] == [2, 4]
    assert [round(o.downtime, 3) for o in detector.outages] == [0.03, 0.05]


def test_a_single_loss_is_not_an_outage_below_the_threshold():
    detector = feed("....x....xxx..", min_lost=2)
    [outage] = detector.outages
    assert outage.lost == 3
    assert detector.lost == 4  # the single loss still counts as lost


def test_a_single_loss_is_an_outage_at_threshold_one():
    assert [o.lost for o in feed("....x....").outages] == [1]


def test_a_gap_at_the_start_is_a_lower_bound_from_the_first_probe():
    detector = feed("xxx....")
    [outage] = detector.outages
    assert not outage.start_exact and not outage.exact
    assert outage.start == pytest.approx(100.0)
    assert outage.downtime == pytest.approx(3 * INTERVAL + RTT)


def test_a_gap_at_the_end_stays_ongoing_and_grows():
    detector = feed("....xx")
    assert detector.outages == []
    ongoing = detector.ongoing()
    assert ongoing is not None and ongoing.ongoing and ongoing.lost == 2
    detector.add(ProbeResult(6, 100.06, None))
    grown = detector.ongoing()
    assert grown is not None and grown.lost == 3 and grown.downtime > ongoing.downtime


def test_ongoing_appears_only_once_the_threshold_is_reached():
    detector = feed("....x", min_lost=3)
    assert detector.ongoing() is None
    detector.add(ProbeResult(5, 100.05, None))
    detector.add(ProbeResult(6, 100.06, None))
    assert detector.ongoing() is not None


def test_no_reply_at_all():
    detector = feed("xxxxxxxxxx")
    assert detector.outages == [] and detector.received == 0
    assert detector.rtt.count == 0
    ongoing = detector.ongoing()
    assert ongoing is not None and not ongoing.start_exact and ongoing.lost == 10


def test_results_in_any_order_give_the_same_outages():
    pattern = "...xxxx....x..xxxxxxx...."
    expected = feed(pattern).outages
    shuffled = stream(pattern)
    random.Random(4).shuffle(shuffled)
    detector = OutageDetector()
    for result in shuffled:
        detector.add(result)
    assert detector.outages == expected


def test_a_loss_reported_at_its_timeout_after_later_replies():
    # What the engine does: probe 2's loss is known only after probes 3 and 4 replied.
    detector = OutageDetector()
    results = stream("..x..")
    closed = []
    for index in (0, 1, 3, 4, 2):
        closed += detector.add(results[index])
    [outage] = detector.outages
    assert closed == [outage]
    assert outage.lost == 1 and outage.end == pytest.approx(100.03 + RTT)


def test_abandoned_probes_are_not_counted():
    detector = OutageDetector()
    for result in stream("...")[:2]:
        detector.add(result)
    detector.abandon(2)
    detector.add(ProbeResult(3, 100.03, RTT))
    assert (detector.sent, detector.lost, detector.outages) == (3, 0, [])


def test_rtt_statistics_like_ping():
    detector = OutageDetector()
    for i, rtt in enumerate([0.001, 0.002, 0.003, None]):
        detector.add(ProbeResult(i, float(i), rtt))
    stats = detector.rtt
    assert stats.count == 3
    assert (stats.min, stats.avg, stats.max) == pytest.approx((0.001, 0.002, 0.003))
    assert stats.mdev == pytest.approx((2 / 3) ** 0.5 / 1000)


def test_samples_are_a_ring_but_outages_and_stats_cover_the_session():
    detector = OutageDetector(keep_samples=10)
    for result in stream("xx" + "." * 50 + "xxx" + "." * 50):
        detector.add(result)
    assert len(detector.samples) == 10
    assert [o.lost for o in detector.outages] == [2, 3]
    assert detector.sent == 105 and detector.rtt.count == 100
