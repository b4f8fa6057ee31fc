"""The console: the cluster tree, the detail pane and the task log, fed by poll loops."""

from __future__ import annotations

from collections.abc import Iterable

from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Tree

from vmconsole.audit import AuditLog
from vmconsole.backends.base import SupportsClusterFacts
from vmconsole.config import Config
from vmconsole.monitor.poller import PollLoop, PollResult
from vmconsole.session import Session
from vmconsole.ui.extra_operations import ExtraOperations
from vmconsole.ui.messages import ClusterPolled
from vmconsole.ui.modals.snapshots import SnapshotPanel
from vmconsole.ui.pinging import PingFeatures
from vmconsole.ui.screens.audit import AuditScreen
from vmconsole.ui.screens.help import HelpScreen
from vmconsole.ui.teaching import TeachingFeatures
from vmconsole.ui.themes import DEFAULT_THEME, load_themes
from vmconsole.ui.widgets.cluster_tree import ClusterTree
from vmconsole.ui.widgets.detail_pane import DetailPane
from vmconsole.ui.widgets.ping_panel import PingPanel
from vmconsole.ui.widgets.task_log import TaskLog
from vmconsole.ui.widgets.teaching_panel import TeachingPanel


class VMConsoleApp(ExtraOperations, PingFeatures, TeachingFeatures):
    """One console. Poll loops are started and stopped by whoever owns them (the local
    launcher, or the SSH server that shares them among sessions)."""

    TITLE = "vmconsole"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("slash", "filter", "Filter", id="app.filter"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("t", "toggle_tasks", "Tasks", id="app.tasks"),
        Binding("r", "refresh", "Refresh", show=False, id="app.refresh"),
        Binding("a", "audit", "Audit log", show=False, id="app.audit"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="app.clear_filter"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(self, loops: Iterable[PollLoop], config: Config | None = None,
                 session: Session | None = None, theme: str | None = None,
                 ascii: bool = False, audit: AuditLog | None = None) -> None:
        super().__init__(loops, config, session, ascii, audit)
        self._unsubscribe: list[object] = []
        self._theme_problems: list[str] = []
        self._requested_theme = theme or self.config.theme or DEFAULT_THEME

    # --- composition ------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield Input(placeholder="filter by name, id or tag", id="filter")
                yield ClusterTree(self.symbols, id="tree")
            with Vertical(id="right"):
                yield DetailPane(id="detail")
                yield PingPanel(id="ping")
        yield TeachingPanel(id="teaching", classes="bottom-panel" + (
            " visible" if self.teachable() else ""))
        yield TaskLog(id="tasks", classes="bottom-panel")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"{self.session.user} ({self.session.role})"
        loaded = load_themes()
        for theme in loaded.themes:
            self.register_theme(theme)
        self._theme_problems = loaded.problems
        if self._requested_theme not in self.available_themes:
            self._theme_problems.append(
                f"no theme '{self._requested_theme}': using {DEFAULT_THEME}")
            self._requested_theme = DEFAULT_THEME
        self.theme = self._requested_theme
        self._apply_keymap()
        for problem in self._theme_problems:
            self.notify(problem, title="Theme", severity="warning", timeout=8)
        tree = self.query_one(ClusterTree)
        tree.restyle(self.theme_variables)
        tree.focus()
        for loop in self.loops.values():
            self._unsubscribe.append(loop.subscribe(self._from_poll_thread))

    def _apply_keymap(self) -> None:
        known = {b.id for b in self._all_bindings() if b.id}
        unknown = sorted(set(self.config.keys) - known)
        if unknown:
            self.notify(f"unknown key binding ids in the config: {', '.join(unknown)}",
                        title="Keys", severity="warning", timeout=8)
        self.set_keymap({k: v for k, v in self.config.keys.items() if k in known})

    def _all_bindings(self) -> list[Binding]:
        out: list[Binding] = []
        for cls in (type(self), ClusterTree, TaskLog, SnapshotPanel):
            for bindings in cls._merge_bindings().key_to_bindings.values():
                out += [b for b in bindings if b not in out]
        return out

    def on_unmount(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()  # type: ignore[operator]

    def watch_theme(self, theme: str) -> None:
        if self.is_running:
            self.query_one(ClusterTree).restyle(self.theme_variables)
            self._show_selection()

    # --- polling ------------------------------------------------------------------------

    def _from_poll_thread(self, result: PollResult) -> None:
        self.post_message(ClusterPolled(result))

    @on(ClusterPolled)
    def _polled(self, message: ClusterPolled) -> None:
        result = message.result
        self.latest[result.cluster] = result
        if not self.query(ClusterTree):  # the app queries its default screen
            return  # the console is closing
        self.query_one(ClusterTree).apply(result)
        if result.inventory is not None:
            self.query_one(TaskLog).update_tasks(result.cluster, result.tasks,
                                                 result.inventory.taken_at)
        self.teaching_on_poll(result)
        self.ping_on_poll(result)
        ref = self.selected
        if ref is not None and ref.cluster == result.cluster and (
            result.diff is None or ref.is_cluster or ref.object_id in result.diff.changed
            or result.diff.cluster_changed or ref.object_id in result.diff.removed
        ):
            self._show_selection()

    # --- selection ----------------------------------------------------------------------

    @on(Tree.NodeHighlighted)
    def _highlighted(self) -> None:
        self._show_selection()

    def _show_selection(self) -> None:
        if not self.query(DetailPane):
            return  # the console is closing
        ref = self.selected
        detail = self.query_one(DetailPane)
        if ref is None:
            detail.show(None, None, None, [])
            return
        result = self.latest.get(ref.cluster)
        loop = self.loops.get(ref.cluster)
        samples = loop.poller.samples(ref.object_id) if loop and not ref.is_cluster else []
        facts = (loop.backend.cluster_facts() if loop and ref.is_cluster
                 and isinstance(loop.backend, SupportsClusterFacts) else [])
        detail.show(ref, result.inventory if result else None, result.error if result else None,
                    samples, facts)

    # --- actions ------------------------------------------------------------------------

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("visible")
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.query_one(ClusterTree).set_filter(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one(ClusterTree).focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_class("visible"):
            box.value = ""
            box.remove_class("visible")
            self.query_one(ClusterTree).focus()

    def action_toggle_tasks(self) -> None:
        self.show_panel(self.query_one(TaskLog))

    def action_refresh(self) -> None:
        for loop in self.loops.values():
            loop.refresh_soon()

    def action_help(self) -> None:
        rows = []
        keymap = self._keymap
        for binding in self._all_bindings():
            if not binding.description:
                continue  # Textual's own unnamed bindings (ctrl+c copies) say nothing here
            key = keymap.get(binding.id, binding.key) if binding.id else binding.key
            rows.append((self.get_key_display(Binding(key, "")), binding.description,
                         binding.id or ""))
        self.push_screen(HelpScreen(rows))

    def action_audit(self) -> None:
        ref = self.selected  # on a guest: that guest's records
        guest = ref.object_id if ref and not (ref.is_cluster or ref.is_node) else ""
        self.push_screen(AuditScreen(self.audit, target=guest))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Filter the tree", "Show only guests matching a name, id or tag",
                            self.action_filter)
        yield SystemCommand("Toggle the task log", "Show or hide running and recent tasks",
                            self.action_toggle_tasks)
        yield SystemCommand("Refresh now", "Poll every cluster at once", self.action_refresh)
        yield SystemCommand("Keys", "Every key and its id for remapping", self.action_help)
        yield SystemCommand("Audit log", "Every operation of every session, by user and "
                            "target", self.action_audit)
