"""What every part of `SimBackend` stands on: the simulated cluster and its HA manager
behind one lock, and the two ways a change runs (on a guest, as a task; on the
cluster). Each processes the events due up to the clock's present first, and lets the
cluster settle after."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from vmconsole.backends.base import Task
from vmconsole.backends.sim.engine import Sim
from vmconsole.backends.sim.ha import HAManager

if TYPE_CHECKING:
    from vmconsole.backends.sim.tasks import TaskRecord


class SimCore:
    """The state `SimBackend` builds (`sim`, `ha`, `_lock`) and the change paths."""

    sim: Sim
    ha: HAManager
    _lock: threading.RLock

    def _act(self, guest_id: str, operation: Callable[..., TaskRecord], *args: object) -> Task:
        """`operation(sim, guest, *args)` on the guest `guest_id`, as the task it
        started. Raises what the operation raises (NotFound, Conflict, InvalidInput)."""
        with self._lock:
            self.sim.advance()
            record = operation(self.sim, self.sim.guest(guest_id), *args)
            self.sim.settle()
            return record.to_task(self.sim.now)

    def _node_admin(self, action: Callable[[], None]) -> None:
        """A change to the cluster rather than to one guest: no task."""
        with self._lock:
            self.sim.advance()
            action()
            self.sim.settle()
