"""Teaching mode on the simulated cluster: the narrated timeline, the clock's speed, and
faults on demand. A feature of the app, mixed into VMConsoleApp; it appears only when a
cluster's backend can inject faults and control its time (the simulator)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING

from textual import work
from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from vmconsole.actor import Role
from vmconsole.backends.abilities import (
    SupportsBalancing,
    SupportsFaults,
    SupportsFaultToleranceLimits,
    SupportsHAAdmin,
    SupportsHAConfig,
    SupportsNodeAdmin,
    SupportsScenarios,
    SupportsTimeControl,
)
from vmconsole.backends.base import BackendError
from vmconsole.monitor.poller import PollLoop, PollResult
from vmconsole.operations import OpRequest
from vmconsole.text import visible
from vmconsole.ui.base_app import ConsoleBase
from vmconsole.ui.typeahead import held_for
from vmconsole.ui.widgets.teaching_panel import TeachingPanel, scale_text

if TYPE_CHECKING:  # the HA forms and dialogs are loaded when first asked for
    from vmconsole.ui.ha_config_flow import HAConfigFlow
    from vmconsole.ui.screens.faults import FaultChoice

SPEEDS = (1.0, 10.0, 60.0)
# The fault menu's HA-stack choices: (backend, selected node) -> the call.
HA_ADMIN: dict[str, Callable[[SupportsHAAdmin, str], None]] = {
    "restart_lrm": lambda backend, node: backend.restart_lrm(node),
    "restart_crm": lambda backend, node: backend.restart_crm(node),
    "skip_crm": lambda backend, node: backend.skip_rounds("crm", 1),
    "disarm_freeze": lambda backend, node: backend.disarm_ha("freeze"),
    "disarm_ignore": lambda backend, node: backend.disarm_ha("ignore"),
    "arm": lambda backend, node: backend.arm_ha(),
    "cfs_fail": lambda backend, node: backend.set_cfs_failure(node, True),
    "cfs_work": lambda backend, node: backend.set_cfs_failure(node, False),
}


class TeachingFeatures(ConsoleBase):
    BINDINGS = [
        Binding("e", "toggle_teaching", "Events", id="teach.panel"),
        Binding("p", "pause", "Pause", show=False, id="teach.pause"),
        Binding("right_square_bracket", "speed(1)", "Faster", show=False, id="teach.faster"),
        Binding("left_square_bracket", "speed(-1)", "Slower", show=False, id="teach.slower"),
        Binding("f", "faults", "Faults", show=False, id="teach.faults"),
        Binding("R", "ha_rules", "HA rules: node and resource affinity, the CRS",
                show=False, id="teach.rules"),
        Binding("F", "fault_tolerance", "Fault tolerance of the selected VM", show=False,
                id="teach.ft"),
    ]

    _resume_scale = 1.0
    _scale_wanted = 1.0
    _scales_pending = 0
    _teaching_done: asyncio.Future[None] | None = None

    def teachable(self, cluster: str | None = None) -> PollLoop | None:
        """The poll loop of a simulated cluster (the selected one, else the first)."""
        names = [cluster] if cluster else []
        names += list(self.loops)
        for name in names:
            loop = self.loops.get(name)
            if loop and isinstance(loop.backend, SupportsTimeControl):
                return loop
        return None

    def breakable(self) -> bool:
        """Some cluster can fail its nodes on demand (the simulator, the real lab)."""
        return any(isinstance(loop.backend, SupportsFaults) for loop in self.loops.values())

    def teaching_on_poll(self, result: PollResult) -> None:
        loop = self.loops.get(result.cluster)
        if loop is None or not isinstance(loop.backend, SupportsTimeControl):
            return
        panel = self.query_one_optional(TeachingPanel)
        if panel is None:
            return  # the console is closing
        panel.add_events(result.events)
        if result.inventory is not None:
            panel.show_status(result.inventory.taken_at, loop.backend.time_scale,
                              result.inventory, self.operations.allowed(Role.ADMIN))

    def action_toggle_teaching(self) -> None:
        self.show_panel(self.query_one(TeachingPanel))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "faults":
            return self.breakable()
        if action in ("pause", "speed", "toggle_teaching"):
            return self.teachable() is not None
        if action == "ha_rules":
            return self._configurable(SupportsHAConfig) is not None
        if action == "fault_tolerance":
            return self._configurable(SupportsFaultToleranceLimits) is not None
        return super().check_action(action, parameters)

    # --- HA rules, the CRS and FT: screens of their own (ui/ha_config_flow.py) --------

    def _configurable(self, protocol: type) -> PollLoop | None:
        """The poll loop of the selected cluster, else of the first, whose backend has
        `protocol`."""
        ref = self.selected
        names = ([ref.cluster] if ref else []) + list(self.loops)
        return next((loop for name in names if (loop := self.loops.get(name))
                     and isinstance(loop.backend, protocol)), None)

    def _ha_flow(self, loop: PollLoop) -> HAConfigFlow:
        from vmconsole.ui.ha_config_flow import HAConfigFlow

        return HAConfigFlow(self, loop.backend.name)

    def action_ha_rules(self) -> None:
        loop = self._configurable(SupportsHAConfig)
        if loop is None:
            return
        from vmconsole.ui.screens.ha_rules import HARulesScreen  # loaded when used

        self.push_screen(HARulesScreen(loop.backend.name, self._ha_flow(loop), self.symbols))

    def action_crs_settings(self) -> None:
        loop = self._configurable(SupportsHAConfig)
        if loop is not None:
            self.run_worker(held_for(self, self._ha_flow(loop).edit_crs()),
                            group="teaching", exit_on_error=False, name="CRS settings")

    def action_fault_tolerance(self) -> None:
        loop = self._configurable(SupportsFaultToleranceLimits)
        ref = self.selected
        result = self.latest.get(ref.cluster) if ref is not None else None
        guest = (result.inventory.guest(ref.object_id) if ref is not None and result
                 is not None and result.inventory is not None else None)
        if loop is None or guest is None or ref is None or ref.cluster != loop.backend.name:
            self.notify("Select a VM of the simulated cluster first: fault tolerance "
                        "protects one VM.", severity="warning")
            return
        # The keys typed with `F` are the form's, kept while its limits are read, dropped
        # if it is refused (`ui.typeahead`): not the tree's.
        self.run_worker(held_for(self, self._ha_flow(loop).fault_tolerance(guest)),
                        group="teaching", exit_on_error=False, name="Fault tolerance")

    # --- changes to the shared model: admin only, audited ----------------------------

    def _teach(self, loop: PollLoop, target: str, operation: str,
               parameters: dict[str, object], change: Callable[[], str],
               after: Callable[[], None] | None = None) -> None:
        """Make one teaching change on the change path (`vmconsole.operations`): admin
        only, as the clock and the faults are shared by every console of a served class;
        audited; `change` returns what it did, for people; `after()` runs on the event
        loop once it has ended, however it ended. Changes run one after another in the
        order asked (keys pressed in a burst must not land in another order)."""
        request = OpRequest(loop.backend.name, target, operation, "Teaching", parameters,
                            needs=Role.ADMIN)
        previous, done = self._teaching_done, asyncio.get_running_loop().create_future()
        self._teaching_done = done

        async def run() -> None:
            try:
                if previous is not None:
                    await asyncio.shield(previous)  # a cancelled wait must not cancel it
                await self.runner.run(request, lambda _backend: change())
            finally:
                if not done.done():
                    done.set_result(None)
                if after is not None:
                    after()

        self.run_worker(run(), group="teaching", exit_on_error=False, name="Teaching")

    def _set_scale(self, scale: float) -> None:
        loop = self.teachable()
        if loop is None or not isinstance(loop.backend, SupportsTimeControl):
            return
        backend = loop.backend
        self._scale_wanted = scale
        self._scales_pending += 1

        def change() -> str:
            backend.set_time_scale(scale)
            return f"{backend.name}: {scale_text(scale)}"

        def after() -> None:
            self._scales_pending -= 1

        self._teach(loop, "clock", "time_scale", {"scale": scale}, change, after)

    def _scale_now(self, backend: SupportsTimeControl) -> float:
        """The clock's speed as the keys left it: while a change is on its way, the one
        asked for last (two `]` in a burst step twice), else the backend's."""
        return self._scale_wanted if self._scales_pending else backend.time_scale

    def action_pause(self) -> None:
        loop = self.teachable()
        if loop is not None and isinstance(loop.backend, SupportsTimeControl):
            scale = self._scale_now(loop.backend)
            if scale:
                self._resume_scale = scale
            self._set_scale(0.0 if scale else self._resume_scale)

    def action_speed(self, step: int) -> None:
        loop = self.teachable()
        if loop is None or not isinstance(loop.backend, SupportsTimeControl):
            return
        current = self._scale_now(loop.backend) or 1.0
        index = min(range(len(SPEEDS)), key=lambda i: abs(SPEEDS[i] - current))
        self._set_scale(SPEEDS[max(0, min(len(SPEEDS) - 1, index + step))])

    def action_faults(self) -> None:
        ref = self.selected
        if ref is None or not ref.is_node:
            self.notify("Select a node first: faults happen to nodes.", severity="warning")
            return
        loop = self.loops.get(ref.cluster)
        result = self.latest.get(ref.cluster)
        if loop is None or not isinstance(loop.backend, SupportsFaults) or result is None:
            self.notify("Faults exist only on the simulated cluster and the lab.",
                        severity="warning")
            return
        node = ref.object_id.removeprefix("node/")
        request = OpRequest(ref.cluster, node, "fault_injection", "Teaching", needs=Role.ADMIN)
        if not self.runner.permitted(request):  # refused (audited) before the menu opens
            self.typeahead.drop_queued(self)  # the keys typed with `f` were the menu's
            return
        nodes = [n.name for n in result.inventory.nodes] if result.inventory else []
        from vmconsole.ui.screens.faults import FaultScreen  # a dialog: loaded when used

        def chosen(choice: FaultChoice | None) -> None:
            if choice is not None:
                self._inject(loop, node, choice)

        self.typeahead.hold()  # the keys typed with `f` go to the menu (`ui.typeahead`)
        self.push_screen(FaultScreen(node, nodes, isinstance(loop.backend, SupportsNodeAdmin),
                                     isinstance(loop.backend, SupportsHAAdmin)), chosen)

    def _inject(self, loop: PollLoop, node: str, choice: FaultChoice) -> None:
        backend = loop.backend
        assert isinstance(backend, SupportsFaults)

        def change() -> str:
            if choice.fault is not None:
                backend.inject_fault(node, choice.fault)
                return f"{choice.fault.replace('_', ' ')} on {node}"
            if choice.admin is not None and isinstance(backend, SupportsHAAdmin) and (
                    choice.admin in HA_ADMIN):
                HA_ADMIN[choice.admin](backend, node)
                return f"{choice.admin.replace('_', ' ')} ({node})"
            if choice.admin is not None and isinstance(backend, SupportsNodeAdmin):
                if choice.admin == "reboot":
                    backend.reboot_node(node)
                elif choice.admin == "shutdown":
                    backend.shutdown_node(node)
                else:
                    backend.set_maintenance(node, choice.admin == "maintenance_on")
                return f"{choice.admin.replace('_', ' ')} {node}"
            if choice.partition:
                backend.partition([list(group) for group in choice.partition])
                return "partition " + " | ".join(" ".join(g) for g in choice.partition)
            backend.restore(None if choice.restore_all else node)
            return "restore " + ("everything" if choice.restore_all else node)

        operation = ("fault_" + choice.fault if choice.fault else choice.admin
                     or ("partition" if choice.partition else "restore"))
        parameters: dict[str, object] = {"node": node}
        if choice.partition:
            parameters["groups"] = [list(g) for g in choice.partition]
        if choice.restore_all:
            parameters["everything"] = True
        self._teach(loop, node, operation, parameters, change)

    # --- scenarios ----------------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        from vmconsole.ui.guest_commands import palette_text  # with the palette

        yield from super().get_system_commands(screen)
        loop = self.teachable()
        if loop is None or not isinstance(loop.backend, SupportsScenarios):
            return
        backend = loop.backend
        # Changes to the cluster the class shares are offered only to whom may make them
        # (an admin, on a console that is not read-only); the readings stay for everyone.
        admin = self.operations.allowed(Role.ADMIN)
        if admin:
            for name, description in backend.scenarios():
                yield SystemCommand(f"Scenario: {palette_text(name)}", palette_text(description),
                                    partial(self._start_scenario, loop, name))
            yield SystemCommand("Scenario: back to the classic lab",
                                "The three-node demo cluster as it opens",
                                partial(self._start_scenario, loop, None))
        yield SystemCommand("Scenario summary", "What the running scenario has measured",
                            partial(self._scenario_summary, loop))
        if isinstance(backend, SupportsHAAdmin):
            yield SystemCommand("HA status", "ha-manager status: master, LRMs, fencing "
                                "(armed or standby), services", partial(
                                    self._read_lines, "HA status", backend.ha_status))
        if isinstance(backend, SupportsBalancing):
            yield SystemCommand("CRS: balancing plan", "Node loads, the imbalance and the "
                                "recommended moves with their gain", partial(
                                    self._read_lines, "CRS plan", backend.crs_plan))
            if admin:
                yield SystemCommand("CRS: apply the best recommendation", "Migrate one HA "
                                    "service as the plan says", partial(self._crs_apply, loop))
        if isinstance(backend, SupportsHAConfig):
            yield SystemCommand("HA rules", "Node affinity (HA groups) and resource "
                                "affinity: list, create, edit, delete", self.action_ha_rules)
            if admin:
                yield SystemCommand("CRS: settings", "Scheduler (basic, static, dynamic) "
                                    "and auto-rebalance", self.action_crs_settings)
        if admin and isinstance(backend, SupportsFaultToleranceLimits):
            yield SystemCommand("Fault tolerance: the selected VM", "Its limits, a shadow "
                                "copy on another node kept by checkpoints, or FT off",
                                self.action_fault_tolerance)

    def _start_scenario(self, loop: PollLoop, name: str | None) -> None:
        backend = loop.backend
        assert isinstance(backend, SupportsScenarios)

        def change() -> str:
            backend.start_scenario(name)
            return f"scenario {name or 'classic lab'} started"

        self._teach(loop, "cluster", "scenario", {"name": name}, change)

    @work(thread=True, exit_on_error=False, group="teaching", name="Scenario summary")
    def _scenario_summary(self, loop: PollLoop) -> None:
        assert isinstance(loop.backend, SupportsScenarios)
        lines = loop.backend.scenario_summary() or ["no scenario is running: start one from "
                                                    "the palette (Scenario: ...)"]
        self.call_from_thread(self._show_summary, lines)

    @work(thread=True, exit_on_error=False, group="teaching")
    def _read_lines(self, title: str, read: Callable[[], list[str]]) -> None:
        try:
            lines = read()
        except BackendError as exc:
            lines = [exc.message]
        self.call_from_thread(self._show_lines, title, lines)

    def _show_lines(self, title: str, lines: list[str]) -> None:
        panel = self.query_one(TeachingPanel)
        self.show_panel(panel, True)
        panel.add_lines([f"— {title} —", *(visible(line, None) for line in lines)])

    def _crs_apply(self, loop: PollLoop) -> None:
        """Ask first (a guest moves, on the cluster the class shares), then migrate."""
        backend = loop.backend
        assert isinstance(backend, SupportsBalancing)

        def change() -> str:
            moved = backend.crs_apply(1)
            return "one HA service migrates" if moved else "nothing to balance"

        def answered(yes: bool | None) -> None:
            if yes:
                self._teach(loop, "cluster", "crs_apply", {}, change)

        from vmconsole.ui.modals.confirm import ConfirmScreen  # a dialog: loaded when used

        self.push_screen(ConfirmScreen(
            "CRS: apply the best recommendation",
            "Migrate the HA service the balancing plan recommends to its new node?",
            "Its guest moves while it runs, on the cluster every console of the class "
            "shares. \"CRS: balancing plan\" shows the move first.", "Migrate"), answered)

    def _show_summary(self, lines: list[str]) -> None:
        panel = self.query_one(TeachingPanel)
        self.show_panel(panel, True)
        panel.add_lines(["— scenario summary —", *lines])
