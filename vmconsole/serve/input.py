"""What one client may send its console: a rate with a burst (a paste), escape
sequences of bounded length, and a bounded terminal size. Excess is dropped, not
queued, so a flood costs its sender's session a little and no one else anything.

Escape strings the console never asks for (OSC, DCS, APC, PM, SOS: ECMA-48 section
5.6) are dropped whole when they end (BEL or ST) within what arrived at once, as a
terminal's reply does; a control sequence (CSI) longer than the cap is
dropped. Keys, mouse reports and bracketed-paste markers are short CSIs and pass.

Esc typed with `]`, `P`, `X`, `_` or `^` (a fast typist, a slow link) begins like such
a string but never ends: what arrived with it passes on as the keys it is, so the
console reads it as a local one does (Esc, then the key: `ui/alt_keys.py`), and no key
after it is held. Inside a bracketed paste nothing is a string: the paste passes
whole, and the console takes ESC out of it and names what it left out, as a local
console does (`ui/paste_guard.py`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from vmconsole.serve.limits import Limits

ESC = "\x1b"
PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"  # bracketed paste's markers
_STRING_INTRODUCERS = frozenset("]P_^X")  # OSC, DCS, APC, PM, SOS after ESC


@dataclass
class InputLimiter:
    """Filters one session's input. `dropped` counts the characters not passed on for a
    limit (the rate, a sequence over the cap): the user is told. `stripped` counts those
    of whole escape strings the console never reads, which is no limit reached."""

    limits: Limits
    clock: float = field(default_factory=time.monotonic)
    tokens: float = -1.0  # the bucket; -1: full at the first call
    dropped: int = 0
    stripped: int = 0
    _state: str = "text"  # text, esc, csi, csi-drop, string, string-esc
    _held: str = ""  # an unfinished CSI, or the escape string begun in this read
    _pasting: bool = False  # between the bracketed paste's markers

    def feed(self, data: str, now: float | None = None) -> str:
        """What of `data` (as the client sent it) the console gets."""
        data = self._meter(data, time.monotonic() if now is None else now)
        return self._filter(data)

    def _meter(self, data: str, now: float) -> str:
        rate, burst = self.limits.input_rate, self.limits.input_burst
        if self.tokens < 0:
            self.tokens = burst
        self.tokens = min(burst, self.tokens + (now - self.clock) * rate)
        self.clock = now
        allowed = int(self.tokens)
        if len(data) > allowed:
            self.dropped += len(data) - allowed
            data = data[:allowed]
        self.tokens -= len(data)
        return data

    def _filter(self, data: str) -> str:
        if self._state == "text" and ESC not in data:
            return data  # the usual case: typed keys
        out: list[str] = []
        for char in data:
            self._step(char, out)
        if self._state in ("string", "string-esc"):
            ends_with_esc = self._state == "string-esc"
            self._release(out)  # begun in this read and not ended in it: keys after Esc
            if ends_with_esc:
                self._state = "esc"
        if self._state == "esc":
            # A lone ESC at the end of what arrived is most likely the escape key: the
            # console's parser decides after its own delay.
            out.append(ESC)
            self._state = "text"
        return "".join(out)

    def _step(self, char: str, out: list[str]) -> None:
        cap = self.limits.max_escape
        state = self._state
        if state == "text":
            if char == ESC:
                self._state = "esc"
            else:
                out.append(char)
        elif state == "esc":
            if char == "[":
                self._state, self._held = "csi", ESC + "["
            elif char in _STRING_INTRODUCERS and not self._pasting:
                self._state, self._held = "string", char
            elif char == ESC:
                out.append(ESC)  # ESC ESC: the first was the escape key
            else:
                out.append(ESC + char)  # alt+key
                self._state = "text"
        elif state == "csi":
            self._held += char
            if "\x40" <= char <= "\x7e":
                out.append(self._held)
                if self._held in (PASTE_START, PASTE_END):
                    self._pasting = self._held == PASTE_START
                self._state, self._held = "text", ""
            elif len(self._held) > cap:
                self.dropped += len(self._held)
                self._state, self._held = "csi-drop", ""
        elif state == "csi-drop":
            self.dropped += 1
            if "\x40" <= char <= "\x7e":
                self._state = "text"
        elif state == "string":  # left out up to its terminator (BEL or ESC \), or the cap
            self._held += char
            if char == ESC:
                self._state = "string-esc"
            elif char == "\x07":
                self.stripped += len(self._held)
                self._state, self._held = "text", ""
            elif len(self._held) > cap + 1:
                self.dropped += len(self._held) - 1
                self._state, self._held = "text", ""
        elif char == "\\":  # string-esc: ESC \ (ST) ends the string
            self.stripped += len(self._held) + 1
            self._state, self._held = "text", ""
        else:  # an ESC that starts a sequence of its own: what came before was keys
            self._release(out)
            self._state = "esc"
            self._step(char, out)

    def _release(self, out: list[str]) -> None:
        """The escape string begun (ESC, its introducer, what followed: `_held`) passes
        on as the keys it is; an ESC it ends with starts what follows."""
        held, self._held, self._state = self._held.removesuffix(ESC), "", "text"
        out.append(ESC + held)


def clamp_size(width: int, height: int, limits: Limits) -> tuple[int, int]:
    """The terminal size a console is drawn at: the client's, at least 1x1 and at most
    the limits (500x200 by default)."""
    return (max(1, min(width, limits.max_width)), max(1, min(height, limits.max_height)))
