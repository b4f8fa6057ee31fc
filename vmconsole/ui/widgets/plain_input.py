"""The one text box every field of the console is made from: it takes only characters
that a terminal shows as themselves, whether typed or pasted."""

from __future__ import annotations

from textual import events
from textual.keys import REPLACED_KEYS, key_to_character
from textual.widget import Widget
from textual.widgets import Input

from vmconsole.text import visible
from vmconsole.ui.key_order import taken_effect
from vmconsole.ui.keymapped import keymapped
from vmconsole.ui.typeahead import Typeahead

#: Where `str.splitlines` breaks a line: LF, CR, VT, FF, the file, group and record
#: separators, NEL (U+0085), and the line and paragraph separators (U+2028, U+2029).
LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


class PlainInput(Input):
    """Textual's Input without the characters a terminal does not show as themselves
    (controls, ESC, bidi overrides, zero-width: `vmconsole.text.visible`'s rule): the box
    would draw them raw, reordering or hiding what is typed. They are left out, and a
    notification names each one as an escape. The tree filter, the audit screen's
    filters, the ping address box, the fault screen's partition box and every form field
    are PlainInputs.

    Its keys take effect in the order they were typed. Textual runs a key's binding
    (Backspace, the arrows, Home, Tab) only once the key has gone up to the app, after
    the keys queued behind it at the box: in one burst (a paste, a fast typist over SSH,
    `tmux send-keys`) "snapx", Backspace twice, "q" gave "snap", the "q" typed and then
    deleted, and the text typed after a Tab went into the box being left. Here the box's
    own bindings (on the keys the user's [keys] give them: `ui.keymapped`), Tab,
    Shift+Tab and the screen's Esc run as their key arrives, and a key that reaches the
    box after a Tab or an Esc took the focus away (or closed the box's form) goes on to
    the widget that has it, once what the key before it did there has taken effect
    (`_act_at`). A paste goes on as such a key does. The app hands a key of a burst on
    only once the one before has taken effect (`ui.key_order`), so such keys are those
    handed on together: the typeahead's, once their form is up.
    """

    def check_consume_key(self, key: str, character: str | None) -> bool:
        """Input's: a key that types a printable character is the box's, so the key line
        leaves out the bindings of such keys while the box has the focus. Textual finds
        no character for the keys it renames ("slash", "minus", "at", "plus",
        "underscore", "backslash": `key_to_character` misses its own
        `KEY_NAME_REPLACEMENTS`), and "/ Filter" stayed on the key line of every box."""
        if character is None:
            character = key_to_character(REPLACED_KEYS.get(key, key))
        return super().check_consume_key(key, character)

    def _focus_now(self) -> Widget | None:
        """The widget a key or paste that reaches the box now was typed for: its
        screen's focused one, or once a key before it closed that screen, the top
        screen's (or that screen). Not `has_focus`, a reactive, which lags."""
        if self.screen in self.app.screen_stack:
            return self.screen.focused
        return self.app.screen.focused or self.app.screen

    async def _on_key(self, event: events.Key) -> None:
        focused = self._focus_now()
        if focused is not None and focused is not self:
            event.stop()
            event.prevent_default()
            if isinstance(focused, PlainInput):  # it keeps the order itself
                focused.post_message(events.Key(event.key, event.character))
            else:
                await self._act_at(focused, event)
            return
        if event.key in ("tab", "shift+tab"):
            event.stop()
            event.prevent_default()
            if event.key == "tab":
                self.screen.focus_next()
            else:
                self.screen.focus_previous()
            return
        bindings = keymapped(self).key_to_bindings.get(event.key, ())
        if bindings:
            event.stop()
            event.prevent_default()
            await self.run_action(bindings[0].action)
            return
        if event.key == "escape" and await self._bound(self, event):
            # The screen's Esc (a form's Cancel, an audit filter's Back), run as it comes:
            # on its way up to the app it ran after the keys typed behind it, which went
            # into the box of the form it closed, lost.
            event.stop()
            event.prevent_default()
            return
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

    def _on_paste(self, event: events.Paste) -> None:
        """A paste, whole, less its hidden characters (`replace`): Textual's Input kept
        only the text before its first line break (`str.splitlines`), unsaid. A paste
        that reaches the box after a Tab or an Esc of its burst took the focus away goes
        on to the widget that has it, as a key does (`abc Tab` and a paste put the
        paste into the next field, not after `abc`)."""
        event.stop()
        event.prevent_default()  # Input's own `_on_paste`
        focused = self._focus_now()
        if focused is not None and focused is not self:
            focused.post_message(events.Paste(event.text))
        elif event.text:
            self.replace(event.text, *self.selection)

    async def _act_at(self, focused: Widget, event: events.Key) -> None:
        """A key of the burst for `focused`, a widget that keeps no order of its own (a
        Select, a checkbox, a button). Posted to it, its binding would run only once the
        key had gone up to the app, after the keys behind it: a Tab there left them on
        the Select, where they were lost. Its binding runs now instead, looked up as
        Textual looks it up (priority bindings from the app down, then from `focused`
        up); a key with no binding goes to `focused`. A key typed ahead of a screen
        that a flow is opening is the typeahead's (`ui.typeahead`), as on its way up."""
        typeahead = getattr(self.app, "typeahead", None)
        if isinstance(typeahead, Typeahead) and typeahead.keeps(
                events.Key(event.key, event.character)):
            return
        if not await self._bound(focused, event):
            focused.post_message(events.Key(event.key, event.character))
            await self._settled(focused)

    async def _bound(self, focused: Widget, event: events.Key) -> bool:
        """Run the binding of `event`'s key at `focused`, looked up as Textual looks it
        up (priority bindings from the app down, then from `focused` up, the user's
        [keys] applied), and wait until
        it has taken effect; False when no binding there acts on the key."""
        chain = [(node, keymapped(node)) for node in focused.ancestors_with_self]
        for priority, nodes in ((True, chain[::-1]), (False, chain)):
            for node, bindings in nodes:
                for binding in bindings.key_to_bindings.get(event.key, ()):
                    if binding.priority is priority and await self.app.run_action(
                            binding.action, node):
                        await self._settled(focused)
                        return True
        return False

    async def _settled(self, widget: Widget) -> None:
        """Wait until what a key did at `widget` has taken effect, before the next key
        the box holds is looked at (`key_order.taken_effect`, from `widget` up to the
        app). Much of it comes later, by message: Space on a Select opens its list and
        moves the focus to it on a later turn (`Widget.focus` is a `call_later`), and
        Enter in the open list picks through messages the list posts to itself and to
        its Select, which then takes the focus back. Not this box's own pump: it waits
        here. Not at all once the box's own screen has closed (an Esc that cancels its
        form): the app then removes the screen, and waits for this box's pump to do it."""
        if self.screen in self.app.screen_stack:
            await taken_effect(node for node in widget.ancestors_with_self if node is not self)

    def replace(self, text: str, start: int, end: int) -> None:
        """Textual's edit of the value (every typed key, paste and delete ends here):
        `text` replaces the characters from `start` to `end`, less the hidden ones."""
        hidden = [c for c in text if visible(c, None) != c]
        if hidden:
            text = "".join(c for c in text if c not in hidden)
            escapes = ", ".join(dict.fromkeys(visible(c, None) for c in hidden))
            # A field is one line: the text after a pasted line break is kept, not lost.
            joined = "; the lines are joined" if LINE_BREAKS.intersection(hidden) else ""
            self.notify(f"Left out {escapes}: a field takes only characters that show as "
                        f"themselves{joined}", title="Not typed", severity="warning")
            if not text and start == end:
                return
        super().replace(text, start, end)
