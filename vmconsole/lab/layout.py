"""Where everything of the lab lives: names, addresses, directories.

The LAN is 10.77.0.0/24 and exists only inside namespaces: the LAN namespace holds the
bridge and 10.77.0.1 (the prober's source, the iSCSI target's portal and the DHCP
server), node N holds 10.77.0.10N, guest N 10.77.0.(10+N), guests made from the
template lease 10.77.0.150-250. The root namespace never gets an address, route or
link of the lab.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_ROOT = Path("/var/lib/vmconsole-lab")
LAN_NS = "vmclab-lan"
LAN_BRIDGE = "lanbr0"
LAN_ADDRESS = "10.77.0.1/24"
NET = "10.77.0"
PREFIXLEN = 24
MAX_NODES = 9
MAX_GUESTS = 89
PROFILE = "lab"
TEMPLATE = "tmpl-busybox"
CT_TEMPLATE = "tmpl-ct-busybox"
MAX_CONTAINERS = 29
CONTAINER_MEMORY_MIB = 64
GUEST_MEMORY_MIB = 128  # 64 MiB fails silently (the kernel cannot unpack); 80 is the least seen
PORTAL = "10.77.0.1"  # the LAN namespace's address: tgtd listens there
SAN_IQN = "iqn.2026-11.invalid.vmconsole:san"
SAN_POOL = "san"
SAN_LUNS = 12  # sparse files: a LUN costs only what its guest writes
SAN_LUN_MIB = 256  # a 64 MiB qcow2 disk plus the RAM state of its snapshots
TEMPLATE_LUN = 1
# tgtd's management socket is /run/tgtd/socket.<port>: its own, beside a system tgtd's 0
TGT_CONTROL_PORT = 77
DHCP_RANGE = (f"{NET}.150", f"{NET}.250")


def initiator_iqn(node: str) -> str:
    """The node's iSCSI initiator name (one per node, as each Proxmox node has its own)."""
    return f"iqn.2026-11.invalid.vmconsole:{node}"


def lab_root() -> Path:
    return Path(os.environ.get("VMCONSOLE_LAB_DIR") or DEFAULT_ROOT)


@dataclass(frozen=True, slots=True)
class NodeLayout:
    index: int
    root: Path

    @property
    def name(self) -> str:
        return f"pve{self.index}"

    @property
    def netns(self) -> str:
        return f"vmclab-{self.name}"

    @property
    def veth(self) -> str:
        """The LAN namespace's end of the node's link (the node's end is its eth0)."""
        return f"veth-{self.name}"

    @property
    def ip(self) -> str:
        return f"{NET}.{100 + self.index}"

    @property
    def dir(self) -> Path:
        return self.root / "nodes" / self.name

    @property
    def socket(self) -> Path:
        return self.dir / "run" / "libvirt-sock"

    @property
    def pidfile(self) -> Path:
        return self.dir / "libvirtd.pid"

    @property
    def uri(self) -> str:
        return f"qemu:///system?socket={self.socket}"

    @property
    def lxc_uri(self) -> str:
        """The same libvirtd's LXC driver: the node's containers."""
        return f"lxc:///system?socket={self.socket}"

    @property
    def images(self) -> Path:
        return self.dir / "images"


@dataclass(frozen=True, slots=True)
class GuestLayout:
    index: int
    node: NodeLayout

    @property
    def name(self) -> str:
        return f"vm{self.index}"

    @property
    def ip(self) -> str:
        return f"{NET}.{10 + self.index}"

    @property
    def mac(self) -> str:
        return f"52:54:00:77:00:{self.index:02x}"


@dataclass(frozen=True, slots=True)
class ContainerLayout:
    index: int
    node: NodeLayout

    @property
    def name(self) -> str:
        return f"ct{self.index}"

    @property
    def ip(self) -> str:
        return f"{NET}.{60 + self.index}"

    @property
    def mac(self) -> str:
        return f"52:54:00:77:01:{self.index:02x}"


@dataclass(frozen=True, slots=True)
class Layout:
    root: Path
    nodes: tuple[NodeLayout, ...]
    guests: tuple[GuestLayout, ...]
    containers: tuple[ContainerLayout, ...] = ()

    @property
    def boot_dir(self) -> Path:
        return self.root / "boot"

    @property
    def state_file(self) -> Path:
        return self.root / "lab.json"

    @property
    def rootfs(self) -> Path:
        """The containers' root file system (read-only, shared by every node)."""
        return self.root / "ct" / "rootfs"

    @property
    def san_dir(self) -> Path:
        """The LUNs' backing files, tgtd's pidfile, the DHCP server's files."""
        return self.root / "san"


def layout(nodes: int, guests: int, root: Path | None = None, containers: int = 0) -> Layout:
    """Guests spread over the nodes in turn: vm1 on pve1, vm2 on pve2, ...; containers
    from the last node backwards: ct1 on pve3 (of 3), ct2 on pve2, ..."""
    base = root or lab_root()
    node_layouts = tuple(NodeLayout(i, base) for i in range(1, nodes + 1))
    guest_layouts = tuple(GuestLayout(i, node_layouts[(i - 1) % nodes])
                          for i in range(1, guests + 1))
    ct_layouts = tuple(ContainerLayout(i, node_layouts[-1 - (i - 1) % nodes])
                       for i in range(1, containers + 1))
    return Layout(base, node_layouts, guest_layouts, ct_layouts)
