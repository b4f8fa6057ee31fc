"""Teaching mode on the simulated cluster: the narrated timeline, the clock's speed, and
faults on demand. A feature of the app, mixed into VMConsoleApp; it appears only when a
cluster's backend can inject faults and control its time (the simulator)."""

from __future__ import annotations

from collections.abc import Iterable
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
            if loop and isinstance(loop.backend, SupportsFaults | SupportsTimeControl):
                return loop
        return None

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
        self.query_one(TeachingPanel).toggle_class("visible")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("pause", "speed", "faults", "toggle_teaching"):
            return self.teachable() is not None
        return super().check_action(action, parameters)

    def _set_scale(self, scale: float) -> None:
        loop = self.teachable()
        if loop is None or not isinstance(loop.backend, SupportsTimeControl):
            return
        loop.backend.set_time_scale(scale)
        self.notify(f"{loop.backend.name}: {scale_text(scale)}", timeout=2)
        loop.refresh_soon()

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
        if not self.session.role.may_inject_faults():
            self.notify(f"Fault injection needs the admin role; you are {self.session.role}.",
                        severity="error")
            return
        loop = self.loops.get(ref.cluster)
        result = self.latest.get(ref.cluster)
        if loop is None or not isinstance(loop.backend, SupportsFaults) or result is None:
            self.notify("Faults exist only on the simulated cluster.", severity="warning")
            return
        nodes = [n.name for n in result.inventory.nodes] if result.inventory else []
        node = ref.object_id.removeprefix("node/")

        def chosen(choice: FaultChoice | None) -> None:
            if choice is not None:
                self._inject(loop, node, choice)

        self.push_screen(FaultScreen(node, nodes, isinstance(loop.backend, SupportsNodeAdmin)),
                         chosen)

    @work(thread=True, exit_on_error=False, group="faults")
    def _inject(self, loop: PollLoop, node: str, choice: FaultChoice) -> None:
        backend = loop.backend
        assert isinstance(backend, SupportsFaults)
        try:
            if choice.fault is not None:
                backend.inject_fault(node, choice.fault)
                what = f"{choice.fault.replace('_', ' ')} on {node}"
            elif choice.admin is not None and isinstance(backend, SupportsNodeAdmin):
                if choice.admin == "reboot":
                    backend.reboot_node(node)
                else:
                    backend.set_maintenance(node, choice.admin == "maintenance_on")
                what = f"{choice.admin.replace('_', ' ')} {node}"
            elif choice.partition:
                backend.partition([list(group) for group in choice.partition])
                what = "partition " + " | ".join(" ".join(g) for g in choice.partition)
            else:
                backend.restore(None if choice.restore_all else node)
                what = "restore " + ("everything" if choice.restore_all else node)
        except BackendError as exc:
            self.call_from_thread(self.notify, exc.message, title="Fault", severity="error")
            return
        self.call_from_thread(self.notify, what, title="Fault injected")
        loop.refresh_soon()

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

    @work(thread=True, exit_on_error=False, group="faults")
    def _start_scenario(self, loop: PollLoop, name: str | None) -> None:
        if not self.session.role.may_inject_faults():
            self.call_from_thread(self.notify, "Scenarios need the admin role; you are "
                                  f"{self.session.role}.", severity="error")
            return
        backend = loop.backend
        assert isinstance(backend, SupportsScenarios)
        try:
            backend.start_scenario(name)
        except BackendError as exc:
            self.call_from_thread(self.notify, exc.message, title="Scenario", severity="error")
            return
        self.call_from_thread(self.notify, f"scenario {name or 'classic lab'} started",
                              title="Scenario")
        loop.refresh_soon()

    @work(thread=True, exit_on_error=False, group="faults")
    def _scenario_summary(self, loop: PollLoop) -> None:
        assert isinstance(loop.backend, SupportsScenarios)
        lines = loop.backend.scenario_summary() or ["no scenario is running: start one from "
                                                    "the palette (Scenario: ...)"]
        self.call_from_thread(self._show_summary, lines)

    def _show_summary(self, lines: list[str]) -> None:
        panel = self.query_one(TeachingPanel)
        panel.add_class("visible")
        panel.add_lines(["— scenario summary —", *lines])
