"""Rebalance plans as a feature of the app: `L` (load) (and the palette) on any row of a
cluster opens its plan (`screens.rebalance`); the rules are gathered from the backend
and the plan made in a thread (`backends.placement.gather`, `vmconsole.balance.plan`);
each move is a migration through the change path (`vmconsole.operations`: operator
role, audited), the next one started only once the last one's task has ended."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import WorkerFailed, get_current_worker

from vmconsole.backends.base import Backend, MigrationMode, TaskStatus
from vmconsole.model import Guest, GuestKind
from vmconsole.monitor.poller import PollResult
from vmconsole.operations import OpRequest
from vmconsole.text import visible
from vmconsole.ui.base_app import ConsoleBase
from vmconsole.ui.labels import node_state

if TYPE_CHECKING:  # the planner is loaded when a plan is asked for
    from vmconsole.balance import Move, Plan

TASK_CHECK = 0.25  # seconds between looks at the polled task list while a move runs
# An HA guest's migration is a request whose task ends at once; the HA manager moves it
# on its next rounds. Seconds to wait for a poll to show it on its target.
ARRIVAL_WAIT = 600.0
PROGRESS_EVERY = 0.2  # seconds between sayings of a plan's progress


def running_mode(guest: Guest) -> MigrationMode:
    """How a running guest migrates: a VM live, a container by restart (stopped on the
    source, started on the target; Proxmox's `pct migrate --restart`, the `m` form's rule)."""
    return MigrationMode.RESTART if guest.kind is GuestKind.CT else MigrationMode.LIVE


def unreachable(result: PollResult | None) -> str:
    """Why the cluster `result` is of cannot be reached, in the backend's words: its
    last poll failed, or none of its nodes answers (a libvirt cluster's every host
    unreachable or still connecting: "kvm1 unreachable: ..."); "" when it answers, or
    has not been polled yet."""
    if result is None:
        return ""
    if result.error is not None:
        return result.error
    nodes = result.inventory.nodes if result.inventory is not None else ()
    if not nodes or any(node_state(n) not in ("unreachable", "connecting…") for n in nodes):
        return ""
    return "; ".join(f"{n.name} {node_state(n)}" + (f": {n.error}" if n.error else "")
                     for n in nodes)


class RebalanceFeatures(ConsoleBase):
    BINDINGS = [Binding("L", "rebalance", "Rebalance plan for the cluster", show=False,
                        id="cluster.rebalance")]

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        from vmconsole.ui.guest_commands import palette_text  # with the palette

        yield from super().get_system_commands(screen)
        ref = self.selected
        if ref is not None:
            yield SystemCommand(f"Rebalance plan: {palette_text(ref.cluster)}",
                                "Moves that even out CPU and memory, with their gain; "
                                "guests that cannot move and why", self.action_rebalance)

    def action_rebalance(self) -> None:
        ref = self.selected
        if ref is None or ref.cluster not in self.loops:
            self.notify("Select a cluster (or anything in it) first.", severity="warning")
            return
        cluster = ref.cluster
        probe = OpRequest(cluster, "cluster", "migrate", "Rebalance")
        refusal = self.operations.refusal(probe) or ""
        from vmconsole.ui.screens.rebalance import (  # loaded when used
            RebalanceActions,
            RebalanceScreen,
        )

        self.push_screen(RebalanceScreen(cluster, RebalanceActions(
            partial(self._rebalance_plan, cluster), partial(self._rebalance_move, cluster),
            partial(self._rebalance_confirm, cluster), refusal,
            partial(self.runner.refuse, probe, refusal),
            lambda: unreachable(self.latest.get(cluster))), symbols=self.symbols))

    async def _rebalance_confirm(self, cluster: str, title: str, moves: list[Move]) -> bool:
        """Ask before `moves`: one line each with how that guest migrates (live or
        restart, from the last poll's inventory); True once the operator said yes."""
        result = self.latest.get(cluster)
        inventory = result.inventory if result else None
        lines: list[str] = []
        modes: set[MigrationMode | None] = set()
        for m in moves:
            guest = inventory.guest(m.guest) if inventory else None
            mode = running_mode(guest) if guest is not None else None
            modes.add(mode)
            lines.append(f"{visible(m.name)}: {visible(m.source)} {self.symbols.arrow} "
                         f"{visible(m.target)} "
                         f"(imbalance -{m.gain:.2f})" + (f", {mode}" if mode else ""))
        ways = [text for mode, text in (
            (MigrationMode.LIVE, "a VM migrates live"),
            (MigrationMode.RESTART, "a container by restart (stopped, moved, started: "
                                    "down for seconds)")) if mode in modes]
        from vmconsole.ui.modals.confirm import ConfirmScreen  # a dialog: loaded when used

        answer: bool = await self.push_screen_wait(ConfirmScreen(
            title, "\n".join(lines),
            f"One at a time; {'; '.join(ways) or 'each as its kind allows'}; a failure "
            "stops the rest.", "Migrate"))
        return answer

    async def _rebalance_plan(self, cluster: str, mode: str,
                              say: Callable[[str], None]) -> Plan | None:
        result = self.latest.get(cluster)
        if result is None or result.inventory is None:
            self.notify("The cluster has not been read yet.", title="Rebalance",
                        severity="warning")
            return None
        inventory = result.inventory

        from vmconsole.backends.placement import gather  # loaded when used
        from vmconsole.balance import plan

        def compute(backend: Backend) -> Plan:
            worker, said = get_current_worker(), [0.0]

            def progress(done: int, total: int) -> None:
                if worker.is_cancelled:  # the screen closed or asked again: stop asking
                    raise asyncio.CancelledError
                # Said every PROGRESS_EVERY, not per guest: each saying waits for the
                # event loop, which at 10,000 guests cost more than the check itself.
                now = time.monotonic()
                if done == total or now - said[0] >= PROGRESS_EVERY:
                    said[0] = now
                    self.call_from_thread(say, "Asking the cluster where each guest may "
                                               f"go: {done}/{total}")

            return plan(inventory, gather(backend, inventory, progress), mode)

        return await self.runner.query(cluster, "the rebalance plan", compute)

    async def _rebalance_move(self, cluster: str, move: Move,
                              state: Callable[[str], None]) -> bool:
        """Migrate one guest of the plan and follow its task to its end."""
        result = self.latest.get(cluster)
        guest = result.inventory.guest(move.guest) if result and result.inventory else None
        if guest is None or guest.node != move.source or not guest.running:
            state("skipped: it moved or stopped")
            return False
        mode = running_mode(guest)
        request = OpRequest(cluster, move.guest, "migrate",
                            f"Rebalance: migrate {visible(move.name)} to {visible(move.target)}",
                            {"node": move.target, "mode": str(mode), "with_local_disks": False,
                             "rebalance_gain": round(move.gain, 3)})
        outcome = await self.runner.run(
            request, lambda b: b.migrate(move.guest, move.target, mode))
        if outcome.task is None:
            state(f"failed: {visible(outcome.message)}")
            return False
        task_id = outcome.task.id
        state("migrating")
        try:
            while True:
                await asyncio.sleep(TASK_CHECK)
                polled = self.latest.get(cluster)
                task = next((t for t in polled.tasks if t.id == task_id), None) if (
                    polled) else None
                if task is None or task.status is TaskStatus.RUNNING:
                    if task is not None and task.progress is not None:
                        state(f"migrating {task.progress:.0%}")
                    continue
                if task.status is TaskStatus.ERROR:
                    state(f"failed: {visible(task.error or 'error')}")
                    return False
                return await self._arrived(cluster, move, state)
        except (asyncio.CancelledError, WorkerFailed):
            state("left running (screen closed)")
            raise

    async def _arrived(self, cluster: str, move: Move, state: Callable[[str], None]) -> bool:
        """Done once a poll shows the guest running on the target."""
        deadline = asyncio.get_running_loop().time() + ARRIVAL_WAIT
        while asyncio.get_running_loop().time() < deadline:
            polled = self.latest.get(cluster)
            guest = polled.inventory.guest(move.guest) if polled and polled.inventory else None
            if guest is not None and guest.node == move.target and guest.running:
                state("done")
                return True
            state("moving")
            await asyncio.sleep(TASK_CHECK)
        state(f"failed: not running on {visible(move.target)} after {ARRIVAL_WAIT:.0f} s")
        return False
