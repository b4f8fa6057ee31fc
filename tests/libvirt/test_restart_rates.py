"""A guest's rates never span a stop: the first reading after a start has none to
compare with. libvirt's test driver counts a running domain's network and disk bytes
from the wall clock, so a rate from the stopped domain's zero counters to its first
running ones read as 170 TiB/s (a tester's finding), and drew a spike on its chart."""

from __future__ import annotations

from tests.libvirt.conftest import guest_named, wait
from vmconsole.backends.base import TaskStatus

GiB = 2**30


def test_a_restarted_guests_first_rates_are_not_counted_from_its_stop(cluster):
    web = guest_named(cluster, "web1")
    assert web.running
    assert wait(cluster, cluster.stop(web.id)).status is TaskStatus.OK
    assert not guest_named(cluster, "web1").running
    assert wait(cluster, cluster.start(web.id)).status is TaskStatus.OK
    for _ in range(3):  # the start's reading, and rates between running readings
        m = guest_named(cluster, "web1").metrics
        assert max(m.net_in, m.net_out, m.disk_read, m.disk_write) < GiB, m
