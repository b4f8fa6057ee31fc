"""What every feature of the console shares: its clusters' poll loops, their latest
results, the session, and the selection. Features are App subclasses over this base
(Textual merges BINDINGS only along App/DOMNode classes, so a plain mixin would lose
its keys); VMConsoleApp combines them."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import App

from vmconsole.config import Config
from vmconsole.monitor.poller import PollLoop, PollResult
from vmconsole.session import Session
from vmconsole.ui.symbols import ASCII, UNICODE
from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef


class ConsoleBase(App[int]):
    def __init__(self, loops: Iterable[PollLoop], config: Config | None = None,
                 session: Session | None = None, ascii: bool = False) -> None:
        super().__init__()
        self.loops: dict[str, PollLoop] = {loop.backend.name: loop for loop in loops}
        self.config = config or Config()
        self.session = session or Session.local()
        self.symbols = ASCII if ascii else UNICODE
        self.latest: dict[str, PollResult] = {}

    @property
    def selected(self) -> TreeRef | None:
        return self.query_one(ClusterTree).selected_ref()
