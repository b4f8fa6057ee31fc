"""Teaching mode on the simulated cluster: the narrated timeline, the clock's speed, and
faults on demand. A feature of the app, mixed into VMConsoleApp; it appears only when a
cluster's backend can inject faults and control its time (the simulator)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial

from textual import work
from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from vmconsole.backends.base import (
    BackendError,
    SupportsFaults,
    SupportsNodeAdmin,
    SupportsScenarios,
    SupportsTimeControl,
)
from vmconsole.monitor.poller import PollLoop, PollResult
from vmconsole.ui.base_app import ConsoleBase
from vmconsole.ui.screens.faults import FaultChoice, FaultScreen
from vmconsole.ui.widgets.teaching_panel import TeachingPanel, scale_text

SPEEDS = (1.0, 10.0, 60.0)


class TeachingFeatures(ConsoleBase):
    BINDINGS = [
        Binding("e", "toggle_teaching", "Events", id="teach.panel"),
        Binding("p", "pause", "Pause", show=False, id="teach.pause"),
        Binding("right_square_bracket", "speed(1)", "Faster", show=False, id="teach.faster"),
        Binding("left_square_bracket", "speed(-1)", "Slower", show=False, id="teach.slower"),
        Binding("f", "faults", "Faults", show=False, id="teach.faults"),
    ]

    _resume_scale = 1.0

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
        panel = self.query_one(TeachingPanel)
        panel.add_events(result.events)
        if result.inventory is not None:
            panel.show_status(result.inventory.taken_at, loop.backend.time_scale,
                              result.inventory)

    def action_toggle_teaching(self) -> None:
        self.show_panel(self.query_one(TeachingPanel))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "faults":
            return self.breakable()
        if action in ("pause", "speed", "toggle_teaching"):
            return self.teachable() is not None
        return super().check_action(action, parameters)

    # --- changes to the shared model: admin only, audited ----------------------------

    @work(thread=True, exit_on_error=False, group="teaching")
    def _teach(self, loop: PollLoop, target: str, operation: str,
               parameters: dict[str, object], change: Callable[[], str]) -> None:
        """Run one teaching change in a worker: the role check (the clock and the faults
        are shared by every console of a served class), the backend call, the audit
        record, then the word to the user. `change` returns what it did, for people."""
        cluster = loop.backend.name
        role = self.session.role
        if not role.may_inject_faults():
            reason = f"{operation.replace('_', ' ')} needs the admin role; you are {role}"
            self.write_audit(cluster, target, operation, f"refused: {reason}", parameters)
            self.call_from_thread(self.notify, reason, title="Teaching", severity="error")
            return
        try:
            what = change()
        except BackendError as exc:
            self.write_audit(cluster, target, operation, f"error: {exc.message}", parameters)
            self.call_from_thread(self.notify, exc.message, title="Teaching", severity="error")
            return
        self.write_audit(cluster, target, operation, "done", parameters)
        self.call_from_thread(self.notify, what, title="Teaching", timeout=3)
        loop.refresh_soon()

    def _set_scale(self, scale: float) -> None:
        loop = self.teachable()
        if loop is None or not isinstance(loop.backend, SupportsTimeControl):
            return
        backend = loop.backend

        def change() -> str:
            backend.set_time_scale(scale)
            return f"{backend.name}: {scale_text(scale)}"

        self._teach(loop, "clock", "time_scale", {"scale": scale}, change)

    def action_pause(self) -> None:
        loop = self.teachable()
        if loop is not None and isinstance(loop.backend, SupportsTimeControl):
            scale = loop.backend.time_scale
            if scale:
                self._resume_scale = scale
            self._set_scale(0.0 if scale else self._resume_scale)

    def action_speed(self, step: int) -> None:
        loop = self.teachable()
        if loop is None or not isinstance(loop.backend, SupportsTimeControl):
            return
        current = loop.backend.time_scale or 1.0
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
        if not self.session.role.may_inject_faults():
            self._teach(loop, node, "fault_injection", {}, lambda: "")  # refused, audited
            return
        nodes = [n.name for n in result.inventory.nodes] if result.inventory else []

        def chosen(choice: FaultChoice | None) -> None:
            if choice is not None:
                self._inject(loop, node, choice)

        self.push_screen(FaultScreen(node, nodes, isinstance(loop.backend, SupportsNodeAdmin)),
                         chosen)

    def _inject(self, loop: PollLoop, node: str, choice: FaultChoice) -> None:
        backend = loop.backend
        assert isinstance(backend, SupportsFaults)

        def change() -> str:
            if choice.fault is not None:
                backend.inject_fault(node, choice.fault)
                return f"{choice.fault.replace('_', ' ')} on {node}"
            if choice.admin is not None and isinstance(backend, SupportsNodeAdmin):
                if choice.admin == "reboot":
                    backend.reboot_node(node)
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
        yield from super().get_system_commands(screen)
        loop = self.teachable()
        if loop is None or not isinstance(loop.backend, SupportsScenarios):
            return
        backend = loop.backend
        for name, description in backend.scenarios():
            yield SystemCommand(f"Scenario: {name}", description,
                                partial(self._start_scenario, loop, name))
        yield SystemCommand("Scenario: back to the classic lab",
                            "The three-node demo cluster as it opens",
                            partial(self._start_scenario, loop, None))
        yield SystemCommand("Scenario summary", "What the running scenario has measured",
                            partial(self._scenario_summary, loop))

    def _start_scenario(self, loop: PollLoop, name: str | None) -> None:
        backend = loop.backend
        assert isinstance(backend, SupportsScenarios)

        def change() -> str:
            backend.start_scenario(name)
            return f"scenario {name or 'classic lab'} started"

        self._teach(loop, "cluster", "scenario", {"name": name}, change)

    @work(thread=True, exit_on_error=False, group="teaching")
    def _scenario_summary(self, loop: PollLoop) -> None:
        assert isinstance(loop.backend, SupportsScenarios)
        lines = loop.backend.scenario_summary() or ["no scenario is running: start one from "
                                                    "the palette (Scenario: ...)"]
        self.call_from_thread(self._show_summary, lines)

    def _show_summary(self, lines: list[str]) -> None:
        panel = self.query_one(TeachingPanel)
        self.show_panel(panel, True)
        panel.add_lines(["— scenario summary —", *lines])
