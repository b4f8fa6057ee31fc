"""The command palette's entries for the guest under the cursor: what can be done to it
and, for what cannot run now, why. An entry names its guest and acts on that guest
alone, marks or not; with guests marked, the actions that apply to marks have an entry
of their own ("Delete: 3 guests marked"), which asks once for all of them.

Not `App.get_system_commands`: Textual reads a system command's title and help as
markup (`Matcher.highlight` and the palette's prompt both call `Content.from_markup`),
and a title here holds the guest's name, which is data ("api [env=prod:eu]" would end
the console with a MarkupError). This provider hands the palette `Content`, which
`Content.from_markup` returns unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Protocol, cast

from textual.command import DiscoveryHit, Hit, Hits, Matcher, Provider
from textual.content import Content

from vmconsole.operations import Operations
from vmconsole.text import visible
from vmconsole.ui import actions
from vmconsole.ui.labels import guest_title


class GuestActions(Protocol):
    """What the palette needs of the app: the selection, the change path (may this
    console change anything?) and the action to run."""

    @property
    def operations(self) -> Operations: ...

    def guest_selection(self) -> actions.Selection | None: ...

    def marked_count(self) -> int: ...

    def action_guest(self, name: str) -> None:
        """The action's key: on the marks when there are marks."""
        ...

    def act_on_guest(self, name: str) -> None:
        """The action on the guest under the cursor, marks or not."""
        ...


def palette_text(text: str) -> str:
    """`text` from a backend, a file or a user, made visible (`text.visible`) and with
    every "[" escaped, for a `SystemCommand`'s title or help, which the palette reads as
    markup: "[link=x]web" then shows as written. (Escaping "[" alone round-trips through
    `Content.from_markup`, backslashes included; Textual's `escape` skips "[:" and "[=".)"""
    return visible(text).replace("[", "\\[")


def highlighted(matcher: Matcher, title: Content) -> Content:
    """`title` with the characters the query matched in the matcher's style (what
    `Matcher.highlight` does, without reading the title as markup)."""
    plain = title.plain
    _, offsets = matcher.fuzzy_search.match(matcher.query, plain)
    for offset in offsets:
        if not plain[offset].isspace():
            title = title.stylize(matcher.match_style, offset, offset + 1)
    return title


@dataclass(frozen=True, slots=True)
class PaletteEntry:
    """One guest action in the palette: "Stop (hard): web [prod] (qemu/100 on pve1)",
    its help or why it cannot run now, and what choosing it does."""

    title: Content
    help: Content
    command: Callable[[], None]


def entries(app: GuestActions) -> Iterator[PaletteEntry]:
    """The entries for the guest under the cursor: every action that applies to it,
    but none that changes anything for a viewer or on a read-only console; with guests
    marked, then one entry per action that applies to marks."""
    selection = app.guest_selection()
    looks_only = not app.operations.allowed()
    if selection is not None:
        target = guest_title(selection.guest)
        for action, reason in actions.applicable(selection):
            if looks_only and action.changes:
                continue
            help_text = f"not now: {visible(reason, limit=None)}" if reason else action.help
            yield PaletteEntry(Content(f"{action.title}: {target}"), Content(help_text),
                               partial(app.act_on_guest, action.name))
    marked = app.marked_count()
    if not marked or looks_only:
        return
    from vmconsole.bulk import guests_text
    from vmconsole.ui.bulk_plans import BULK, bulk_title  # with marks only

    for name in BULK:
        yield PaletteEntry(
            Content(f"{bulk_title(name)}: {guests_text(marked)} marked"),
            Content("every marked guest, after one confirmation that lists each and "
                    "what happens to it"),
            partial(app.action_guest, name))


class GuestCommands(Provider):
    """The palette's source of `entries()`."""

    async def discover(self) -> Hits:
        for entry in entries(cast(GuestActions, self.app)):
            # `help` is declared a str but read through Content.from_markup, which
            # returns a Content as it is: the one way to show it without markup.
            yield DiscoveryHit(entry.title, entry.command, text=entry.title.plain,
                               help=cast(str, entry.help))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for entry in entries(cast(GuestActions, self.app)):
            score = matcher.match(entry.title.plain)
            if score > 0:
                yield Hit(score, highlighted(matcher, entry.title), entry.command,
                          text=entry.title.plain, help=cast(str, entry.help))
