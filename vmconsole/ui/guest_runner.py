"""The change path of one selected guest, as its flows use it: the role check before a
form opens, a question before a destructive change, and the runner (`ui.operations`:
the backend call in a worker, the audit record) with the request built from the
selection."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from vmconsole.backends.base import Backend, Task
from vmconsole.operations import OpRequest, Outcome
from vmconsole.ui.actions import Selection
from vmconsole.ui.base_app import ConsoleBase
from vmconsole.ui.modals.confirm import ConfirmScreen

T = TypeVar("T")


class GuestRunner:
    """Runs changes and queries on the selected guest `sel` of `app`."""

    def __init__(self, app: ConsoleBase, sel: Selection) -> None:
        self.app, self.sel = app, sel
        self.runner = app.runner
        self.gid = sel.guest.id

    def permitted(self, operation: str, description: str) -> bool:
        """Checked before a form opens, so a viewer is not asked to fill one in vain."""
        return self.runner.permitted(self._request(operation, description))

    def _request(self, operation: str, description: str,
                 parameters: dict[str, object] | None = None) -> OpRequest:
        return OpRequest(self.sel.cluster, self.gid, operation, description,
                         dict(parameters or {}))

    async def run(self, operation: str, description: str, call: Callable[[Backend], Task],
                  parameters: dict[str, object] | None = None) -> Outcome:
        return await self.runner.run(self._request(operation, description, parameters), call)

    async def confirm(self, title: str, question: str, warning: str = "",
                      yes: str = "Yes") -> bool:
        screen = ConfirmScreen(title, question, warning, yes)
        answer: bool = await self.app.push_screen_wait(screen)
        return answer

    async def confirmed_run(self, operation: str, title: str, question: str, warning: str,
                            yes: str, call: Callable[[Backend], Task],
                            parameters: dict[str, object] | None = None) -> Task | None:
        """Ask first (the answer defaults to No), then run; the task, if one started."""
        if not await self.confirm(title, question, warning, yes):
            return None
        return (await self.run(operation, title, call, parameters)).task

    async def query(self, what: str, call: Callable[[Backend], T]) -> T | None:
        return await self.runner.query(self.sel.cluster, what, call)
