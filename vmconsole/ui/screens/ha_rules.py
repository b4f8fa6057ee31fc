"""`R` in the demo: the cluster's HA rules in one list (node-affinity rules, the HA
groups of earlier releases, and resource-affinity rules) with the CRS settings below,
and the keys to create, edit and delete them and to open the CRS form."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import DataTable, Static

from vmconsole.backends.ha_config import (
    CRSView,
    HARules,
    NodeAffinityRule,
    ResourceAffinityRule,
)
from vmconsole.text import ELLIPSIS, visible
from vmconsole.ui.key_hints import hint_line
from vmconsole.ui.modals.help_key import ModalWithHelp
from vmconsole.ui.symbols import UNICODE, Symbols
from vmconsole.ui.table_fit import cut, fit_widths
from vmconsole.ui.typeahead import held_for
from vmconsole.ui.worker_errors import ForwardsWorkerErrors

KEYS_HINT = (("rules.new_node", "node rule"), ("rules.new_resource", "resource rule"),
             ("rules.edit", "edit"), ("rules.delete", "delete"), ("rules.crs", "CRS"),
             ("rules.close", "close"))
Rule = NodeAffinityRule | ResourceAffinityRule
COLUMNS = ("Rule", "Type", "Nodes / affinity", "Resources")
# The lines under the list that say what the chosen rule does (#rules-info's max-height):
# a rule over 100 nodes says more, and its last line shown ends with "…".
INFO_LINES = 5


class HARulesOps(Protocol):
    """What the screen asks its opener (`ui.ha_config_flow.HAConfigFlow`) to do; each
    change returns True once made (False: cancelled, refused or failed, and said)."""

    @property
    def may_change(self) -> bool:
        """Does this console's role and mode allow changes (else only looking)?"""
        ...

    def load(self) -> Awaitable[tuple[HARules, CRSView] | None]: ...
    def edit_node_affinity(self, rules: HARules,
                           rule: NodeAffinityRule | None) -> Awaitable[bool]: ...
    def edit_resource_affinity(self, rules: HARules,
                               rule: ResourceAffinityRule | None) -> Awaitable[bool]: ...
    def delete(self, rule: Rule, rules: HARules) -> Awaitable[bool]: ...
    def edit_crs(self, current: CRSView | None = None) -> Awaitable[bool]: ...


def _resources(guests: tuple[str, ...], rules: HARules) -> str:
    names = {ref.guest: ref.sid for ref in rules.resources}
    return ", ".join(names.get(g, visible(g)) for g in guests) or "none"


def what_text(rule: Rule) -> str:
    """The rule's kind and effect in a few words, for its row."""
    if isinstance(rule, ResourceAffinityRule):
        return "keep together" if rule.positive else "keep apart"
    if rule.positive:
        nodes = " ".join(f"{visible(n)}:{p}" if p else visible(n)
                         for n, p in sorted(rule.nodes.items(), key=lambda kv: -kv[1]))
    else:
        nodes = "not " + " ".join(map(visible, rule.nodes))
    return f"{nodes}{', strict' if rule.strict else ''}"


def _row_key(rule: Rule) -> str:
    return ("node:" if isinstance(rule, NodeAffinityRule) else "resource:") + rule.name


def rule_cells(rule: Rule, rules: HARules) -> tuple[str, str, str, str]:
    """The rule's row, whole, one string per column of COLUMNS."""
    return (visible(rule.name), "node" if isinstance(rule, NodeAffinityRule) else "resource",
            what_text(rule), _resources(rule.resources, rules))


def describe(rule: Rule, rules: HARules) -> str:
    """What the rule does, in full, for the line under the list."""
    resources = _resources(rule.resources, rules)
    if isinstance(rule, ResourceAffinityRule):
        how = ("on one node" if rule.positive else "each on a node of its own")
        return (f"{visible(rule.name)}: resource affinity, "
                f"{'positive' if rule.positive else 'negative'}: the CRM keeps {resources} "
                f"{how}.")
    nodes = ", ".join(f"{visible(n)} (priority {p})" if rule.positive else visible(n)
                      for n, p in sorted(rule.nodes.items(), key=lambda kv: -kv[1]))
    where = (f"placed on {nodes}, the highest priority first" if rule.positive
             else f"kept off {nodes}")
    one = len(rule.resources) == 1
    strict = ("strict: nowhere else, even when those nodes are down" if rule.strict else
              f"not strict: elsewhere when none of them can take {'it' if one else 'them'}")
    failback = "; no failback" if rule.nofailback else ""
    who = (f"{resources} {'is' if one else 'are'}" if rule.resources
           else "its resources (none yet) would be")
    return (f"{visible(rule.name)}: node affinity, "
            f"{'positive' if rule.positive else 'negative'}: {who} {where}; "
            f"{strict}{failback}.")


def clipped(text: Text, width: int, lines: int, console: Console, mark: str = ELLIPSIS
            ) -> Text:
    """`text` wrapped at `width` cells, at most `lines` lines of it; when more were cut
    the last one kept ends with `mark` (`Symbols.cut`; cut further if it must, to fit).
    Not laid out yet (`width` no wider than the mark): `text` as it is."""
    if width <= cell_len(mark):
        return text
    wrapped = text.wrap(console, width)
    if len(wrapped) <= lines:
        return text
    last = wrapped[lines - 1]
    last.rstrip()
    last.truncate(width - cell_len(mark))
    last.append(mark)
    return Text("\n").join(wrapped[:lines])


def crs_text(crs: CRSView) -> str:
    auto = (f"auto-rebalance on (threshold {crs.threshold:g}, hold {crs.hold} "
            f"rounds, margin {crs.margin:g})" if crs.auto_rebalance else "auto-rebalance off")
    return f"CRS: {visible(crs.mode)} scheduler, {auto}"


class HARulesScreen(ForwardsWorkerErrors, ModalWithHelp[None]):
    DEFAULT_CSS = """
    HARulesScreen { align: center middle; }
    HARulesScreen > Vertical {
        width: 100%; max-width: 110; height: 100%; max-height: 30;
        border: round $primary; border-title-color: $text; background: $surface;
        padding: 0 1;
    }
    HARulesScreen DataTable { height: 1fr; }
    HARulesScreen #rules-info { height: auto; max-height: 5; color: $text-muted; }
    HARulesScreen #rules-crs { height: auto; }
    HARulesScreen #rules-keys { height: 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape,q", "dismiss", "Close", id="rules.close"),
        Binding("n", "new_node", "New node-affinity rule (an HA group)",
                id="rules.new_node"),
        Binding("r", "new_resource", "New resource-affinity rule (together, apart)",
                id="rules.new_resource"),
        Binding("e", "edit", "Edit the chosen rule (Enter too)", id="rules.edit"),
        Binding("x,delete", "delete", "Delete the chosen rule (asks first)",
                id="rules.delete"),
        Binding("c", "crs", "CRS settings: scheduler, auto-rebalance", id="rules.crs"),
        # j and k as in the tree; the arrows are the table's own.
        Binding("j", "cursor(1)", "Next rule", show=False, id="rules.down"),
        Binding("k", "cursor(-1)", "Previous rule", show=False, id="rules.up"),
    ]

    def __init__(self, cluster: str, ops: HARulesOps, symbols: Symbols = UNICODE) -> None:
        super().__init__()
        self.cluster, self.ops = cluster, ops
        self._cut_mark = symbols.cut  # the end of a cell cut to fit
        self.rules: HARules | None = None
        self.crs: CRSView | None = None

    def compose(self) -> ComposeResult:
        with Vertical() as frame:
            frame.border_title = Content(f"HA rules of {visible(self.cluster)}")
            table: DataTable[Text | str] = DataTable(id="rules-table", cursor_type="row",
                                                     zebra_stripes=True)
            table.add_columns(*COLUMNS)  # fitted to the screen once the rules are read
            yield table
            yield Static("", id="rules-info")
            yield Static("", id="rules-crs")
            yield Static("", id="rules-keys", markup=False)

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        hints = KEYS_HINT if self.ops.may_change else KEYS_HINT[-1:]
        self.query_one("#rules-keys", Static).update(hint_line(self, hints))
        self._reload()

    def _reload(self) -> None:
        self.run_worker(self.reload(), group="rules", exclusive=True, exit_on_error=False,
                        name="HA rules")

    async def reload(self) -> None:
        loaded = await self.ops.load()
        if loaded is not None:
            self.show_rules(*loaded)

    def show_rules(self, rules: HARules, crs: CRSView) -> None:
        self.rules, self.crs = rules, crs
        self._list(self.chosen())
        self.query_one("#rules-crs", Static).update(Text(crs_text(crs)))
        self._describe()

    def _list(self, chosen: Rule | None) -> None:
        """The rules' rows, the columns fitted to the table's width (a rule over 100
        nodes wants hundreds of cells: cut, it ends with "…", and Resources stays on
        screen), the cursor kept on CHOSEN."""
        if self.rules is None:
            return
        table: DataTable[Text | str] = self.query_one(DataTable)
        listed: list[Rule] = [*self.rules.node_affinity, *self.rules.resource_affinity]
        rows = {_row_key(rule): rule_cells(rule, self.rules) for rule in listed}
        wanted = [max((cell_len(c) for c in column), default=0)
                  for column in zip(COLUMNS, *rows.values(), strict=True)]
        room = (table.size.width - table.styles.scrollbar_size_vertical
                - 2 * table.cell_padding * len(COLUMNS))
        widths = fit_widths(wanted, room) if table.size.width else wanted
        table.clear(columns=True)
        for header, width in zip(COLUMNS, widths, strict=True):
            table.add_column(header, width=width)
        for key, cells in rows.items():
            table.add_row(*(cut(c, w, self._cut_mark)
                            for c, w in zip(cells, widths, strict=True)), key=key)
        if chosen is not None and _row_key(chosen) in rows:
            table.move_cursor(row=list(rows).index(_row_key(chosen)))

    def chosen(self) -> Rule | None:
        """The rule under the cursor (None: the list is empty)."""
        if self.rules is None:
            return None
        table: DataTable[Text | str] = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value or ""
        kind, _, name = key.partition(":")
        found = self.rules.node_affinity if kind == "node" else self.rules.resource_affinity
        return next((r for r in found if r.name == name), None)

    @on(DataTable.RowHighlighted)
    def _describe(self) -> None:
        info = self.query_one("#rules-info", Static)
        rule = self.chosen()
        if self.rules is None:
            info.update(Text("reading the rules…"))
        elif rule is None:
            info.update(Text("No HA rules yet: create one with the keys below."))
        else:
            width = info.content_size.width or self.size.width
            info.update(clipped(Text(describe(rule, self.rules)), width, INFO_LINES,
                                self.app.console, self._cut_mark))

    def on_resize(self) -> None:
        # Fitted anew: another width cuts other cells and another line.
        self._list(self.chosen())
        self._describe()

    def action_cursor(self, step: int) -> None:
        table: DataTable[Text | str] = self.query_one(DataTable)
        table.move_cursor(row=table.cursor_row + step)

    # --- changes ------------------------------------------------------------------------

    def _change(self, change: Awaitable[bool]) -> None:
        # Keys typed with the one that opens a form are kept for it (`ui.typeahead`).
        kept = held_for(self.app, change)

        async def then_reload() -> None:
            if await kept:
                await self.reload()
        self.run_worker(then_reload(), group="rules-change", exclusive=True,
                        exit_on_error=False, name="HA rules")

    def action_new_node(self) -> None:
        if self.rules is not None:
            self._change(self.ops.edit_node_affinity(self.rules, None))

    def action_new_resource(self) -> None:
        if self.rules is not None:
            self._change(self.ops.edit_resource_affinity(self.rules, None))

    @on(DataTable.RowSelected)
    def action_edit(self) -> None:
        rule = self.chosen()
        if self.rules is None or rule is None:
            self.notify("choose a rule first", severity="warning")
        elif isinstance(rule, NodeAffinityRule):
            self._change(self.ops.edit_node_affinity(self.rules, rule))
        else:
            self._change(self.ops.edit_resource_affinity(self.rules, rule))

    def action_delete(self) -> None:
        rule = self.chosen()
        if self.rules is None or rule is None:
            self.notify("choose a rule first", severity="warning")
            return
        self._change(self.ops.delete(rule, self.rules))

    def action_crs(self) -> None:
        self._change(self.ops.edit_crs(self.crs))
