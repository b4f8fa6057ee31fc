"""What every feature of the console shares: its clusters' poll loops, their latest
results, the actor (who is at it), the change path (`operations`, `runner`) and the selection.
Features are App subclasses over this base (Textual merges BINDINGS only along
App/DOMNode classes, so a plain mixin would lose its keys); VMConsoleApp combines them."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterable, Sequence
from functools import cached_property

from rich.console import Console, RenderableType
from textual import events
from textual.app import App
from textual.binding import Binding
from textual.filter import LineFilter
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widget import Widget
from textual.worker import Worker

from vmconsole.actor import Actor
from vmconsole.audit import AuditLog, AuditRecord
from vmconsole.backends.base import Backend, BackendError, Task
from vmconsole.config import Config
from vmconsole.maintenance import MaintenanceRecord
from vmconsole.monitor.poller import PollLoop, PollResult
from vmconsole.operations import Operations
from vmconsole.text import visible, visible_lines
from vmconsole.ui.alt_keys import escape_then
from vmconsole.ui.ascii_frame import AsciiFrame
from vmconsole.ui.key_order import KeyOrder, KeyTookEffect
from vmconsole.ui.labels import label_key
from vmconsole.ui.operations import OperationRunner
from vmconsole.ui.symbols import ASCII, UNICODE, ascii_key
from vmconsole.ui.typeahead import ReplayTypeahead, Typeahead, screen_opened
from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef
from vmconsole.ui.worker_errors import failure_text, reported_failure

log = logging.getLogger(__name__)
SHORT_SCREEN = 30  # rows below which bottom panels take turns
# The longest line of a notification: a backend's message may quote a hostile name of
# thousands of characters, and a toast would then cover the screen.
NOTIFY_LINE_LIMIT = 300


class MainScreen(Screen[None]):
    """The console's own screen: the tree, the detail pane, the bottom panels."""

    # Focus lands on the tree at once. Textual's default ("*") takes the first
    # focusable widget breadth first, a bottom panel hidden at start, and the move to
    # the tree then rebuilt the footer twice more before the first screen.
    AUTO_FOCUS = "#tree"


class ConsoleBase(App[int]):
    # The screen gets class -short under SHORT_SCREEN rows (80x24 over SSH): the CSS
    # then gives the tree and the detail pane the rows the bottom panels would take.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (SHORT_SCREEN, "-tall")]

    def __init__(self, loops: Iterable[PollLoop], config: Config | None = None,
                 actor: Actor | None = None, ascii: bool = False,
                 audit: AuditLog | None = None, read_only: bool = False) -> None:
        super().__init__()
        self.loops: dict[str, PollLoop] = {loop.backend.name: loop for loop in loops}
        # Set when the console closes: work on threads (a bulk action) starts nothing more.
        self.closing = threading.Event()
        # The items of each bulk action still running or queued (summary task id ->
        # count): a quit asks first while any are left (`VMConsoleApp.action_quit`).
        self.unfinished: dict[str, int] = {}
        for loop in self.loops.values():
            # The tree relabels what its labels show; a poller made without the key
            # (a test's, the fork server's) would mark every change as a relabel.
            if loop.poller.label_key is None:
                loop.poller.label_key = label_key
        self.config = config or Config()
        self.actor = actor or Actor.local()
        self.symbols = ASCII if ascii else UNICODE
        self._ascii_frame = [AsciiFrame()] if ascii else []
        self.set_class(ascii, "-ascii")  # app.tcss: what ASCII mode lays out otherwise
        self.latest: dict[str, PollResult] = {}
        self.audit = audit or AuditLog()
        self.operations = Operations(self.actor, self.audit, self._backend, read_only,
                                     self._watch_task)
        # Keys typed in the burst that opens a form or a screen, kept for it
        # (`ui.typeahead`).
        self.key_order = KeyOrder(self)
        self.typeahead = Typeahead(order=self.key_order)
        self._screens = 1  # screens on the stack when last shown: one more is a push
        # On a short screen, the bottom panels each one hid when it showed (panel id ->
        # ids): they come back when it hides, as the panels "take turns" (`show_panel`).
        self._gave_way: dict[str, list[str]] = {}

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Textual's filters of every rendered line; in ASCII mode, then its frame in
        ASCII (`ui.ascii_frame`)."""
        return [*super().get_line_filters(), *self._ascii_frame]

    def get_key_display(self, binding: Binding) -> str:
        """A key as the footer and the help write it: Textual's way, and in ASCII mode
        the keys it writes as arrows or symbols (`↑`, `⏎`) by their names (`up`, `enter`)."""
        shown = super().get_key_display(binding)
        return ascii_key(shown) if self.symbols.ascii else shown

    def on_mount(self) -> None:
        self.screen_change_signal.subscribe(self, self._screen_changed, immediate=True)

    def _screen_changed(self, screen: Screen) -> None:
        pushed = len(self.screen_stack) > self._screens
        self._screens = len(self.screen_stack)
        self.key_order.screen_changed()
        screen_opened(self, screen, pushed)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.Paste) and not self.screen_stack:
            # Textual removes the screens when it shuts down; a key still on its way
            # (queued, or bubbling up from a widget) has nothing left to act on.
            return
        if isinstance(event, events.Key | events.Paste) and not event.is_forwarded:
            if not self.key_order.holds(event):  # a key of a burst waits (`ui.key_order`)
                await self._hand_on(event)
            return
        await self._take(event)

    async def on_key_took_effect(self, _: KeyTookEffect) -> None:
        """The key before has taken effect: the next of the burst goes on."""
        if (event := self.key_order.next()) is not None and self.screen_stack:
            await self._hand_on(event)

    async def _hand_on(self, event: events.Key | events.Paste) -> None:
        """A key or paste from the terminal, its turn come: to the focused widget (or
        the typeahead), the next one waiting until it has taken effect."""
        if isinstance(event, events.Key) and (keys := escape_then(event, self.screen)):
            event, then = keys  # Esc and a key in one burst (`ui.alt_keys`)
            self.key_order.first([then])
        target = self.focused or self.screen
        try:
            await self._take(event)
        finally:
            self.key_order.sent(target.ancestors_with_self)

    async def _take(self, event: events.Event) -> None:
        if self.typeahead.keeps(event):
            return
        for held in self.typeahead.overdue():  # typed before this one: they act first
            await super().on_event(held)
        await super().on_event(event)

    async def on_replay_typeahead(self, _: ReplayTypeahead) -> None:
        """The form is up: the kept keys reach it as if they came now, in order, each
        once the one before has taken effect (`n web2 Enter j`: the `j` after the form's
        Enter has closed it), ahead of the keys still waiting their turn."""
        self.key_order.first(self.typeahead.take())
        if not self.key_order.busy and (event := self.key_order.next()) is not None:
            await self._hand_on(event)

    def get_default_screen(self) -> Screen:
        """The main screen, born with its breakpoint class: set later by the first
        resize, it would restyle every widget once more before the first screen
        (a fifth of a second at start, in every console of a served class)."""
        return MainScreen(id="_default",
                          classes="-short" if self.size.height < SHORT_SCREEN else "-tall")

    @cached_property
    def runner(self) -> OperationRunner:
        """Every change this console makes goes through here (`vmconsole.operations`)."""
        return OperationRunner(self, self.operations, self._task_started, self._refresh)

    def _backend(self, cluster: str) -> Backend:
        loop = self.loops.get(cluster)
        if loop is None:
            raise BackendError(f"no cluster named {cluster}")
        return loop.backend

    def _watch_task(self, cluster: str, started: AuditRecord) -> None:
        """A task's end is audited by its cluster's poll loop, which outlives any one
        console (a served session may end while its migration runs)."""
        loop = self.loops.get(cluster)
        if loop is not None:
            loop.task_ends.watch(started, self.audit)

    def _task_started(self, cluster: str, task: Task) -> None:
        self.show_task(cluster, task)
        self._refresh(cluster)

    def _refresh(self, cluster: str) -> None:
        """Poll soon, so the tree shows the change."""
        loop = self.loops.get(cluster)
        if loop is not None:
            loop.refresh_soon()

    def action_help_quit(self) -> None:
        """Ctrl+C: Textual's hint of the quit key, in plain words (its own is markup,
        which this console's notify shows as it is: "[b]ctrl+q[/b]")."""
        keys = dict.fromkeys(self.get_key_display(active.binding)
                             for active in self.active_bindings.values()
                             if active.binding.action in ("quit", "app.quit"))
        if keys:
            self.notify(f"Press {' or '.join(sorted(keys, key=len))} to quit",
                        title="Do you want to quit?")

    def exit(self, result: int | None = None, return_code: int = 0,
             message: RenderableType | None = None) -> None:
        """Textual's exit; first, tell the threads (`closing`) that the console closes:
        a quit during a bulk action left a blank terminal until every queued guest ran."""
        self.closing.set()
        super().exit(result, return_code, message)

    def _handle_exception(self, error: Exception) -> None:
        """Textual's end on an exception nothing handled (`App._handle_exception`,
        Textual pinned <9 in pyproject.toml): it prints the traceback on the terminal
        once it is given back, where a served console's goes to the student. The log,
        which the launcher names in its one line, gets it too (a tester's finding: an
        OverflowError ended the console and console.log held nothing of it)."""
        log.error("the console ended on an error", exc_info=error)
        super()._handle_exception(error)

    def panic(self, *renderables: RenderableType) -> None:
        """Textual's end on an error it reports itself: a crash of its input thread
        (its driver's handler calls this and sets no exit status, so the console ended
        with 0 and the traceback only on a terminal being restored), or an error that
        renders itself. The report goes to the log, and the console ends with exit
        status 1, which the launcher says in one line."""
        report = io.StringIO()
        for renderable in renderables:
            Console(file=report, width=100, color_system=None).print(renderable)
        log.error("the console ended on an error:\n%s", report.getvalue())
        self.exit(return_code=1)
        super().panic()  # Textual's immediate end, with nothing for the terminal

    def show_task(self, cluster: str, task: Task) -> None:
        """Show a task just started (the operations feature shows it in the task log)."""

    def show_tasks(self, cluster: str, tasks: list[Task]) -> None:
        """Show tasks just started or changed (the operations feature: the task log)."""

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Textual's notify, for text that is data: the message and title are never read
        as markup (whatever `markup` says, kept only for Textual's signature), and their
        hidden characters are made visible (`vmconsole.text.visible_lines`). Every
        notification of the console, from any screen or widget, comes through here."""
        super().notify(visible_lines(message, NOTIFY_LINE_LIMIT), severity=severity,
                       title=visible_lines(title, NOTIFY_LINE_LIMIT), timeout=timeout,
                       markup=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one handler of failed background work (the App's own workers, and those
        of screens and widgets, forwarded by `ForwardsWorkerErrors`): a notification in
        the backend's words, literal, and the traceback in the log."""
        error = reported_failure(event)
        if error is None:
            return
        worker = event.worker
        what = worker.name or worker.group
        log.error("background work %r (%s) failed", what, worker.description,
                  exc_info=error)
        self.notify(failure_text(error), title=visible(f"{what}: failed"),
                    severity="error", timeout=10, markup=False)

    def show_panel(self, panel: Widget, show: bool | None = None) -> None:
        """Show, hide or (None) toggle a bottom panel. On a short terminal (80x24 over
        SSH) only one bottom panel shows at a time, or the tree is left a few rows: the
        panels it hid come back when it hides. Focus inside a panel that hides goes to
        the tree, or the next keys would reach no pane."""
        visible = not panel.has_class("visible") if show is None else show
        panel.set_class(visible, "visible")
        key = panel.id or ""
        for hid in self._gave_way.values():
            if key in hid:
                hid.remove(key)  # shown, or hidden on purpose: no longer waiting
        hidden = [] if visible else [panel]
        if visible:
            if self.size.height < SHORT_SCREEN:
                hidden += [other for other in self.query(".bottom-panel")
                           if other is not panel and other.has_class("visible")]
                for other in hidden:
                    other.remove_class("visible")
            # Shown again while it shows (a second operation's task log), what it hid
            # the first time still waits for it to hide.
            self._gave_way[key] = [*self._gave_way.get(key, []),
                                   *(other.id for other in hidden if other.id)]
        else:
            for other_id in self._gave_way.pop(key, []):  # the screen may be taller now
                self.query_one(f"#{other_id}").add_class("visible")
        self.focus_tree_from(hidden)

    def focus_tree_from(self, hidden: Iterable[Widget]) -> None:
        """Give the tree the focus when it is in one of the panes that just hid: Textual
        leaves a hidden widget's focus to no one, and the next keys reach no pane."""
        focused = self.focused
        if focused is not None and any(pane is focused or pane in focused.ancestors
                                       for pane in hidden):
            tree = self.query_one_optional(ClusterTree)
            if tree is not None:
                tree.focus()

    def task_measurement(self, cluster: str, task: Task) -> str | None:
        """What the ping monitor measured while TASK ran, from its start to a little
        after its end ("downtime 187 ms, 12 probes lost"), or None when it did not watch
        it. The ping feature overrides this."""
        return None

    @cached_property
    def maintenance_record(self) -> MaintenanceRecord:
        """The nodes this console's user put into maintenance (`vmconsole.maintenance`)."""
        return MaintenanceRecord()

    def maintenance_nodes(self, cluster: str) -> frozenset[str]:
        """The cluster's nodes in maintenance: as its HA manager says (last poll), or as
        the console's record holds. They take no new guests."""
        result = self.latest.get(cluster)
        nodes = result.inventory.nodes if result and result.inventory else ()
        from vmconsole.placement import in_maintenance  # asked only by an action's plan

        marked = self.maintenance_record.nodes(cluster)
        return frozenset(n.name for n in nodes if in_maintenance(n, marked)) | marked

    def show_maintenance(self, cluster: str) -> None:
        """Relabel the cluster's nodes after the console's record changed."""
        for tree in self.query(ClusterTree):
            tree.set_maintenance(cluster, self.maintenance_record.nodes(cluster))

    @property
    def selected(self) -> TreeRef | None:
        # query_one is cached by Textual, where a query walks every widget (0.3 ms):
        # this runs for several bindings' check_action at every key and poll.
        tree = self.query_one_optional(ClusterTree)  # none while the console is closing
        return tree.selected_ref() if tree is not None else None
