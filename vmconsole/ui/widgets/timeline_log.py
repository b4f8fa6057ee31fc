"""The teaching panel's event log: Textual's RichLog, which also draws the lines written
before a layout that missed telling it its size. Imported with the panel's first line
(teaching_panel.TeachingPanel._timeline), as RichLog itself is."""

from __future__ import annotations

from textual import events
from textual.geometry import Size
from textual.widgets import RichLog


class TimelineLog(RichLog):
    """A RichLog that learns its first size however it is laid out.

    RichLog keeps every line written before its first `Resize` and draws none of them
    until it gets one. Textual sends a widget that `Resize` when a layout finds it new
    to the screen, by comparing with the screen's map of every widget; but drawing any
    widget between a mount and that layout rebuilds the map, mounted widget included,
    and the layout then finds nothing new. A console whose ping panel redraws many
    times a second (a measurement running, which a served console's slower turns made
    likely) mounted this log in that gap: it was laid out and sized, and never drew a
    line. So the size it is given is also the `Resize` it waits for."""

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size,
                      layout: bool = True) -> bool:
        changed = super()._size_updated(size, virtual_size, container_size, layout)
        if changed and size.width and not self._size_known:
            # RichLog.on_resize acts on the first Resize only: one from the layout
            # as well changes nothing.
            self.post_message(events.Resize(size, virtual_size, container_size))
        return changed
