"""Where a Proxmox guest lives now: its kind, VMID and node, and the API paths of its
endpoints, looked up in `/cluster/resources` at each operation (a guest may have
migrated since the last poll)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vmconsole.backends.base import NotFound
from vmconsole.backends.proxmox.answers import INTEGER, TEXT, Record, read
from vmconsole.backends.proxmox.inventory import RESOURCES, service_id
from vmconsole.model import GuestKind

# GET {path}/status/current, as far as it is read: "running", "stopped"; 1 for a template.
# PVE always says the status (qemu-server's and pve-container's `vmstatus`): without it
# the serial console said "web is not running" of a guest the tree showed running.
CURRENT = Record({"status": TEXT, "template": INTEGER}, required=("status",))


@dataclass(frozen=True, slots=True)
class GuestRef:
    """Where a guest lives now, and the API path of its endpoints."""

    kind: GuestKind
    vmid: int
    node: str
    ha_managed: bool = False

    @property
    def id(self) -> str:
        return f"{self.kind.value}/{self.vmid}"

    @property
    def path(self) -> str:
        return f"/nodes/{self.node}/{self.kind.value}/{self.vmid}"

    @property
    def sid(self) -> str:
        return service_id(self.kind, self.vmid)


def locate(call: Callable[..., Any], cluster: str, guest_id: str) -> GuestRef:
    """The guest `guest_id` ("qemu/100", "lxc/200") of `cluster` as it is now, through
    `call` (`Connection.call`). Raises NotFound for an id of no Proxmox guest's shape or
    a guest the cluster does not have."""
    kind_text, _, vmid_text = guest_id.partition("/")
    try:
        kind, vmid = GuestKind(kind_text), int(vmid_text)
    except ValueError:
        raise NotFound(f"{guest_id} is not a Proxmox guest id (qemu/N or lxc/N)") from None
    for item in read(call, "/cluster/resources", RESOURCES, type="vm"):
        if item.get("type") == kind.value and int(item.get("vmid", -1)) == vmid:
            return GuestRef(kind, vmid, str(item["node"]), bool(item.get("hastate")))
    raise NotFound(f"{guest_id} does not exist in {cluster}")
