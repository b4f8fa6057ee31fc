"""The one text box every field of the console is made from: it takes only characters
that a terminal shows as themselves, whether typed or pasted."""

from __future__ import annotations

from textual.widgets import Input

from vmconsole.text import visible


class PlainInput(Input):
    """Textual's Input without the characters a terminal does not show as themselves
    (controls, ESC, bidi overrides, zero-width: `vmconsole.text.visible`'s rule): the box
    would draw them raw, reordering or hiding what is typed. They are left out, and a
    notification names each one as an escape. The tree filter, the audit screen's
    filters, the ping address box and every form field (`FieldInput`) are PlainInputs."""

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
