"""A console on the simulator whose clock moves only when told to, polled on demand:
what tests and the screenshot script need for repeatable screens. A test harness: kept
out of the shipped package."""

from __future__ import annotations

from vmconsole.backends.sim.backend import SimBackend
from vmconsole.backends.sim.clock import ManualClock, SimClock
from vmconsole.config import SimCluster
from vmconsole.monitor.poller import Poller, PollLoop
from vmconsole.ui.app import VMConsoleApp
from vmconsole.ui.messages import ClusterPolled


class FrozenConsole:
    """`app` on a simulated cluster; `poll(advance)` moves the clock and polls once.

    `clock` replaces the manual clock where real-time threads must see time pass (the
    ping monitor's probes); `advance` then has no meaning.
    """

    def __init__(self, cluster: SimCluster | None = None, clock: SimClock | None = None,
                 **app_kwargs: object) -> None:
        self.clock = clock or ManualClock()
        self.backend = SimBackend(cluster or SimCluster(), clock=self.clock)
        self.loop = PollLoop(Poller(self.backend, interval=1.0))
        self.app = VMConsoleApp([self.loop], **app_kwargs)  # type: ignore[arg-type]

    def poll(self, advance: float = 0.0) -> None:
        if advance:
            assert isinstance(self.clock, ManualClock), "only a manual clock advances"
            self.clock.advance(advance)
        result = self.loop.poller.poll()
        self.loop.latest = result
        self.app.post_message(ClusterPolled(result))
