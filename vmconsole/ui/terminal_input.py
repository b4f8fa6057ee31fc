"""How the console reads what its terminal sends: one rule for the local console and a
served one.

The input is UTF-8. A byte that is not (a Latin-1 terminal's `é` under `LANG=C`, `tmux
send-keys -H ff`, a raw byte in a paste) is data, read as U+FFFD REPLACEMENT CHARACTER:
a key that no binding takes, a character a field shows as itself. Textual's Linux driver
decodes strictly, so such a byte raised UnicodeDecodeError in its input thread and ended
the console (Textual issue 6456, open in 8.2); asyncssh's strict channel decoder closed
a served session's connection over it. Not "backslashreplace": the escape `\\xff` would
arrive as the keys `\\ x f f`, each a binding.

What the local console's driver reads is also fed through the paste guard
(`ui.paste_guard`), as a served console's `ChannelDriver` does.
"""

from __future__ import annotations

import codecs
import functools
from collections.abc import Callable

from vmconsole.ui.paste_guard import PasteGuardParser

INPUT_ENCODING = "utf-8"
INPUT_ERRORS = "replace"  # codecs' error handler for bytes that are not INPUT_ENCODING


def lenient_decoder(encoding: str) -> Callable[[], codecs.IncrementalDecoder]:
    """`codecs.getincrementaldecoder(encoding)` whose decoders replace bytes that are
    not `encoding` instead of raising UnicodeDecodeError."""
    return functools.partial(codecs.getincrementaldecoder(encoding), errors=INPUT_ERRORS)


def guard_local_input() -> None:
    """Have Textual's Linux driver (the local console's) read by this module's rule,
    through a `PasteGuardParser`. The driver builds its decoder and its parser in its
    input thread from names in its module and takes neither as an argument, so the
    names are rebound there, for this process (one console): nothing is copied from
    Textual. `tests/unit/test_terminal_input.py` runs the console on a terminal and
    fails if a Textual release stops reading through them."""
    from textual.drivers import linux_driver

    setattr(linux_driver, "XTermParser", PasteGuardParser)  # noqa: B010
    setattr(linux_driver, "getincrementaldecoder", lenient_decoder)  # noqa: B010
