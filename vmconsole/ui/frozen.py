"""A console on the simulator whose clock moves only when told to, polled on demand:
what tests, the screenshot script and benchmarks need for repeatable screens."""

from __future__ import annotations

from vmconsole.backends.sim.backend import SimBackend
from vmconsole.backends.sim.clock import ManualClock
from vmconsole.config import SimCluster
from vmconsole.monitor.poller import Poller, PollLoop
from vmconsole.ui.app import VMConsoleApp
from vmconsole.ui.messages import ClusterPolled


class FrozenConsole:
    """`app` on a simulated cluster; `poll(advance)` moves the clock and polls once."""

    def __init__(self, cluster: SimCluster | None = None, **app_kwargs: object) -> None:
        self.clock = ManualClock()
        self.backend = SimBackend(cluster or SimCluster(), clock=self.clock)
        self.loop = PollLoop(Poller(self.backend, interval=1.0))
        self.app = VMConsoleApp([self.loop], **app_kwargs)  # type: ignore[arg-type]

    def poll(self, advance: float = 0.0) -> None:
        if advance:
            self.clock.advance(advance)
        result = self.loop.poller.poll()
        self.loop.latest = result
        self.app.post_message(ClusterPolled(result))
