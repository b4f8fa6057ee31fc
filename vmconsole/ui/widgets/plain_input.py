"""The one text box every field of the console is made from: it takes only characters
that a terminal shows as themselves, whether typed or pasted."""

from __future__ import annotations

from textual import events
from textual.widgets import Input

from vmconsole.text import visible


class PlainInput(Input):
    """Textual's Input without the characters a terminal does not show as themselves
    (controls, ESC, bidi overrides, zero-width: `vmconsole.text.visible`'s rule): the box
    would draw them raw, reordering or hiding what is typed. They are left out, and a
    notification names each one as an escape. The tree filter, the audit screen's
    filters, the ping address box and every form field (`FieldInput`) are PlainInputs."""

    async def _on_key(self, event: events.Key) -> None:
        # Textual's Input drops a key whose character is not printable (a bidi override,
        # a zero-width space typed with a compose key or an input method) without a
        # word: handed to `replace`, it is named as a pasted one is. ASCII controls stay
        # keys (ctrl+a, tab, enter are bindings).
        char = event.character
        if char is not None and len(char) == 1 and ord(char) >= 0x80 and (
                not event.is_printable):
            event.stop()
            event.prevent_default()
            self.replace(char, *self.selection)
            return
        await super()._on_key(event)

    def replace(self, text: str, start: int, end: int) -> None:
        """Textual's edit of the value (every typed key, paste and delete ends here):
        `text` replaces the characters from `start` to `end`, less the hidden ones."""
        hidden = [c for c in text if visible(c, None) != c]
        if hidden:
            text = "".join(c for c in text if c not in hidden)
            escapes = ", ".join(dict.fromkeys(visible(c, None) for c in hidden))
            self.notify(f"Left out {escapes}: a field takes only characters that show as "
                        "themselves", title="Not typed", severity="warning")
            if not text and start == end:
                return
        super().replace(text, start, end)
