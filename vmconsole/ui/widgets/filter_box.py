"""The tree's filter box (#filter), made by the first `/` (`NavigationFeatures.action_filter`):
the first screen has none, and its class (a Textual Input's) is not made before it."""

from __future__ import annotations

from textual.binding import Binding

from vmconsole.ui.widgets.plain_input import PlainInput


class FilterBox(PlainInput):
    """The tree's filter box. Enter and Esc act as their key arrives, giving the focus
    back to the tree at once: a key typed after them in the same burst (`/db Enter j`)
    reached the box, as Enter's Submitted and the app's Esc came on a later turn
    (PlainInput sends such a key on to the widget that has the focus). Esc is the app's
    `app.clear_filter`, under its id, so that a [keys] table remaps both."""

    BINDINGS = [Binding("enter", "app.filter_done", "Back to the tree"),
                Binding("escape", "app.clear_filter", "Clear filter", id="app.clear_filter")]
