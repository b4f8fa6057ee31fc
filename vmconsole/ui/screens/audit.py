"""The audit log inside the console: every operation of every session, filtered by user
and target, growing as operations happen (read from the file, so operations from other
consoles and other servers show too)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from vmconsole.audit import AuditChunk, AuditLog, AuditRecord, matches, skipped_text
from vmconsole.text import visible
from vmconsole.ui.modals.dialog import Dialog
from vmconsole.ui.modals.moving_keys import SIDEWAYS, ScrolledText
from vmconsole.ui.typeahead import typed_into
from vmconsole.ui.widgets.key_footer import KeyFooter
from vmconsole.ui.widgets.plain_input import PlainInput
from vmconsole.ui.worker_errors import ForwardsWorkerErrors
from vmconsole.wallclock import date_time

# What was done to what, and how it ended, first: at 80 columns the later ones are
# reached by scrolling sideways (left/right).
COLUMNS = ("Time", "User", "Target", "Operation", "Result", "Role", "Source", "Cluster",
           "Task")
REREAD_SECONDS = 1.0
# The newest records kept on screen (`vmconsole audit` prints them all): a filter change
# re-adds the table's rows, ~0.1 ms each.
MAX_RECORDS = 1000
# The longest field shown whole in the table (Enter shows the record whole): at 80
# columns the time and a user and a target of this length leave the operation and the
# start of its result on screen, as a 5,000-character target did not.
CELL_LIMIT = 16


class RecordTable(DataTable[Text]):
    """The records, one a row; the key line says that Enter shows one whole and that
    ←→ reach the columns past the screen's edge (Textual's keys, shown)."""

    BINDINGS = [Binding("left", "cursor_left", "Columns", group=SIDEWAYS),
                Binding("right", "cursor_right", "Columns", group=SIDEWAYS),
                Binding("enter", "select_cursor", "Record")]


class RecordFilter(PlainInput):
    """A filter box of the audit screen. Enter goes back to the records (`Submitted`)
    and says so on the key line, as the tree's filter box does; Input's own Enter is
    hidden there, and the key line showed only Esc."""

    BINDINGS = [Binding("enter", "submit", "Back to the records")]


class AuditScreen(ForwardsWorkerErrors, Screen[None]):
    DEFAULT_CSS = """
    AuditScreen #audit-filters { height: 3; }
    AuditScreen #audit-filters Input { width: 1fr; }
    AuditScreen #audit-title { height: 1; padding: 0 1; background: $panel; }
    AuditScreen #audit-skipped { height: auto; padding: 0 1; color: $warning; }
    AuditScreen DataTable { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="audit.close"),
        Binding("slash", "focus_filter", "Filter", id="audit.filter"),
    ]

    def __init__(self, log: AuditLog, user: str = "", target: str = "") -> None:
        super().__init__()
        self.audit_log = log
        self._records: list[AuditRecord] = []
        self._offset = -1  # nothing read yet
        self._line = 0  # lines before the offset
        self._skipped: list[int] = []  # the numbers of the lines that are not records
        self._initial = (user, target)
        self._rows: list[AuditRecord] = []  # the record shown on each row of the table

    def compose(self) -> ComposeResult:
        yield Static(Text(f"Audit log: {visible(self.audit_log.path, limit=None)}"),
                     id="audit-title")
        yield Static(id="audit-skipped").set_styles("display: none;")
        with Horizontal(id="audit-filters"):
            yield RecordFilter(self._initial[0], placeholder="user", id="audit-user")
            yield RecordFilter(self._initial[1], placeholder="target (qemu/100 or 100)",
                               id="audit-target")
        yield RecordTable(cursor_type="row", zebra_stripes=True, id="audit-table")
        # Compact: in ASCII mode (`left right Columns`, `enter Record`) the wide key line
        # ran past 80 columns: `q Quit` was cut under the palette's key.
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for name in COLUMNS:
            table.add_column(name, key=name)
        table.focus()
        self._reread()

    @work(thread=True, exclusive=True, group="audit", exit_on_error=False,
          name="Reading the audit log")
    def _reread(self) -> None:
        chunk = self.audit_log.read_chunk(max(self._offset, 0), self._line)
        self.app.call_from_thread(self._arrived, chunk)

    def _arrived(self, chunk: AuditChunk) -> None:
        if not self.is_attached:  # closed while the file was being read
            return
        records = chunk.records
        first = self._offset < 0
        replaced = chunk.offset < self._offset  # the file was replaced: start over
        self._offset, self._line = chunk.offset, chunk.line
        if first or replaced or chunk.skipped:
            self._skipped = ([] if first or replaced else self._skipped) + chunk.skipped
            self._say_skipped()
        if first or replaced:
            self._records = records[-MAX_RECORDS:]
            self._show()
        elif records:
            overflow = len(self._records) + len(records) > MAX_RECORDS
            self._records = (self._records + records)[-MAX_RECORDS:]
            if overflow:
                self._show()
            else:
                self._append(records)
        self.set_timer(REREAD_SECONDS, self._reread)

    def _say_skipped(self) -> None:
        """One line for all the lines that are not records (`vmconsole audit` says it
        on stderr), hidden while there are none."""
        line = self.query_one("#audit-skipped", Static)
        line.update(Text(skipped_text(self._skipped, "the log") if self._skipped else ""))
        line.display = bool(self._skipped)

    @property
    def filters(self) -> tuple[str, str]:
        return (self.query_one("#audit-user", Input).value.strip(),
                self.query_one("#audit-target", Input).value.strip())

    @on(Input.Changed)
    def _filter_changed(self) -> None:
        self._show()

    @on(DataTable.RowSelected)
    def _open_record(self, event: DataTable.RowSelected) -> None:
        """Enter on a row: the record whole, however wide its fields."""
        self.app.push_screen(AuditRecordScreen(self._rows[event.cursor_row]))

    @on(Input.Submitted)
    def _filter_done(self) -> None:
        self.query_one(DataTable).focus()

    def action_focus_filter(self) -> None:
        typed_into(self.app, self.query_one("#audit-user", Input))  # `/alice` in one burst

    def action_back(self) -> None:
        """Esc: out of a filter box to the records (the filter stays), as the tree's
        filter box is left; from the records, back to the console."""
        if isinstance(self.focused, Input):
            self.query_one(DataTable).focus()
        else:
            self.app.pop_screen()

    def _show(self) -> None:
        """Fill the table anew with the records that pass the filters."""
        self.query_one(DataTable).clear()
        self._rows = []
        self._append(self._records)

    def _append(self, records: list[AuditRecord]) -> None:
        user, target = self.filters
        table: DataTable[Text] = self.query_one(DataTable)
        with self.app.batch_update():
            for record in records:
                if matches(record, user, target):
                    table.add_row(*_cells(record))
                    self._rows.append(record)
            if table.row_count:
                table.move_cursor(row=table.row_count - 1)
        shown = sum(1 for r in self._records if matches(r, user, target))
        self.query_one("#audit-title", Static).update(Text(
            f"Audit log: {shown} of {len(self._records)} records "
            f"({visible(self.audit_log.path, limit=None)})"))


class AuditRecordScreen(Dialog[None]):
    """One audit record with every field, its parameters too (secrets are starred when
    the record is written)."""

    DEFAULT_CSS = """
    AuditRecordScreen { align: center middle; }
    AuditRecordScreen > ScrolledText {
        width: 90%; max-width: 110; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    """
    BINDINGS = [Binding("escape,q,enter", "dismiss", "Close", id="audit.record.close")]

    def __init__(self, record: AuditRecord) -> None:
        super().__init__()
        self.record = record

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        # A parameter's name is the record's data too: a long one is cut, so that it
        # never squeezes the values off the screen.
        table.add_column(style="bold", no_wrap=True, max_width=24, overflow="ellipsis")
        # A value is shown whole: one with no space to wrap at (a UPID, a long token) is
        # folded over lines, as a column's default would end it with an ellipsis.
        table.add_column(overflow="fold")
        for name, cell in zip(COLUMNS, _cells(self.record, limit=None), strict=True):
            table.add_row(name, cell)
        for key, value in self.record.parameters.items():
            table.add_row(Text(visible(key)), Text(visible(value, limit=None)))
        with ScrolledText() as frame:
            frame.border_title = "Audit record"
            yield Static(table)


def _cells(record: AuditRecord, limit: int | None = CELL_LIMIT) -> tuple[Text, ...]:
    # Text, not str: a DataTable reads a str as markup, and a result may hold a "[".
    # Every field made visible and cut: one record must not forge or hide another.
    when = date_time(record.time)
    return (Text(when), *(Text(visible(value, limit)) for value in (
        record.user, record.target, record.operation, record.result, record.role,
        record.source, record.cluster, record.task_id or "")))
