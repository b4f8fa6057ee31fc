"""`L`: a cluster's rebalance plan as a what-if (each node's CPU and memory before and
after), the moves with their gain and why that node, the guests that stay and why; a
move or all of them applied after confirmation, one migration at a time. A cluster
that cannot be reached, or whose read for the plan failed, gets no plan: the screen says
why and offers to try again or close."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.css.query import NoMatches
from textual.widgets import DataTable, Static

from vmconsole.balance import Move, Plan
from vmconsole.text import visible
from vmconsole.ui.key_hints import hint_line
from vmconsole.ui.modals.help_key import ModalWithHelp
from vmconsole.ui.symbols import UNICODE, Symbols

# What the console does for the screen: compute a plan in `mode` (None: it failed and
# said why), and migrate one move, calling `state(text)` as it goes; True once it is done.
Compute = Callable[[str, Callable[[str], None]], Awaitable[Plan | None]]
Apply = Callable[[Move, Callable[[str], None]], Awaitable[bool]]
Confirm = Callable[[str, list[Move]], Awaitable[bool]]  # (title, moves): True for yes


def _reached() -> str:
    return ""


@dataclass(frozen=True, slots=True)
class RebalanceActions:
    """The console's side: `compute`, `apply` and `confirm`, why this console may not
    apply a plan ("" when it may), and `unreachable()`: why the cluster cannot be
    reached now ("" when it can), asked before each plan."""

    compute: Compute
    apply: Apply
    confirm: Confirm
    refusal: str = ""
    refuse: Callable[[], None] | None = None  # audits and says the refusal
    unreachable: Callable[[], str] = _reached


def _arrow(before: float, after: float, arrow: str) -> str:
    return (f"{before:.0f}%" if round(before) == round(after)
            else f"{before:.0f}{arrow}{after:.0f}%")


class RebalanceScreen(ModalWithHelp[None]):
    DEFAULT_CSS = """
    RebalanceScreen { align: center middle; }
    RebalanceScreen > Vertical {
        width: 100%; max-width: 110; height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    RebalanceScreen #plan { height: 1fr; }
    RebalanceScreen DataTable { height: auto; max-height: 9; margin-top: 1; }
    RebalanceScreen .dim { color: $text-muted; }
    RebalanceScreen #stays { margin-top: 1; }
    """
    BINDINGS = [
        # Before the moves table's own Enter (which selects a row, applied by `_selected`):
        # in the active bindings that Enter hid this one, and the key line lost "⏎ apply"
        # whenever the table had the focus.
        Binding("enter", "apply_one", "Apply move", id="rebalance.apply", priority=True),
        Binding("A", "apply_all", "Apply all", id="rebalance.apply_all"),
        Binding("d", "toggle_mode", "Static/dynamic", id="rebalance.mode"),
        Binding("r", "recompute", "Recompute", id="rebalance.recompute"),
        Binding("escape,q", "close", "Close", id="rebalance.close"),
    ]

    def __init__(self, cluster: str, actions: RebalanceActions, mode: str = "static",
                 symbols: Symbols = UNICODE) -> None:
        super().__init__()
        self.cluster, self.actions, self.mode = cluster, actions, mode
        self.arrow = symbols.arrow  # from a value to the next: "0.21 → 0.09"
        self.plan: Plan | None = None
        self.states: dict[str, str] = {}  # guest id -> what became of its move
        self.busy = False
        self.unstarted = 0  # confirmed moves of the run under way not yet started
        self.failed = ""  # why the last plan asked for is not there ("": none failed)

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = Content(f"Rebalance {visible(self.cluster)}")  # not markup
            # The plan scrolls and the key line stays under it: a long list of guests
            # that cannot move pushed the keys off an 80x24 screen.
            with VerticalScroll(id="plan"):
                yield Static("", id="head", markup=False)
                yield DataTable(id="nodes", cursor_type="none", zebra_stripes=True)
                yield DataTable(id="moves", cursor_type="row")
                yield Static("", id="why", classes="dim", markup=False)
                yield Static("", id="stays", markup=False)
            yield Static("", id="keys", classes="dim", markup=False)

    def _show_keys(self) -> None:
        """The key line: the keys that do something now (`check_action`), with the keys
        the keymap gives them. Call it when what they do changes."""
        self.refresh_bindings()
        # "apply", not "apply move": with Enter written `enter` (ASCII mode) the line
        # then fits 80 columns. A refused apply still runs (`check_action`) but is not
        # offered.
        hints = [] if self.actions.refusal else [("rebalance.apply", "apply"),
                                                 ("rebalance.apply_all", "apply all")]
        hints += [("rebalance.mode", "static/dynamic"),
                  ("rebalance.recompute", "try again" if self.failed else "recompute"),
                  ("app.help", "help"), ("rebalance.close", "close")]
        self.query_one("#keys", Static).update(Text(hint_line(self, hints)))

    def on_mount(self) -> None:
        self._show_keys()
        self.query_one("#nodes", DataTable).add_columns("Node", "CPU", "Memory", "Load")
        self.query_one("#moves", DataTable).add_columns(
            "Guest", "From", "To", "Gain", "State")
        self.query_one("#moves", DataTable).focus()
        self.action_recompute()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Textual asks before a key acts and before the key line lists it (`hint_line`
        reads the active bindings): False hides a key that would do nothing now."""
        if action in ("apply_one", "apply_all") and (self.plan is None or all(
                self.states.get(m.guest) == "done" for m in self.plan.moves)):
            return False  # nothing to apply: no plan yet, none could be made, no move left
        if action == "toggle_mode" and self.failed:
            return False  # no plan to see in another mode: `r` tries again
        if action in ("apply_one", "apply_all", "recompute", "toggle_mode"):
            # A refused apply runs, to be said and audited (`_may_apply`); while moves run,
            # a new plan would cancel them.
            return not self.busy
        return True

    # --- the plan -----------------------------------------------------------------------

    def _say(self, text: str) -> None:
        self.query_one("#head", Static).update(Text(text))

    @work(exclusive=True, group="rebalance")
    async def action_recompute(self) -> None:
        if self.busy:
            return
        unreachable = self.actions.unreachable()
        if unreachable:
            self._no_plan(f"{visible(self.cluster)} cannot be reached: "
                          f"{visible(unreachable, None)}\nNo plan until it answers.")
            return
        if self.failed:
            self.failed = ""
            self._show_keys()
        self._say(f"Computing the {self.mode} plan…")
        plan = await self.actions.compute(self.mode, self._say)
        if plan is None:
            self._no_plan("No plan: the cluster could not be read (see the notification).")
            return
        self.plan, self.states = plan, {}
        self._show()
        self._show_keys()

    def _no_plan(self, why: str) -> None:
        """No plan, for `why` (said as the head: the cluster cannot be reached, or its
        read failed): the last plan goes, with its tables, and the key line keeps only
        the keys that still do something (try again, help, close)."""
        self.failed = why
        self._say(why)
        self.plan, self.states = None, {}
        self._show_keys()
        for table in self.query(DataTable):
            table.display = False
        for part in ("#why", "#stays"):
            self.query_one(part, Static).update("")
        self.query_one("#plan", VerticalScroll).focus(scroll_visible=False)

    def _show(self) -> None:
        plan = self.plan
        if plan is None:
            return
        head = (f"{plan.mode} scheduler (Proxmox's TOPSIS): imbalance "
                f"{plan.imbalance_before:.2f} {self.arrow} {plan.imbalance_after:.2f}, "
                f"{len(plan.moves)} move(s)")
        lines = [head, *(visible(n) for n in plan.notes)]
        if not plan.moves:  # said here: a row of the table widened its Guest column
            lines.append("Nothing to move: the load is as even as the rules allow.")
        if self.actions.refusal:
            lines.append(f"{self.actions.refusal}: the plan only.")
        self._say("\n".join(lines))
        nodes = self.query_one("#nodes", DataTable)
        nodes.clear()
        nodes.display = True
        for n in plan.nodes:
            nodes.add_row(Text(visible(n.node)), _arrow(n.cpu_before, n.cpu_after, self.arrow),
                          _arrow(n.mem_before, n.mem_after, self.arrow),
                          _arrow(n.load_before, n.load_after, self.arrow))
        moves = self.query_one("#moves", DataTable)
        moves.clear()
        for m in plan.moves:
            moves.add_row(Text(visible(m.name)), Text(visible(m.source)),
                          Text(visible(m.target)), Text(f"+{m.gain:.2f}", justify="right"),
                          Text(self.states.get(m.guest, "planned")), key=m.guest)
        moves.display = bool(plan.moves)
        if plan.moves:
            moves.focus()
        else:  # the arrows scroll what there is to read, from its top
            scroll = self.query_one("#plan", VerticalScroll)
            scroll.focus(scroll_visible=False)
            scroll.scroll_home(animate=False)
        stays = [f"{visible(s.name)} ({visible(s.node)}): {visible(s.reason)}"
                 for s in plan.stuck]
        blocked = [f"{visible(b.name)} {visible(b.source)} {self.arrow} {visible(b.target)} "
                   f"would gain {b.gain:.2f} but {visible(b.blocked_by)}" for b in plan.blocked]
        text = ""
        if blocked:
            text += "Forbidden by a rule:\n  " + "\n  ".join(blocked) + "\n"
        if stays:
            text += "Cannot move:\n  " + "\n  ".join(stays)
        self.query_one("#stays", Static).update(Text(text))
        self._explain()

    @on(DataTable.RowHighlighted, "#moves")
    def _explain(self) -> None:
        move = self._highlighted()
        self.query_one("#why", Static).update(Text(visible(move.reason) if move else ""))

    def _highlighted(self) -> Move | None:
        if self.plan is None or not self.plan.moves:
            return None
        row = self.query_one("#moves", DataTable).cursor_row
        return self.plan.moves[row] if 0 <= row < len(self.plan.moves) else None

    # --- applying -----------------------------------------------------------------------

    @on(DataTable.RowSelected, "#moves")
    def _selected(self) -> None:
        self.action_apply_one()  # enter on the table is the table's: the same as the key

    def _may_apply(self) -> bool:
        if self.actions.refusal and self.actions.refuse is not None:
            self.actions.refuse()  # a refused change is audited, as every other
        elif self.actions.refusal:
            self.notify(self.actions.refusal, title="Rebalance", severity="warning")
        return not self.actions.refusal and not self.busy

    def action_apply_one(self) -> None:
        if not self._may_apply():
            return
        move = self._highlighted()
        if move is not None and self.states.get(move.guest) not in ("done",):
            self._apply([move])

    def action_apply_all(self) -> None:
        if self._may_apply() and self.plan is not None:
            self._apply([m for m in self.plan.moves if self.states.get(m.guest) != "done"])

    @work(exclusive=True, group="rebalance")
    async def _apply(self, moves: list[Move]) -> None:
        if not moves or self.busy:
            return
        if not await self.actions.confirm(
                f"Migrate {len(moves)} guest(s) to rebalance {visible(self.cluster)}?", moves):
            return
        self.busy = True
        self._keys_now()
        try:
            for index, move in enumerate(moves):
                def state(text: str, guest: str = move.guest) -> None:
                    self.states[guest] = text
                    self._set_state(guest, text)

                self.unstarted = len(moves) - index - 1
                state("starting")
                if not await self.actions.apply(move, state):
                    break  # a failed move changes the what-if: the rest waits for `r`
        finally:
            self.busy, self.unstarted = False, 0
            self._keys_now()

    def _keys_now(self) -> None:
        """The key line after moves started or ended (`_show_keys`), unless the screen
        was closed meanwhile: its moves run on without it."""
        with contextlib.suppress(NoMatches):
            self._show_keys()

    def _set_state(self, guest: str, text: str) -> None:
        try:
            moves = self.query_one("#moves", DataTable)
        except NoMatches:  # closed while a move runs: the migration carries on, unshown
            return
        if guest in moves.rows:  # the column widens ("planned" → "migrating 40%")
            moves.update_cell(guest, moves.ordered_columns[-1].key, Text(text),
                              update_width=True)

    def action_toggle_mode(self) -> None:
        self.mode = "dynamic" if self.mode == "static" else "static"
        self.action_recompute()

    def action_close(self) -> None:
        if self.busy and self.unstarted:
            self._close_asking()
        else:
            self.dismiss(None)

    @work(exclusive=True, group="rebalance-close")
    async def _close_asking(self) -> None:
        """Closing ends the run: the moves confirmed but not started would be lost
        unsaid, so the operator is asked first (the migration under way goes on)."""
        from vmconsole.ui.modals.confirm import ConfirmScreen  # loaded when used

        count = self.unstarted
        if await self.app.push_screen_wait(ConfirmScreen(
                "Close the rebalance plan?",
                f"{count} confirmed move(s) have not started: closing drops them.",
                "The migration under way goes on; its end shows in the task log.",
                "Close")) and self.is_attached:
            if self.unstarted:
                self.notify(f"{self.unstarted} rebalance move(s) dropped, not started.",
                            title="Rebalance", severity="warning")
            self.dismiss(None)
