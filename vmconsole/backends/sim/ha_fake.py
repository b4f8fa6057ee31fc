"""pve-ha-manager's fake failing resources (`fa:NNN`, src/PVE/HA/Sim/Resources/VirtFail.pm)
as guests of the simulator: the digits after the first say how many tries a start
(second digit) and a migration (third) need before they succeed, whether a shutdown
succeeds (fourth, 0: yes), and (sixth, optional) the one node `nodeN` those failures
happen on (0: every node). The fifth (what `exists()` answers) the manager never asks.

A failing try fails the LRM's start or migration as a real resource's error would; the
CRM then restarts, relocates or gives up (`max_restart`, `max_relocate`, `error`) by
the simulator's own rules. A resource that cannot stop keeps running when its LRM
stops it, and the CRM puts it in `error` (LRM.pm: "unable to stop service").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vmconsole.backends.base import InvalidInput
from vmconsole.text import visible

_DIGITS = re.compile(r"^\d(\d)(\d)(\d)?(\d)?(\d)?")


@dataclass(slots=True)
class FakeFailures:
    """How a fake resource fails: the tries a start and a migration need (0: none
    fail), the node the failures are limited to (None: every node), whether its
    shutdown fails (on every node, as VirtFail.pm's), and the failed tries so far
    (reset by a success, as VirtFail.pm's counters)."""

    start: int
    migrate: int
    node: str | None = None
    cannot_stop: bool = False
    start_tries: int = 0
    migrate_tries: int = 0

    def fails(self, action: str, node: str) -> bool:
        """Whether this try of `action` ("start" or "migrate") on `node` fails; counts
        the try. VirtFail.pm: a try fails while the tries so far (this one included)
        are at most the configured count; a success resets the count."""
        if self.node is not None and node != self.node:
            return False
        needed = self.start if action == "start" else self.migrate
        tries = (self.start_tries if action == "start" else self.migrate_tries) + 1
        failed = needed >= tries
        if action == "start":
            self.start_tries = tries if failed else 0
        else:
            self.migrate_tries = tries if failed else 0
        return failed


def decode(sid: str) -> FakeFailures:
    """`fa:abc[d[e[f]]]` as FakeFailures. Raises InvalidInput for an id that is not
    3 to 6 digits."""
    digits = sid.removeprefix("fa:")
    m = _DIGITS.match(digits)
    if m is None or not digits.isascii() or not 3 <= len(digits) <= 6 or not digits.isdigit():
        raise InvalidInput(f"'{visible(sid)}' is not a fake resource id (fa: and 3 to 6 "
                           "digits)", {"sid": visible(sid)})
    start, migrate, stop, _exists, node = m.groups()
    return FakeFailures(int(start), int(migrate),
                        f"node{node}" if node not in (None, "0") else None,
                        stop not in (None, "0"))
