"""A dialog's list and long text with their moving keys on the dialog's key line.

Textual's OptionList and VerticalScroll answer to the arrows, Page Up/Down and Enter,
but their bindings are `show=False`: over the fault menu the key line said only `esc
Cancel`, and the help, a task's detail and an audit record scrolled without saying how.
These subclasses declare the same keys, with the same actions, shown (the audit log's
table does so too, with SIDEWAYS). They are Textual's keys (no id): the user's [keys]
table does not remap them, as `?` says."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import OptionList

MOVE = Binding.Group("Move", compact=True)
SCROLL = Binding.Group("Scroll", compact=True)
PAGE = Binding.Group("Page")
SIDEWAYS = Binding.Group("Columns", compact=True)


class ChoiceList(OptionList):
    """An OptionList whose key line says: ↑↓ Move  ⏎ Choose."""

    BINDINGS = [Binding("up", "cursor_up", "Move", group=MOVE),
                Binding("down", "cursor_down", "Move", group=MOVE),
                Binding("enter", "select", "Choose")]


class ScrolledText(VerticalScroll):
    """A VerticalScroll whose key line says: ↑↓ Scroll  pgup pgdn Page, while there is
    more than fits (a record that fits offers no scrolling)."""

    BINDINGS = [Binding("up", "scroll_up", "Scroll", group=SCROLL),
                Binding("down", "scroll_down", "Scroll", group=SCROLL),
                Binding("pageup", "page_up", "Page", group=PAGE),
                Binding("pagedown", "page_down", "Page", group=PAGE)]
    _SCROLLING = frozenset({"scroll_up", "scroll_down", "page_up", "page_down"})

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The scrolling keys are offered (and shown) only while there is more to see."""
        if action in self._SCROLLING:
            return self.allow_vertical_scroll
        return True

    def watch_show_vertical_scrollbar(self, shown: bool) -> None:
        # The scrollbar comes and goes with the text's height (a task's log grows):
        # the key line follows it.
        self.refresh_bindings()
        if shown:
            # Textual moves the thumb with the scroll only while the bar shows
            # (`Widget.watch_scroll_y`): a log that followed its end as it grew, before
            # the bar came, showed its thumb at the top.
            self.vertical_scrollbar.position = self.scroll_y
