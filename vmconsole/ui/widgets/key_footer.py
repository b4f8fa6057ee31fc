"""The console's footer: Textual's, rebuilt only when the keys it shows change.

Textual's Footer rebuilds every key it shows whenever the screen's bindings may have
changed: on each focus change and each screen shown, whatever changed. That was three
rebuilds of seven keys before the console's first screen, about a tenth of its start,
and one more for every Tab between panes that show the same keys.

Each key is also born with the footer's own layout (wide, not compact): Textual's
FooterKey starts compact and takes the footer's setting only once mounted, restyling
itself twice on the way (fourteen restyles for the first screen's seven keys)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey  # Footer's keys: not exported by Textual


class KeyFooter(Footer):
    """A Footer that skips a rebuild which would show what it shows already."""

    # Compact, Textual sets a group's words (`←→ Columns`) against the next key with no
    # space: "Columns⏎ Record".
    DEFAULT_CSS = """
    KeyFooter.-compact FooterLabel { margin-right: 1; }
    """

    _shown: tuple[object, ...] | None = None

    def _keys_shown(self) -> tuple[object, ...]:
        """What Footer.compose draws from: each shown binding's key, how the key is
        written, its words, action, group, whether enabled and its tooltip; the palette
        key; and the footer's own two settings."""
        active = self.screen.active_bindings
        keys = tuple((b.key, self.app.get_key_display(b), b.description, b.action, b.group,
                      enabled, tooltip)
                     for _, b, enabled, tooltip in active.values() if b.show)
        palette = active.get(self.app.COMMAND_PALETTE_BINDING)
        return (keys, palette and (palette[1].key, palette[2], palette[3]),
                self.compact, self.show_command_palette, self.app.ENABLE_COMMAND_PALETTE)

    def compose(self) -> ComposeResult:
        """Footer's keys, each already as compact as the footer, so that the binding
        Footer gives it (`data_bind(compact=Footer.compact)`) changes nothing. The
        palette's key has no such binding: Textual leaves it compact, and so do we."""
        for widget in super().compose():
            if isinstance(widget, FooterKey) and not widget.has_class("-command-palette"):
                widget.set_reactive(FooterKey.compact, self.compact)
            yield widget

    async def recompose(self) -> None:
        """Footer's rebuild, unless the keys it would show are those it shows."""
        if not self._bindings_ready or not self.is_attached:
            await super().recompose()
            return
        shown = self._keys_shown()
        if shown == self._shown and self.children:
            return
        self._shown = shown
        await super().recompose()
