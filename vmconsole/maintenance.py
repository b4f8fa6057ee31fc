"""The console's own record of nodes in maintenance, for backends whose manager keeps
none the console can set: libvirt has no such state, and Proxmox's API has no call for
HA node maintenance (`ha-manager crm-command node-maintenance enable NODE` is a CLI
command on a cluster node; the API schema of PVE 9 lists only `arm-ha`/`disarm-ha`
under /cluster/ha/status). A node in the record shows `maintenance` in the tree and is
left out of every target the console offers (migrate, clone, create, a bulk spread).

Kept in `$XDG_STATE_HOME/vmconsole/maintenance.json` ({cluster: [node, ...]}), so a
node stays in maintenance across restarts and for every console of the user.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from vmconsole.paths import state_dir

log = logging.getLogger(__name__)


class MaintenanceRecord:
    """Nodes in maintenance by cluster; thread-safe. A record file that cannot be read
    counts as empty (logged), one that cannot be written raises OSError."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or state_dir() / "maintenance.json"
        self._lock = threading.Lock()
        self._nodes = self._load()

    def _load(self) -> dict[str, set[str]]:
        try:
            text = self.path.read_text(encoding="utf-8")
            # loaded when there is a record: most starts have none (issue 12)
            from vmconsole.jsontext import parse_json

            data = parse_json(text)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("maintenance record %s not read: %s", self.path, exc)
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(c): {str(n) for n in nodes} for c, nodes in data.items()
                if isinstance(nodes, list)}

    def nodes(self, cluster: str) -> frozenset[str]:
        """The names of the cluster's nodes in maintenance."""
        with self._lock:
            return frozenset(self._nodes.get(cluster, ()))

    def set(self, cluster: str, node: str, enabled: bool) -> None:
        """Put `node` into maintenance or take it out, on disk before it returns."""
        with self._lock:
            nodes = self._nodes.setdefault(cluster, set())
            (nodes.add if enabled else nodes.discard)(node)
            import json  # loaded when used, as in _load

            data = {c: sorted(n) for c, n in self._nodes.items() if n}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            part = self.path.with_suffix(".part")
            part.write_text(json.dumps(data, indent=1), encoding="utf-8")
            os.replace(part, self.path)
