"""The frame of a guest's panel whose changes run as tasks (the snapshot and backup
panels): a list on top, a line with the guest's running task, a line describing the
chosen item, and the panel's keys. It starts each change through its opener, remembers
the tasks started here, and reloads the list once a poll shows one of them ended."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from vmconsole.backends.base import Task
from vmconsole.model import Guest
from vmconsole.text import visible
from vmconsole.ui.key_hints import hint_line
from vmconsole.ui.labels import guest_title
from vmconsole.ui.modals.help_key import ModalWithHelp
from vmconsole.ui.typeahead import held_for
from vmconsole.ui.worker_errors import ForwardsWorkerErrors

#: How often the panel looks at the polled tasks (seconds).
REFRESH_SECONDS = 0.5


class TaskPanel(ForwardsWorkerErrors, ModalWithHelp[None]):
    """Subclasses give `WHAT` (the title's word), `PREFIX` (of the widget ids:
    `#{PREFIX}-busy`, `-info`, `-keys`), `GROUP` (of the workers that read the list),
    `KEYS_HINT`, the list widget (`list_widget`) and `reload()`; `may_change` (the
    console's role and mode allow changes) decides the keys shown."""

    DEFAULT_CSS = """
    TaskPanel { align: center middle; }
    TaskPanel > Vertical {
        width: 100%; max-width: 110; height: 100%; max-height: 30;
        border: round $primary; border-title-color: $text; background: $surface;
        padding: 0 1;
    }
    TaskPanel .panel-list { height: 1fr; }
    TaskPanel .panel-info { height: auto; color: $text-muted; }
    TaskPanel .panel-busy { height: auto; color: $warning; }
    TaskPanel .panel-keys { height: 1; color: $text-muted; }
    """
    # vi's keys move in the list as they do in the cluster tree (Tree and DataTable both
    # have the cursor actions)
    BINDINGS = [
        Binding("j", "list_cursor('down')", "Down", show=False, id="panel.down"),
        Binding("k", "list_cursor('up')", "Up", show=False, id="panel.up"),
    ]
    WHAT: ClassVar[str]
    PREFIX: ClassVar[str]
    GROUP: ClassVar[str]
    # The hint line: (binding id, what it does), its keys read from the keymap; the last
    # is the close key, the only one shown to a console that may not change anything.
    KEYS_HINT: ClassVar[tuple[tuple[str, str], ...]]
    INFO_AT_START = ""

    def __init__(self, guest: Guest, may_change: bool,
                 polled_tasks: Callable[[], Sequence[Task]]) -> None:
        super().__init__()
        self.guest = guest
        self._may_change = may_change
        self._polled_tasks = polled_tasks  # the cluster's tasks as last polled
        self._waiting: set[str] = set()  # ids of tasks started here, not yet seen ended

    def list_widget(self) -> Widget:
        """The panel's list (a tree, a table), made once in compose."""
        raise NotImplementedError

    async def reload(self) -> None:
        """Read the list again through the opener and show it."""
        raise NotImplementedError

    def busy_text(self, task: Task) -> str:
        """The line for the guest's running task."""
        done = f" {task.progress:.0%}" if task.progress is not None else ""
        return f"running: {visible(task.operation)}{done} ({visible(task.id)})"

    def compose(self) -> ComposeResult:
        with Vertical() as frame:
            frame.border_title = Content(f"{self.WHAT} of {guest_title(self.guest)}")
            listing = self.list_widget()
            listing.add_class("panel-list")
            yield listing
            yield Static("", id=f"{self.PREFIX}-busy", classes="panel-busy", markup=False)
            yield Static(self.INFO_AT_START, id=f"{self.PREFIX}-info", classes="panel-info",
                         markup=False)
            yield Static("", id=f"{self.PREFIX}-keys", classes="panel-keys", markup=False)

    def on_mount(self) -> None:
        self.query_one(".panel-list").focus()
        # A viewer or a read-only console is not offered what it would be refused.
        hints = self.KEYS_HINT if self._may_change else self.KEYS_HINT[-1:]
        self.query_one(f"#{self.PREFIX}-keys", Static).update(hint_line(self, hints))
        self.reload_soon()
        self.set_interval(REFRESH_SECONDS, self._follow)

    def action_list_cursor(self, way: str) -> None:
        """Move the list's cursor one row `way` ("down" or "up")."""
        getattr(self.query_one(".panel-list"), f"action_cursor_{way}")()

    def reload_soon(self) -> None:
        self.run_worker(self.reload(), group=self.GROUP, exclusive=True,
                        exit_on_error=False, name=self.WHAT)

    def _follow(self) -> None:
        """Show what runs on this guest; reload once a task started here has ended."""
        tasks = {t.id: t for t in self._polled_tasks()}
        running = [t for t in tasks.values() if t.target == self.guest.id and not t.status.done]
        busy = self.busy_text(running[-1]) if running else ""
        self.query_one(f"#{self.PREFIX}-busy", Static).update(Text(busy))
        ended = {i for i in self._waiting if i in tasks and tasks[i].status.done}
        if ended:
            self._waiting -= ended
            self.reload_soon()

    def start(self, started: Awaitable[Task | None]) -> None:
        """Run a change the opener starts (asking, then the task); follow its task.

        The keys typed in the same burst as the panel's key are for the screen the
        change opens (`ui.typeahead`), as for a guest's flow from the main screen: `n
        snapc Tab desc` went to the panel, where `c` clones, and the snapshot form
        opened empty. A form takes them, a question drops them, and so does a change
        that ends with no screen (refused, or its first read failed)."""
        self.run_worker(self._after(held_for(self.app, started)), group=f"{self.GROUP}-op",
                        exclusive=True, exit_on_error=False, name=self.WHAT)

    async def _after(self, started: Awaitable[Task | None]) -> None:
        task = await started
        if task is not None:
            self._waiting.add(task.id)
            await self.reload()
