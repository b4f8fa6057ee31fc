"""A paste is text, never keys: ESC is taken out of a bracketed paste before Textual's
input parser reads it.

Inside a bracketed paste (xterm's mode 2004: the terminal sends `ESC [ 200 ~`, the text,
then `ESC [ 201 ~`), Textual's XTermParser takes an ESC for the start of a sequence: the
characters it reads while looking for that sequence's end are dropped from the paste, and
a long one is sent on as single keys, ahead of the paste. A pasted
`ab ESC ]52;c;aGk= BEL cd` came out as the keys `^ ] 5 2 ; c ; a G` (each one a console
binding) and then the paste "ab\\x1bk=\\x07cd". Terminals that guard their pastes drop
ESC from them for this reason (xterm's `disallowedPasteControls`, Alacritty); this does
the same for input that comes unguarded (tmux `send-keys`, an SSH client's raw write).
What is left of such a sequence stays in the paste, in order, where a form's field names
its hidden characters (`ui.widgets.plain_input.PlainInput`).
"""

from __future__ import annotations

from collections.abc import Iterable

from textual._xterm_parser import BRACKETED_PASTE_END, BRACKETED_PASTE_START, XTermParser
from textual.message import Message

ESC = "\x1b"


class PasteGuard:
    """Takes ESC out of bracketed pastes in a stream of terminal input, chunk by chunk;
    the paste markers pass, and everything outside a paste passes as it is."""

    def __init__(self) -> None:
        self._in_paste = False
        self._seen = ""  # the end of the input outside a paste: a start marker cut in two
        self._held = ""  # the end of a paste's chunk that may begin its end marker

    def feed(self, data: str) -> str:
        """The input to hand on for `data` (a chunk as read): without the ESCs of a paste.
        Inside a paste, a chunk that ends in a part of the end marker keeps that part
        until the next chunk says whether the marker is whole."""
        out: list[str] = []
        data = self._held + data
        self._held = ""
        while data:
            if not self._in_paste:
                at = (self._seen + data).find(BRACKETED_PASTE_START)
                if at < 0:
                    out.append(data)
                    self._seen = (self._seen + data)[-(len(BRACKETED_PASTE_START) - 1):]
                    return "".join(out)
                end = at - len(self._seen) + len(BRACKETED_PASTE_START)
                out.append(data[:end])
                data, self._seen, self._in_paste = data[end:], "", True
                continue
            at = data.find(BRACKETED_PASTE_END)
            if at < 0:
                text, self._held = _cut_marker_start(data)
                out.append(text.replace(ESC, ""))
                return "".join(out)
            out.append(data[:at].replace(ESC, "") + BRACKETED_PASTE_END)
            data, self._in_paste = data[at + len(BRACKETED_PASTE_END):], False
        return "".join(out)


def _cut_marker_start(data: str) -> tuple[str, str]:
    """`data` split before a tail that begins the end marker ("...\\x1b[20")."""
    for size in range(min(len(data), len(BRACKETED_PASTE_END) - 1), 0, -1):
        if BRACKETED_PASTE_END.startswith(data[-size:]):
            return data[:-size], data[-size:]
    return data, ""


class PasteGuardParser(XTermParser):
    """Textual's parser, fed through a `PasteGuard`: the local console's
    (`ui.terminal_input.guard_local_input`) and a served one's (`serve.driver`)."""

    def __init__(self, debug: bool = False) -> None:
        super().__init__(debug)
        self._guard = PasteGuard()

    def feed(self, data: str) -> Iterable[Message]:
        return super().feed(self._guard.feed(data) if data else data)

