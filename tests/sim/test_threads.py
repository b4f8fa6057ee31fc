"""The backend is called from the poller's thread, the ping monitor's thread and the UI's
workers at once: every call holds one lock, so concurrent calls see consistent states."""

from __future__ import annotations

import contextlib
import threading

from vmconsole.backends.base import BackendError, MigrationMode
from vmconsole.backends.sim import ManualClock, SimBackend
from vmconsole.backends.sim.scenarios import runs_twice


def test_concurrent_polls_probes_operations_and_time(lab: SimBackend,
                                                     clock: ManualClock) -> None:
    failures: list[BaseException] = []

    def guarded(work: object) -> threading.Thread:
        def run() -> None:
            try:
                work()  # type: ignore[operator]
            except BaseException as exc:  # reported below, with the thread's traceback
                failures.append(exc)
        return threading.Thread(target=run)

    def poll() -> None:
        for _ in range(300):
            inventory = lab.inventory()
            assert len(inventory.guests) == 8

    def probe() -> None:
        for _ in range(2000):
            lab.probe("qemu/100")

    def operate() -> None:
        for _ in range(20):
            for guest, node in (("qemu/100", "pve2"), ("qemu/100", "pve1")):
                with contextlib.suppress(BackendError):  # busy or there: refused cleanly
                    lab.migrate(guest, node, MigrationMode.LIVE)

    def tick() -> None:
        for _ in range(600):
            clock.advance(0.25)

    threads = [guarded(w) for w in (poll, probe, operate, tick)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    assert runs_twice(lab.sim.run_log) == []
    clock.advance(60)
    tasks = lab.tasks()
    assert tasks and all(t.status.done for t in tasks)
    assert lab.inventory().guest("qemu/100").lock is None  # type: ignore[union-attr]
