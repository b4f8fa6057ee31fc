"""What a screen opened on a guest (the hardware form, the backup panel) needs of the
guest's flows (`ui.flows.GuestFlows`): named here, once, so that those modules do not
import the flows that import them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from vmconsole.backends.base import Backend, Task
from vmconsole.operations import Outcome
from vmconsole.ui.actions import Selection
from vmconsole.ui.base_app import ConsoleBase

T = TypeVar("T")


class GuestFlow(Protocol):
    gid: str
    sel: Selection
    app: ConsoleBase

    def permitted(self, operation: str, description: str) -> bool:
        """May this console make the change (role, read-only)? A refusal is audited."""
        ...

    async def query(self, what: str, call: Callable[[Backend], T]) -> T | None:
        """`call` on a worker thread; None (the user told why) when it failed."""
        ...

    async def run(self, operation: str, description: str, call: Callable[[Backend], Task],
                  parameters: dict[str, object] | None = None) -> Outcome:
        """One change through the runner: role check, audit record, task log."""
        ...

    async def confirm(self, title: str, question: str, warning: str = "",
                      yes: str = "Yes") -> bool:
        """Ask first; True only for a yes."""
        ...
