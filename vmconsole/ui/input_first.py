"""Keys before figures: a poll's result waits while input is queued behind it.

A poll's apply on the event loop's thread (the tree's relabels, the task log, the
detail pane's facts, then the repaint of its charts) costs tens of milliseconds at
10,000 guests with the clock running (`benchmarks/scale.py`, `refresh_ms_median`). A
key that arrived while the loop was busy, and so waits in the app's message queue
behind a poll's message, would wait for all of it before it moves the cursor (issue 12).
The console instead keeps such a poll's result and applies it once that input is
handled: every waiting result in order (each carries the diff from the one before it,
which the tree must see), the selection's pane and charts once for all of them.

Nothing is lost: the results wait at most `LIMIT` seconds, keys held down or not, and
the first look (every `RETRY` seconds) that finds no input queued applies them.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from textual import events
from textual.app import App
from textual.message import Message
from textual.message_pump import MessagePump

from vmconsole.monitor.poller import PollResult
from vmconsole.ui.key_order import KeyOrder

#: The longest a poll's result waits for queued input, in seconds: the simulator's poll
#: interval (`ui.launch.poll_interval`), so that with keys held down the screen is at
#: most one poll behind.
LIMIT = 1.0

#: How often a waiting result looks again for queued input, in seconds: a key's own work
#: takes a few milliseconds.
RETRY = 0.01

# What a user does with the keyboard or the mouse buttons, as Textual's driver posts it
# to the app. A mouse moving over the screen is not waited for: it would hold the polls
# for as long as the pointer moves.
_INPUT = (events.Key, events.MouseDown, events.MouseUp, events.MouseScrollDown,
          events.MouseScrollUp)


def input_queued(app: MessagePump) -> bool:
    """Is a key press or a mouse button waiting in the app's message queue? Textual's
    driver posts input to the app (`Driver.process_message`). What waits is the
    message the pump has peeked at (`MessagePump._pending_message`: it looks at the
    next one to see whether the current one replaces it) and the queue behind it
    (`MessagePump._message_queue`, a `textual._queue.Queue` whose `values` deque holds
    the rest). Both are Textual's own: it is pinned >=8.2,<9 in pyproject.toml, and
    tests/ui/test_input_first.py fails if either moves."""
    queued: deque[Message | None] = app._message_queue.values
    return isinstance(app._pending_message, _INPUT) or any(
        isinstance(message, _INPUT) for message in queued)


@dataclass
class WaitingPolls:
    """The poll results not applied yet, oldest first, and since when the first waits."""

    results: list[PollResult] = field(default_factory=list)
    since: float = 0.0  # time.monotonic() at the first of them
    retry_scheduled: bool = False

    def add(self, result: PollResult) -> None:
        if not self.results:
            self.since = time.monotonic()
        self.results.append(result)

    def must_wait(self, app: App[Any], retry: Callable[[], object]) -> bool:
        """True while input waits at the app, the focused widget or any widget around it,
        or for its turn in a burst (`ui.key_order`), and the oldest result has waited
        less than LIMIT: a key goes from the app to the focused widget and bubbles back
        up through each of its parents to the app, whose bindings then act on it
        (`App.on_event`, `Widget._forward_event`). `retry` is then called RETRY seconds
        later (a timer: it runs whichever screen is up, where
        the screen's `call_after_refresh` waits while another covers it)."""
        if not self.results or time.monotonic() - self.since >= LIMIT:
            return False
        pumps = app.focused.ancestors_with_self if app.focused else [app.screen, app]
        order = getattr(app, "key_order", None)
        if not (isinstance(order, KeyOrder) and order.waiting) and not any(
                input_queued(pump) for pump in pumps):
            return False
        if not self.retry_scheduled:
            self.retry_scheduled = True

            def again() -> None:
                self.retry_scheduled = False
                retry()

            app.set_timer(RETRY, again)
        return True

    def take(self) -> list[PollResult]:
        """Every waiting result, oldest first; none wait after."""
        results, self.results = self.results, []
        return results
