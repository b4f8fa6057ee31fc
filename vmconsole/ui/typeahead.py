"""Typeahead: the keys typed in the same burst as the key that opens a form.

`n a b c` in one write (a paste, a fast typist over SSH, `tmux send-keys`) reached the
console before the form existed: the flow was still reading the next free id from the
backend, so "a", "b" and "c" went to the tree (where `b` opens the backups). The console
now keeps such keys while a guest's flow opens its screen, and hands them to the form in
the order typed. A question is never answered ahead: keys kept for a confirmation are
dropped, as are those kept for a flow that ends without a screen (refused, or failed).
Whatever screen the flow opens first ends the holding: a form or a panel takes the keys,
a question drops them. A flow that opens no screen (start, reboot) keeps nothing. Keys
that come later than `HOLD_SECONDS` after the opening key are a reaction to a slow
screen, not typeahead: holding stops, the kept keys act then, in order, and the later
ones as always.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

from textual import events
from textual.app import App
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget

from vmconsole.ui.key_order import KeyOrder

T = TypeVar("T")

#: How long after the key that opens a flow its keys are still typeahead (seconds). A
#: burst from a paste or `send-keys` arrives within milliseconds; a backend read before
#: the form (the next free id) takes tens of milliseconds, a slow one seconds.
HOLD_SECONDS = 2.0


class ReplayTypeahead(Message):
    """Posted to the app once a form is up: the kept keys go to it, in order, ahead of
    every key still queued behind this message."""


class Typeahead:
    """The keys kept while a flow opens its screen (one flow at a time)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 order: KeyOrder | None = None) -> None:
        """`order`: the app's keys waiting their turn (`ui.key_order`), which a screen
        that never comes, or a question, drops with the kept ones."""
        self._clock = clock
        self._order = order
        self._held: list[events.Key | events.Paste] | None = None
        self._since = 0.0
        self._holds = 0

    @property
    def holding(self) -> bool:
        return self._held is not None

    def hold(self) -> int:
        """Start keeping keys: a flow that opens a screen has begun. Returns the hold's
        number, for `drop(number)` at the flow's end."""
        if self._held is None:
            self._held = []
        self._since = self._clock()
        self._holds += 1
        return self._holds

    def keeps(self, event: events.Event) -> bool:
        """Is `event` kept for the coming screen? Called for every key or paste that
        reaches the app: new from the terminal, or back from the focused widget that did
        not handle it (its bindings still to run). The second matters most: Textual runs
        the binding that opens the flow only once its key has come back up, and by then
        the keys typed after it are queued at the widget, on their way to their own
        bindings (the tree's `b` opens the backups)."""
        if self._held is None or not isinstance(event, (events.Key, events.Paste)):
            return False
        if self._late():
            return False  # the screen is slow to come: the keys act as always (`overdue`)
        self._held.append(event)
        return True

    def overdue(self) -> list[events.Key | events.Paste]:
        """The kept keys, once their screen is later than `HOLD_SECONDS`: they act now,
        ahead of the key that found them waiting (holding ends); else nothing."""
        return self.take() if self._held is not None and self._late() else []

    def _late(self) -> bool:
        return self._clock() - self._since > HOLD_SECONDS

    def take(self) -> list[events.Key | events.Paste]:
        """The kept keys as new events (a kept one may have been forwarded once), oldest
        first, each stamped when it was read (a question ignores keys read before it
        was drawn: `modals.question`); holding ends."""
        held, self._held = self._held or [], None
        return [_again(e) for e in held]

    def drop_queued(self, app: App[Any]) -> None:
        """A flow refused before it opened its screen: the keys typed in its burst
        (queued behind its key, "n s" where s would start the guest) were meant for the
        screen, so they are kept, then dropped once `app`'s queue has passed them
        (`call_later` runs after the messages already queued) and the burst's keys
        waiting there for their turn (`ui.key_order`) have had it."""
        drop = partial(self.drop, self.hold())
        if self._order is not None:
            app.call_later(self._order.after_burst, drop)
        else:
            app.call_later(drop)

    def drop(self, hold: int | None = None) -> int:
        """Forget the kept keys (a question, or no screen at all) and, while keeping,
        those of the burst still waiting their turn; how many there were. Given a hold's
        number, only while that hold is the last one (a flow that ends after its form
        closed leaves the next flow's keys alone)."""
        if (hold is not None and hold != self._holds) or self._held is None:
            return 0
        return len(self.take()) + (self._order.drop_waiting() if self._order else 0)

    def not_answers(self) -> None:
        """A question shows: no key typed before it is its answer, kept or waiting."""
        self.take()
        if self._order is not None:
            self._order.drop_waiting()


def screen_opened(app: App[Any], screen: Screen[Any], pushed: bool = False) -> None:
    """`app` shows `screen` (its `screen_change_signal`): the keys kept go to it once
    it is drawn (its fields exist and one has the focus), or are dropped if it asks a
    question (`TYPEAHEAD = False` on the screen's class: a confirmation).

    A screen `pushed` at once by its key's binding (`a` the audit log, `L` the
    rebalance plan, `R` the HA rules) starts the keeping itself: the keys typed behind
    that key were already on their way up from the screen below, and reached the new
    screen's bindings only, its focused widget never (`a/web` filtered nothing)."""
    typeahead = getattr(app, "typeahead", None)
    if not isinstance(typeahead, Typeahead):
        return
    if not getattr(screen, "TYPEAHEAD", True):
        typeahead.not_answers()
        return
    if not typeahead.holding:
        if not pushed:
            return
        typeahead.hold()
    screen.call_after_refresh(app.post_message, ReplayTypeahead())


def held_for(app: App[Any], opening: Awaitable[T]) -> Awaitable[T]:
    """`opening` (a change that may open a form or ask), with the keys typed from now on
    kept for the screen it opens, as a guest's flow keeps them on the main screen: to be
    called in the action of the key that starts it, before the keys queued behind that
    key reach their own bindings. The screen takes the keys or drops them
    (`screen_opened`); if `opening` ends with none (refused, or its first read failed),
    they are dropped then. Awaited, gives what `opening` gives."""
    typeahead = getattr(app, "typeahead", None)
    if not isinstance(typeahead, Typeahead):
        return opening
    hold = typeahead.hold()

    async def kept() -> T:
        try:
            return await opening
        finally:
            typeahead.drop(hold)
    return kept()


def typed_into(app: App[Any], box: Widget) -> None:
    """Give `box` (a text box: the tree's filter, the ping address, the audit log's
    user filter) the focus, and with it the keys typed in the same burst as the key that asked for
    it. Those are already queued at the widget that had the focus, on their way to its
    bindings (`/start` started the selected guest, `W db1` opened the shutdown form):
    kept, then typed into the box once it has the focus."""
    box.focus()
    typeahead = getattr(app, "typeahead", None)
    if isinstance(typeahead, Typeahead):
        typeahead.hold()
        box.screen.call_after_refresh(app.post_message, ReplayTypeahead())


def _again(event: events.Key | events.Paste) -> events.Key | events.Paste:
    """A new event for `event`, with its time (Textual's `Message.time`)."""
    again = (events.Key(event.key, event.character) if isinstance(event, events.Key)
             else events.Paste(event.text))
    again.time = event.time
    return again
