"""The lab's network: a LAN bridge in its own namespace, one namespace per node joined
to it by a veth, and inside each node a `vmbr0` bridge (as on Proxmox) holding the
node's address and its guests' taps. Nothing of it touches the root namespace."""

from __future__ import annotations

from pathlib import Path

from vmconsole.lab.layout import LAN_ADDRESS, LAN_BRIDGE, LAN_NS, PREFIXLEN, NodeLayout
from vmconsole.lab.shell import run

NETNS_DIR = Path("/run/netns")


def netns_exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


def lab_namespaces() -> list[str]:
    """Every namespace the lab may have made (names start with vmclab-)."""
    if not NETNS_DIR.is_dir():
        return []
    return sorted(p.name for p in NETNS_DIR.iterdir() if p.name.startswith("vmclab-"))


def ensure_lan() -> None:
    if netns_exists(LAN_NS):
        return
    run(["ip", "netns", "add", LAN_NS])
    ip = ["ip", "-n", LAN_NS]
    run([*ip, "link", "set", "lo", "up"])
    run([*ip, "link", "add", LAN_BRIDGE, "type", "bridge"])
    # The prober's own address, so probes to guests have a source on the LAN.
    run([*ip, "addr", "add", LAN_ADDRESS, "dev", LAN_BRIDGE])
    run([*ip, "link", "set", LAN_BRIDGE, "up"])


def _has_link(netns: str, name: str) -> bool:
    return run(["ip", "-n", netns, "link", "show", name], check=False) != ""


def ensure_node(node: NodeLayout) -> None:
    """Piece by piece, so that a half-made node (an interrupted `lab up`, a LAN namespace
    removed by hand, which takes the veths with it) is completed, not skipped."""
    ip = ["ip", "-n", node.netns]
    if not netns_exists(node.netns):
        run(["ip", "netns", "add", node.netns])
        run([*ip, "link", "set", "lo", "up"])
    if not _has_link(node.netns, "vmbr0"):
        run([*ip, "link", "add", "vmbr0", "type", "bridge"])
        run([*ip, "addr", "add", f"{node.ip}/{PREFIXLEN}", "dev", "vmbr0"])
        run([*ip, "link", "set", "vmbr0", "up"])
    if not _has_link(LAN_NS, node.veth):
        # A veth whose LAN end is gone is being destroyed by the kernel, asynchronously:
        # delete the node's end now, or the new one cannot take the name eth0.
        run([*ip, "link", "delete", "eth0"], check=False)
        lan = ["ip", "-n", LAN_NS]
        run([*lan, "link", "add", node.veth, "type", "veth", "peer", "name", "eth0",
             "netns", node.netns])
        run([*lan, "link", "set", node.veth, "master", LAN_BRIDGE])
        run([*lan, "link", "set", node.veth, "up"])
        run([*ip, "link", "set", "eth0", "master", "vmbr0"])
        run([*ip, "link", "set", "eth0", "up"])


def remove_netns(name: str) -> None:
    """Deleting a namespace deletes its links, and with them their veth peers."""
    if netns_exists(name):
        run(["ip", "netns", "delete", name])
