"""What every feature of the console shares: its clusters' poll loops, their latest
results, the session, and the selection. Features are App subclasses over this base
(Textual merges BINDINGS only along App/DOMNode classes, so a plain mixin would lose
its keys); VMConsoleApp combines them."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from textual.app import App
from textual.widget import Widget

from vmconsole.audit import AuditLog, AuditRecord
from vmconsole.config import Config
from vmconsole.monitor.poller import PollLoop, PollResult
from vmconsole.session import Session
from vmconsole.ui.symbols import ASCII, UNICODE
from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef

log = logging.getLogger(__name__)
SHORT_SCREEN = 30  # rows below which bottom panels take turns


class ConsoleBase(App[int]):
    def __init__(self, loops: Iterable[PollLoop], config: Config | None = None,
                 session: Session | None = None, ascii: bool = False,
                 audit: AuditLog | None = None) -> None:
        super().__init__()
        self.loops: dict[str, PollLoop] = {loop.backend.name: loop for loop in loops}
        self.config = config or Config()
        self.session = session or Session.local()
        self.symbols = ASCII if ascii else UNICODE
        self.latest: dict[str, PollResult] = {}
        self.audit = audit or AuditLog()

    def write_audit(self, cluster: str, target: str, operation: str, result: str,
                    parameters: dict[str, object] | None = None,
                    task_id: str | None = None) -> None:
        """Append what this session did (or was refused) to the audit log. Called from a
        worker thread, before the result is shown. A log that cannot be written is
        said, not hidden, and does not undo what the backend already did. A task started is
        watched by its cluster's poll loop, which audits its end."""
        session = self.session
        record = AuditRecord(
            user=session.user, role=str(session.role), source=session.source,
            cluster=cluster, target=target, operation=operation, result=result,
            parameters=dict(parameters or {}), task_id=task_id)
        try:
            self.audit.append(record)
            loop = self.loops.get(cluster)
            if task_id and result == "started" and loop is not None:
                loop.task_ends.watch(record, self.audit)  # its end is audited too
        except OSError as exc:
            log.error("audit log not written: %s", exc)
            self.call_from_thread(self.notify, f"the audit log could not be written: {exc}",
                                  title="Audit", severity="warning", timeout=10)

    def show_panel(self, panel: Widget, show: bool | None = None) -> None:
        """Show, hide or (None) toggle a bottom panel. On a short terminal (80x24 over
        SSH) only one bottom panel shows at a time, or the tree is left a few rows."""
        visible = not panel.has_class("visible") if show is None else show
        panel.set_class(visible, "visible")
        if visible and self.size.height < SHORT_SCREEN:
            for other in self.query(".bottom-panel"):
                if other is not panel:
                    other.remove_class("visible")

    @property
    def selected(self) -> TreeRef | None:
        trees = self.query(ClusterTree)  # none while the console is closing
        return trees.first().selected_ref() if trees else None
