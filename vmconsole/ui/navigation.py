"""Moving about the main screen: Tab and Shift+Tab through its panes in `PANE_ORDER`,
and the tree's filter box (`/` opens it, Enter goes back to the tree, Esc clears it)."""

from __future__ import annotations

from textual import on
from textual.widget import Widget
from textual.widgets import Input

from vmconsole.ui.base_app import ConsoleBase
from vmconsole.ui.typeahead import typed_into
from vmconsole.ui.widgets.cluster_tree import ClusterTree

# The order Tab visits the panes in (README, "Keys"): where the eye goes next, not the
# screen's geometry (Textual's default would put the events above the task log, and
# the ping panel's address box in between). The events pane is its empty row until its
# first line (TeachingPanel._timeline); the task log is made when first shown (TaskSlot).
PANE_ORDER = (("#tree", "#left"), ("#detail", "#detail"), ("#task-log", "#tasks"),
              ("#ping-list", "#ping"), ("#teach-log, #teach-empty", "#teaching"))


class NavigationFeatures(ConsoleBase):
    """Tab through the panes, and the tree's filter box, as a feature of the app."""

    # --- focus --------------------------------------------------------------------------

    def _panes(self) -> list[tuple[Widget, Widget]]:
        """(what takes the focus, the pane around it) for each pane Tab visits, in
        PANE_ORDER, those on screen only."""
        chain = set(self.screen.focus_chain)
        return [(target, self.query_one(pane)) for focus, pane in PANE_ORDER
                for target in self.query(focus) if target in chain]

    def _cycle_panes(self, step: int) -> None:
        panes = self._panes()
        if not panes:
            return
        around = self.focused.ancestors_with_self if self.focused is not None else []
        # Focus inside a pane (the filter box, the ping address box) counts as that pane.
        current = next((i for i, (_, pane) in enumerate(panes) if pane in around), -1)
        # At once, as Textual's own Tab does: a key typed right after Tab (tmux, a
        # paste) must reach the new pane, not the old (Widget.focus() is deferred).
        self.screen.set_focus(panes[(current + step) % len(panes)][0])

    def action_focus_next(self) -> None:
        """Tab: the next pane (tree, detail, task log, ping, events); inside a dialog,
        Textual's own order of its fields."""
        if self.screen is self.screen_stack[0]:
            self._cycle_panes(1)
        else:
            super().action_focus_next()

    def action_focus_previous(self) -> None:
        if self.screen is self.screen_stack[0]:
            self._cycle_panes(-1)
        else:
            super().action_focus_previous()

    # --- the tree's filter -------------------------------------------------------------

    def action_filter(self) -> None:
        box = self.query_one_optional("#filter", Input)
        if box is None:  # made when first asked for, not before the first screen
            from vmconsole.ui.widgets.filter_box import FilterBox  # loaded when used

            box = FilterBox(placeholder="filter by name, id or tag", id="filter")
            self.query_one("#left").mount(box, before=self.query_one(ClusterTree))
        box.add_class("visible")
        typed_into(self, box)  # `/start` in one burst: "start" in the box

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.query_one(ClusterTree).set_filter(event.value)

    def action_filter_done(self) -> None:
        """Enter in the filter box: the filter stays, the focus back in the tree."""
        self.screen.set_focus(self.query_one(ClusterTree))

    def action_clear_filter(self) -> None:
        box = self.query_one_optional("#filter", Input)
        if box is not None and box.has_class("visible"):
            box.value = ""
            box.remove_class("visible")
            self.screen.set_focus(self.query_one(ClusterTree))  # at once: see FilterBox
