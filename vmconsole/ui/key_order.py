"""One key at a time: a key or paste from the terminal is handed on only once the one
before it has taken effect.

Textual forwards each key to the widget focused when the app takes it from its queue,
and the widget handles it later, from its own queue. In a burst (a paste, a fast typist
over SSH, `tmux send-keys`), a Tab that the focused box had not handled yet left the
keys behind it at that box, while those the app took after the box had handled the Tab
went straight to the next field: `r1 Tab Tab vm:100` put "0" into the resources and
lost the rest, in about one burst in four on a loaded machine (the tester's B1). The
text box (`PlainInput`) handed on the keys it got after its Tab, but only those, and
after the later ones had arrived. Here the app holds every key of a burst until the one
before it has gone through each message queue it reaches, from the widget it went to up
to the app (`taken_effect`): the next key then finds the focus, the open drop-down list
or the closed form where the one before left it, as a slow typist's key would. A key
that comes alone goes on at once: only a burst waits, a few turns of the event loop a
key.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Collection, Iterable
from contextlib import suppress
from typing import Any

from textual import events
from textual.app import App
from textual.message import Message
from textual.message_pump import MessagePump
from textual.widget import Widget

from vmconsole import give_way

#: The longest a key of a burst waits at one message queue for the key before it to go
#: through (seconds): a bound, not a pace (a closing screen's queue may never answer).
SETTLE_SECONDS = 1.0

TypedEvent = events.Key | events.Paste


async def taken_effect(pumps: Iterable[MessagePump], bound: float = SETTLE_SECONDS,
                       passes: int = 1) -> None:
    """Return once every message queued at each of `pumps` when it is reached has been
    handled, in the order given, `passes` times over: what a key did at a widget (a
    Select opening its list, a focus change, both by message or `call_later`) goes up
    from the widget to its screen and the app, so `pumps` are the widget and its
    ancestors; what those messages did in turn (a box's Changed, posted while its key
    was handled, filters the tree from the app) takes a second pass. A pump that is
    closed is passed; one that does not answer within `bound` seconds ends the wait."""
    # A future and `asyncio.timeout` per pump, not an Event and `wait_for`: this runs
    # beside every key, and wait_for made a task per pump (Python 3.11).
    loop = asyncio.get_running_loop()
    for pump in [*pumps] * passes:
        reached = loop.create_future()
        if pump.call_later(settle, reached):
            try:
                async with asyncio.timeout(bound):
                    await reached
            except TimeoutError:
                return


def settle(future: asyncio.Future[None]) -> None:
    """Set `future`'s result, unless its wait has timed out (cancelled it) already."""
    if not future.done():
        future.set_result(None)


async def _drawn(widget: Widget, bound: float = SETTLE_SECONDS) -> None:
    """Return once `widget`'s screen has been refreshed after what is queued now
    (`call_after_refresh`), or after `bound` seconds."""
    drawn = asyncio.get_running_loop().create_future()
    if widget.call_after_refresh(settle, drawn):
        with suppress(TimeoutError):
            async with asyncio.timeout(bound):
                await drawn


def _key_ended(_: asyncio.Task[None]) -> None:
    give_way.key_ended()


def _is_key(event: TypedEvent, keys: Collection[str]) -> bool:
    return isinstance(event, events.Key) and event.key in keys


class KeyTookEffect(Message):
    """Posted to the app: the key or paste it last handed on has taken effect."""


class KeyOrder:
    """The keys and pastes waiting for the one before them (oldest first), for one app.
    Used on the app's event loop only."""

    def __init__(self, app: App[Any]) -> None:
        self._app = app
        self._waiting: deque[TypedEvent] = deque()
        self._busy = False
        self._watch: asyncio.Task[None] | None = None  # held: a task only weakly kept is lost
        self._after: list[Callable[[], object]] = []
        # (the work's end, its bound, the keys that cut it short, the screen up then)
        self._going_on: list[tuple[asyncio.Future[None], float, Collection[str], object]] = []
        self._cut_short: tuple[asyncio.Future[None], Collection[str]] | None = None

    @property
    def busy(self) -> bool:
        """Whether a key handed on has yet to take effect (later ones wait)."""
        return self._busy

    @property
    def waiting(self) -> bool:
        """Whether keys of a burst wait their turn here (input not handled yet, like
        input queued at a message pump: `ui.input_first`)."""
        return bool(self._waiting)

    def holds(self, event: TypedEvent) -> bool:
        """Whether `event`, new from the terminal, must wait: a key before it has not
        taken effect yet (it is kept, and comes back from `next`)."""
        if self._busy:
            self._waiting.append(event)
            if self._cut_short is not None and _is_key(event, self._cut_short[1]):
                settle(self._cut_short[0])
        return self._busy

    def first(self, events_: Iterable[TypedEvent]) -> None:
        """`events_` go next, ahead of those waiting (the second half of one key the
        app splits in two: `ui.alt_keys`)."""
        self._waiting.extendleft(reversed(list(events_)))

    def sent(self, pumps: Iterable[MessagePump]) -> None:
        """A key was handed on to the first of `pumps` (the focused widget, then its
        ancestors): later ones wait until it has gone through them all; then the app
        gets `KeyTookEffect`."""
        self._busy = True
        self._watch = asyncio.create_task(self._watched(list(pumps)))
        # The poll threads step aside meanwhile (`vmconsole.give_way`). Ended by the
        # task's end, which comes also when it is cancelled before it ever ran.
        give_way.key_started()
        self._watch.add_done_callback(_key_ended)

    def goes_on(self, done: asyncio.Future[None], bound: float,
                interrupted_by: Collection[str]) -> None:
        """What the key under way did goes on after its messages (a form's Enter calls
        the backend from a worker, and the form stays up until it answers): the next
        key waits until `done` is set, or `bound` seconds, and then for what came of
        it (the form closed, the screen below it resumed), unless one of the keys
        `interrupted_by` (Textual's key names) is typed: the form's Cancel closes the
        form at once, and the change's outcome is told when it comes; or a screen is
        pushed meanwhile (the submission asks a question: `screen_changed`). Nothing
        when no key is under way (a click): keys typed later go where the focus is."""
        if self._busy:
            self._going_on.append((done, bound, interrupted_by, self._app.screen))

    def screen_changed(self) -> None:
        """A screen was pushed or popped: the wait behind a form's submission
        (`goes_on`) ends, as the form has closed or asks a question (`y` or `n`: the
        keys typed before it are not its answer, `Typeahead.not_answers`)."""
        if self._cut_short is not None:
            settle(self._cut_short[0])

    async def _watched(self, pumps: list[MessagePump]) -> None:
        try:
            await taken_effect(pumps, passes=2)
            while self._going_on and self._app.screen_stack:
                done, bound, keys, screen = self._going_on.pop(0)
                if self._app.screen is screen and not any(
                        _is_key(event, keys) for event in self._waiting):
                    cut = asyncio.get_running_loop().create_future()
                    self._cut_short = (cut, keys)
                    # Futures only: `asyncio.wait` makes no task for them.
                    await asyncio.wait((done, cut), timeout=bound,
                                       return_when=asyncio.FIRST_COMPLETED)
                    self._cut_short = None
                await taken_effect(self._app.screen.ancestors_with_self, passes=2)
            # What waits for the next frame goes last: the tree, refiltered by a box's
            # Changed, puts its cursor back on the row selected before only once it has
            # its new lines (`call_after_refresh`), and a `j` before that moved nothing.
            if self._app.screen_stack:  # none once the app has closed
                await _drawn(self._app.screen)
        finally:  # else the keys behind it would wait for ever
            self._app.post_message(KeyTookEffect())

    def next(self) -> TypedEvent | None:
        """On `KeyTookEffect`: the oldest waiting key, to be handed on now; None when
        none waits (keys go on at once again)."""
        if self._waiting:
            return self._waiting.popleft()
        self._busy = False
        after, self._after = self._after, []
        for callback in after:
            callback()
        return None

    def drop_waiting(self) -> int:
        """Forget the keys waiting (typed before a question was asked: never its
        answer); how many there were. The one under way still takes effect."""
        count = len(self._waiting)
        self._waiting.clear()
        return count

    def after_burst(self, callback: Callable[[], object]) -> None:
        """Call `callback` once the keys waiting now (and any that join them before the
        last has taken effect) have been handed on and taken effect; at once when none
        is under way."""
        if self._busy:
            self._after.append(callback)
        else:
            callback()
