"""A partition of the lab's LAN: groups of nodes that reach each other but not the
other groups, as a cluster network split in two would.

ebtables in the LAN namespace drops the frames its bridge would forward between the
links of nodes in different groups: their guests, their migrations and their
libvirtds' TCP. What reaches the bridge itself is not forwarded and goes on: every
node still reaches the iSCSI target and the DHCP server (the LAN namespace's own
address), the probes from the LAN namespace still reach every guest, and the console
still reaches every node (through its unix socket), as a management and a storage
network that stay up. The partition is recorded in the lab's directory (`partition`),
so `lab status` and other consoles know it.
"""

from __future__ import annotations

from itertools import product
from pathlib import Path

from vmconsole.lab.layout import LAN_NS, NodeLayout
from vmconsole.lab.shell import LabError, in_netns, run


def _record(lab_root: Path) -> Path:
    return lab_root / "partition"


def current(lab_root: Path) -> str | None:
    """The partition in force, as "pve1 | pve2 pve3", if any."""
    try:
        return _record(lab_root).read_text().strip() or None
    except OSError:
        return None


def split(lab_root: Path, groups: list[list[NodeLayout]]) -> str:
    """Cut the LAN between the groups (at least two, none empty); returns the partition
    as "pve1 | pve2 pve3". Raises LabError when one is in force already (heal first)
    or ebtables fails."""
    if (now := current(lab_root)) is not None:
        raise LabError(f"the lab is partitioned already ({now}): restore everything first")
    if len(groups) < 2 or not all(groups):
        raise LabError("a partition needs at least two groups of nodes")
    text = " | ".join(" ".join(n.name for n in group) for group in groups)
    _record(lab_root).write_text(text + "\n")
    try:
        for (i, left), (j, right) in product(enumerate(groups), repeat=2):
            if i == j:
                continue
            for a, b in product(left, right):
                run(in_netns(LAN_NS, "ebtables", "-A", "FORWARD", "-i", a.veth, "-o", b.veth,
                             "-j", "DROP"))
    except LabError:
        heal(lab_root)  # no half partition left behind
        raise
    return text


def heal(lab_root: Path) -> str | None:
    """Join the groups again (the LAN namespace's bridge forwards everything); returns
    the partition that was in force, if any."""
    was = current(lab_root)
    run(in_netns(LAN_NS, "ebtables", "-F", "FORWARD"), check=False)
    _record(lab_root).unlink(missing_ok=True)
    return was
