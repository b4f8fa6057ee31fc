"""The console: the cluster tree, the detail pane and the task log, fed by poll loops."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import cached_property

from textual import events, on
from textual.actions import parse
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Header, Tree

from vmconsole.actor import Actor
from vmconsole.audit import AuditLog
from vmconsole.config import Config
from vmconsole.monitor.poller import PollLoop, PollResult
from vmconsole.paths import console_log_path
from vmconsole.text import visible, visible_lines
from vmconsole.ui.base_app import MainScreen
from vmconsole.ui.bulk_features import BulkFeatures
from vmconsole.ui.cluster_summary import Reach
from vmconsole.ui.input_first import WaitingPolls
from vmconsole.ui.messages import ClusterPolled
from vmconsole.ui.navigation import NavigationFeatures
from vmconsole.ui.pinging import PingFeatures
from vmconsole.ui.rebalance import RebalanceFeatures
from vmconsole.ui.table_fit import cut
from vmconsole.ui.teaching import TeachingFeatures
from vmconsole.ui.themes import DEFAULT_THEME, load_themes
from vmconsole.ui.widgets.cluster_tree import ClusterTree
from vmconsole.ui.widgets.detail_pane import DetailPane
from vmconsole.ui.widgets.key_footer import KeyFooter
from vmconsole.ui.widgets.task_slot import TaskSlot
from vmconsole.ui.widgets.teaching_panel import TeachingPanel

# The app's keys that act over any screen: quit, `?`, and Tab (which screens use too).
# Every other key of the app acts on the main screen's tree and panels.
ACTIONS_ANYWHERE = frozenset({"quit", "help", "focus_next", "focus_previous"})

#: The longest user name the header shows whole (terminal cells: a wide character such
#: as 名 takes two). Textual's Header leaves 62 of 80 columns to "vmconsole — user
#: (operator, read-only)"; a longer name is cut with an ellipsis so that its role,
#: which says what the user may do, always shows.
HEADER_USER_LIMIT = 24
#: Seconds from a key's cursor move to the detail pane's facts of the row it moved to.
#: The moved cursor is a frame of its own (two lines: 0.5 KB at 120x40, against 6 KB
#: for a guest's facts), and it leaves first: work started right after a frame held
#: its bytes back (Textual's writer thread waits for the interpreter: p95 5 ms in a
#: trace at 10,000 guests) and, on a 2-core machine, took the core the terminal (tmux,
#: sshd) needed to show them. About a frame at 120 a second: in tmux, 150 presses in
#: turns, the cursor showed after 12.6 ms against 14.0 ms at once (bare app 10.2), and
#: the facts after 32.3 ms against 32.2 (20 ms here: 44.5). A held key's repeats
#: (25-30 a second) still show each row's facts; a faster burst, those of its last row.
FACTS_AFTER_S = 0.008

log = logging.getLogger(__name__)
THEME_TOASTS = 2  # theme files skipped that get a toast each; more get one toast

class VMConsoleApp(NavigationFeatures, BulkFeatures, PingFeatures, TeachingFeatures,
                   RebalanceFeatures):
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
        # Tab itself is the screen's; these name it for `?` and [keys].
        Binding("tab", "focus_next", "Next pane: tree, detail, task log, ping, events",
                show=False, id="app.next_pane"),
        Binding("shift+tab", "focus_previous", "Previous pane", show=False,
                id="app.previous_pane"),
    ]

    def __init__(self, loops: Iterable[PollLoop], config: Config | None = None,
                 actor: Actor | None = None, theme: str | None = None,
                 ascii: bool = False, audit: AuditLog | None = None,
                 read_only: bool = False) -> None:
        super().__init__(loops, config, actor, ascii, audit, read_only)
        self._unsubscribe: list[object] = []
        self._waiting_polls = WaitingPolls()  # polls kept while keys go first
        # The theme is chosen before the first screen. Set in on_mount, it made Textual
        # parse and apply the whole stylesheet a second time, and the tree was first
        # styled with textual-dark's variables, not yet replaced by the theme's.
        requested = theme or self.config.theme or DEFAULT_THEME
        loaded = load_themes()
        for found in loaded.themes:
            self.register_theme(found)
        self._theme_problems = loaded.problems
        self._theme_missing: str | None = None
        if requested not in self.available_themes:
            self._theme_missing = f"no theme '{requested}': using {DEFAULT_THEME}"
            requested = DEFAULT_THEME
        self.theme = requested
        # Textual parses the stylesheet at start with the variables it was made with
        # (textual-dark's), and the theme's watcher queues a refresh_css that parses it
        # all again with the theme's. Given the theme's variables now, the first parse
        # is the right one and that refresh has nothing to do (`refresh_css`).
        self._css_variables_set = self.get_css_variables()
        self.stylesheet.set_variables(self._css_variables_set)

    # The CSS variables set in __init__, until the first refresh_css.
    _css_variables_set: dict[str, str] | None = None

    def refresh_css(self, animate: bool = True) -> None:
        """Textual's, but the first call, the one the theme chosen in `__init__` queued,
        is skipped while the variables are still those set there: nothing was parsed
        or styled with others (a second parse of the whole stylesheet at start)."""
        variables, self._css_variables_set = self._css_variables_set, None
        if variables is None or variables != self.get_css_variables():
            super().refresh_css(animate)

    # --- composition ------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # Textual's icon (`⭘`, which opens the palette) is `=` in ASCII mode.
        yield Header(icon="=" if self.symbols.ascii else None)
        with Horizontal(id="main"):
            with Vertical(id="left") as left:
                left.border_title = "clusters"
                # The filter box (#filter) is made by the first `/` (action_filter).
                yield ClusterTree(self.symbols, id="tree")
            with Vertical(id="right"):
                yield DetailPane(self.symbols, id="detail")
                # the ping panel (#ping) is made when first shown (`ping_panel`)
        teaching = TeachingPanel(id="teaching", classes="bottom-panel" + (
            " visible" if self.teachable() else ""))
        teaching.border_title = "events"
        yield teaching
        # the log: made when first shown
        tasks = TaskSlot(self.symbols, id="tasks", classes="bottom-panel")
        tasks.border_title = "tasks"
        yield tasks
        yield KeyFooter()

    def on_mount(self) -> None:
        self.show_actor()
        self._apply_keymap()
        self._report_theme_problems()
        self._report_config_notices()
        # The tree takes the focus by itself (MainScreen.AUTO_FOCUS): a focus() here
        # would rebuild the footer once more before the first screen.
        tree = self.query_one(ClusterTree)
        tree.restyle(self.theme_variables)
        tree.expect(self.loops)
        for loop in self.loops.values():
            self._unsubscribe.append(loop.subscribe(self._from_poll_thread))

    def _report_theme_problems(self) -> None:
        """Each theme file skipped, and a theme asked for that is not there, goes to the
        log (console.log, `launch.log_to_file`). The local console also shows them as
        toasts, up to THEME_TOASTS files one each and more as one toast that counts them
        and names the log: 14 toasts, one a file, were 3 on screen and gone in seconds. A
        served console shows none: the server's files and paths are its admin's, not
        every student's."""
        problems = self._theme_problems
        for problem in problems:
            log.warning("theme file skipped: %s", visible_lines(problem))
        if self._theme_missing:
            log.warning("theme: %s", visible_lines(self._theme_missing))
        if self.actor.source != "local":
            return
        shown = problems if len(problems) <= THEME_TOASTS else [
            f"{len(problems)} theme files skipped: see {console_log_path()}"]
        if self._theme_missing:
            shown = [*shown, self._theme_missing]
        for message in shown:
            self.notify(visible_lines(message), title="Theme", severity="warning",
                        timeout=8, markup=False)

    def _report_config_notices(self) -> None:
        """What the config's reading found to say (`Config.notices`): a line of the log
        each, and in the local console a toast each (a served console's config is its
        admin's, as its theme files)."""
        for notice in self.config.notices:
            log.warning("config: %s", visible_lines(notice))
            if self.actor.source == "local":
                self.notify(visible_lines(notice), title="Config", severity="warning",
                            timeout=12, markup=False)

    def show_actor(self) -> None:
        """The header's `user (role)`: at start, and again when a served console drawn
        before its user logged in is handed to that user (serve/worker.py)."""
        # The user name comes from an SSH client: made visible (the header shows it plain),
        # and cut short enough that the role after it still fits an 80-column header.
        mode = ", read-only" if self.operations.read_only else ""
        user = cut(visible(self.actor.user, None), HEADER_USER_LIMIT, self.symbols.cut)
        self.sub_title = f"{user.plain} ({self.actor.role}{mode})"

    def _apply_keymap(self) -> None:
        if not self.config.keys:
            return  # nothing remapped: the bindings' classes need not even be imported
        from vmconsole.ui.help_places import binding_contexts, key_scopes  # when remapped
        from vmconsole.ui.keymap import settle_keymap

        known = {b.id for _, bindings in binding_contexts(type(self)) for b in bindings}
        unknown = sorted(set(self.config.keys) - known)
        where = f"{visible(self.config.path)}: " if self.config.path else ""
        if unknown:  # the ids live here, in the UI: the config checks only the key names
            ids = ", ".join(f"'{visible(k)}'" for k in unknown)
            self.notify(f"{where}[keys]: no binding with the id {ids} (ignored; `?` "
                        "lists every id)", title="Keys", severity="warning", timeout=8,
                        markup=False)
        keymap, clashes = settle_keymap(key_scopes(type(self), ACTIONS_ANYWHERE), {
            k: v for k, v in self.config.keys.items() if k in known})
        for clash in clashes:
            self.notify(clash.said(self.config), title="Keys", severity="warning",
                        timeout=12, markup=False)
        self.set_keymap(keymap)

    @cached_property
    def _main_screen_actions(self) -> frozenset[str]:
        """The actions of the app's own keys (those with an id) that act on the main
        screen: "ping", "toggle_teaching", "guest"..."""
        return frozenset(parse(b.action)[1] for bindings in
                         type(self)._merge_bindings().key_to_bindings.values()
                         for b in bindings if b.id) - ACTIONS_ANYWHERE

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Textual asks before a key acts and before the footer lists it. Over another
        screen (audit, rules, a form) the app's keys still reach the app: `w` or `e`
        there pinged or hid a panel behind it, unseen. They are off (and unlisted) there."""
        if action in self._main_screen_actions and not isinstance(self.screen, MainScreen):
            return False
        return super().check_action(action, parameters)

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
        self._waiting_polls.add(message.result)
        self._apply_polls()

    def _apply_polls(self) -> None:
        """Apply every poll result that waits, unless input is queued: keys first
        (`ui.input_first`)."""
        waiting = self._waiting_polls
        # Closing: its screens go once Textual shuts down, also when no quit said so (a
        # lost terminal, a test's run_test), and a poll may still come.
        if self.closing.is_set() or not self.screen_stack:
            waiting.take()
            return
        if waiting.must_wait(self, self._apply_polls):
            return
        # the default screen's (query_one is cached, a query walks every widget)
        tree, tasks = self.query_one_optional(ClusterTree), self.query_one_optional(TaskSlot)
        if tree is None or tasks is None:
            waiting.take()
            return  # the console is closing: its widgets go one by one
        show = False
        for result in waiting.take():
            self.latest[result.cluster] = result
            tree.apply(result)
            if result.inventory is not None:
                tasks.update_tasks(result.cluster, result.tasks, result.inventory.taken_at)
            self.teaching_on_poll(result)
            self.ping_on_poll(result)
            ref = self.selected
            show = show or (ref is not None and ref.cluster == result.cluster and (
                result.diff is None or ref.is_cluster or ref.is_container or ref.is_storage
                or ref.object_id in result.diff.changed
                or result.diff.cluster_changed or ref.object_id in result.diff.removed))
        if show:  # once for every result applied: the pane and charts draw the latest
            self._show_selection()

    # --- selection ----------------------------------------------------------------------

    _facts_timer: Timer | None = None

    @on(Tree.NodeHighlighted)
    def _highlighted(self) -> None:
        if self._facts_timer is not None:
            self._facts_timer.stop()
            self._facts_timer = None
        if self.key_order.busy:  # a key moved the cursor: its frame first
            self._facts_timer = self.set_timer(FACTS_AFTER_S, self._show_highlighted)
        else:  # a jump to a row (the palette, a filter's match, a test)
            self._show_selection()
        self.addresses_on_select()

    def _show_highlighted(self) -> None:
        self._facts_timer = None
        self._show_selection()

    @property
    def facts_due(self) -> bool:
        """Whether the cursor has moved and the detail pane is yet to show its row
        (`FACTS_AFTER_S`)."""
        return self._facts_timer is not None

    def _show_selection(self) -> None:
        detail = self.query_one_optional(DetailPane)  # cached; a query walks every widget
        if detail is None:
            return  # the console is closing
        ref = self.selected
        if ref is None:
            detail.show(None, None, None, [])
            return
        result = self.latest.get(ref.cluster)
        loop = self.loops.get(ref.cluster)
        samples = (loop.poller.samples(ref.object_id)
                   if loop and (ref.is_node or ref.is_guest) else [])
        reach = None if loop is None else Reach(
            loop.backend.address, result.error if result else None,
            result.failing_since if result else None, result.next_try if result else None)
        detail.show(ref, result.inventory if result else None, reach, samples)

    # --- actions ------------------------------------------------------------------------

    async def action_quit(self) -> None:
        """`q`: quit; while tasks of this console's bulk actions still run or wait their
        turn, ask first (No by default): the queued ones would never start."""
        left = sum(self.unfinished.values())
        if not left:
            self.exit()
            return
        if self.screen.id == "quit-confirm":
            return  # asked already
        from vmconsole.ui.modals.confirm import ConfirmScreen  # loaded when asked

        tasks = "1 task" if left == 1 else f"{left} tasks"
        question = ConfirmScreen(
            "Quit", f"{tasks} still running or queued; quit anyway?",
            "The queued ones will not start; those running go on without the console.",
            yes_label="Quit")
        question.id = "quit-confirm"
        self.push_screen(question, lambda yes: self.exit() if yes else None)

    def action_toggle_tasks(self) -> None:
        tasks = self.query_one(TaskSlot)
        tasks.task_log()
        self.show_panel(tasks)

    def action_refresh(self) -> None:
        for loop in self.loops.values():
            loop.refresh_soon()

    def action_help(self) -> None:
        from vmconsole.ui.help_places import help_rows  # loaded when used
        from vmconsole.ui.screens.help import HelpScreen

        self.push_screen(HelpScreen(help_rows(self)))

    def action_audit(self) -> None:
        ref = self.selected  # on a guest: that guest's records
        guest = ref.object_id if ref and ref.is_guest else ""
        from vmconsole.ui.screens.audit import AuditScreen  # loaded when used

        self.push_screen(AuditScreen(self.audit, target=guest))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette's commands, each title once: where Textual offers one of its own
        under a title the console uses ("Keys", its key panel), the console's wins; a
        served console offers no "Screenshot"."""
        by_title: dict[str, SystemCommand] = {}
        for command in (*super().get_system_commands(screen), *self._own_commands()):
            by_title[command.title] = command
        if self.actor.source != "local":
            # Textual saves a screenshot where the app runs: a served console's would go
            # on the server, which refuses it (serve/driver.py), so it is not offered
            by_title.pop("Screenshot", None)
        return by_title.values()

    def on_delivery_complete(self, event: events.DeliveryComplete) -> None:
        """The palette's screenshot is saved: where, the path shown as it is (Textual's
        own notice reads it as markup, which the console's notices never are)."""
        if event.name == "screenshot":
            event.prevent_default()
            self.notify(f"Saved screenshot to {event.path}" if event.path else
                        "Saved screenshot", title="Screenshot")

    def on_delivery_failed(self, event: events.DeliveryFailed) -> None:
        """The screenshot could not be saved (no ~/Downloads, a full disk): why, in the
        notice and the log; Textual's own notice says only that it failed."""
        if event.name == "screenshot":
            event.prevent_default()
            log.error("screenshot not saved: %s", event.exception)
            self.notify(f"Failed to save screenshot: {event.exception}", title="Screenshot",
                        severity="error", timeout=10)

    def _own_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("Filter the tree", "Show only guests matching a name, id or tag",
                            self.action_filter)
        yield SystemCommand("Toggle the task log", "Show or hide running and recent tasks",
                            self.action_toggle_tasks)
        yield SystemCommand("Refresh now", "Poll every cluster at once", self.action_refresh)
        yield SystemCommand("Keys", "Every key and its id for remapping", self.action_help)
        yield SystemCommand("Audit log", "Every operation of every session, by user and "
                            "target", self.action_audit)
