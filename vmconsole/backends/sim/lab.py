"""The clusters the simulator starts with: the classic three-node lab, or a generated
cluster of any size for trying scale. Both are fully determined by the seed."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import TypeVar

from vmconsole.backends.sim.engine import Sim
from vmconsole.backends.sim.state import (
    GiB,
    HAGroup,
    HAResource,
    MiB,
    SimDisk,
    SimGuest,
    SimNode,
    SimStorage,
)
from vmconsole.model import GuestKind, HARequest, HAState

T = TypeVar("T")

PROXMOX_OUI = "BC:24:11"  # the MAC prefix Proxmox VE gives new NICs
SHARED = "san"  # the iSCSI LUN every node sees
LOCAL = "local-lvm"  # each node's own thin pool
BACKUP = "local"  # each node's own directory, where vzdump writes by default
_UUID_KEEP = ~(0xF000 << 64 | 0xC000 << 48)  # a UUID's version and variant bits cleared
_UUID_V4 = 4 << 76 | 0x8000 << 48  # version 4, variant RFC 9562
_HEX_BYTES = tuple(f"{b:02X}" for b in range(256))


def choose(bits: Callable[[int], int], options: Sequence[T]) -> T:
    """`random.Random.choice(options)` draw for draw, from that Random's `getrandbits`.

    CPython 3.11's `choice` picks `options[r]` for the first `r = getrandbits(k) < n`,
    with n options and k = n.bit_length() (`Random._randbelow_with_getrandbits`):
    done here without its two Python calls, a third of the time, so a seed keeps its
    cluster (`tests/sim/test_seeded_build.py`) whatever a later `random` does."""
    n = len(options)
    k = n.bit_length()
    r = bits(k)
    while r >= n:
        r = bits(k)
    return options[r]


def new_mac(rng: random.Random) -> str:
    """A NIC's MAC under Proxmox's prefix, e.g. "BC:24:11:3F:A0:07"."""
    # Three draws, left to right, as a generated cluster always had; the bytes come
    # written already.
    bits = rng.getrandbits
    return (f"{PROXMOX_OUI}:{choose(bits, _HEX_BYTES)}:{choose(bits, _HEX_BYTES)}:"
            f"{choose(bits, _HEX_BYTES)}")


def new_uuid(rng: random.Random) -> int:
    """A random (version 4) UUID, as libvirt and Proxmox give a new guest (RFC 9562,
    5.4: the version in bits 48-51, the variant 10 in bits 64-65), as its 128-bit
    number: `SimGuest.uuid` writes it out when read, which the 10,000 guests made
    before a generated cluster's first screen never are."""
    return rng.getrandbits(128) & _UUID_KEEP | _UUID_V4


def _nodes(sim: Sim, count: int, maxcpu: int, maxmem: int) -> None:
    for i in range(1, count + 1):
        # Nodes came up at different moments, so their uptimes differ.
        up_since = sim.now - 86400 * (3 + 2 * i) - 3600 * i
        node = SimNode(f"pve{i}", i, maxcpu, maxmem, f"10.10.10.{10 + i}" if i < 240
                       else f"10.10.{10 + i // 240}.{i % 240 + 10}", up_since=up_since)
        node.lrm.lock_renewed = node.lrm.watchdog_fed = sim.now
        sim.nodes[node.name] = node


def _storages(sim: Sim, shared_size: int, local_size: int) -> None:
    # LVM on an iSCSI LUN: shared by every node, thick volumes, so no linked clones;
    # PVE 9 snapshots such volumes as a qcow2 volume chain.
    sim.storages.append(SimStorage(SHARED, "lvm", True, shared_size, snapshots=True,
                                   linked_clones=False, write_speed=180 * MiB))
    for node in sim.nodes:
        sim.storages.append(SimStorage(LOCAL, "lvmthin", False, local_size, node=node,
                                       snapshots=True, linked_clones=True,
                                       write_speed=400 * MiB))
        # Every Proxmox node's `local` directory: ISO images, templates and backups.
        sim.storages.append(SimStorage(BACKUP, "dir", False, local_size, node=node,
                                       snapshots=False, write_speed=250 * MiB,
                                       content=("iso", "vztmpl", "backup")))


def _guest(sim: Sim, rng: random.Random, vmid: int, name: str, kind: GuestKind, node: str,
           cores: int, mem: int, disk: int, storage: str, ip: str | None,
           tags: tuple[str, ...] = (), template: bool = False) -> SimGuest:
    key = "rootfs" if kind is GuestKind.CT else "scsi0"
    draw = rng.random  # `a + (b - a) * draw()` is `rng.uniform(a, b)`, draw for draw
    volume = SimDisk(key, storage, disk, None if storage == SHARED else node)
    # Positional up to `tags`, in the fields' order: as 16 keywords it cost half as much
    # again.
    guest = SimGuest(
        f"{kind.value}/{vmid}", vmid, name, kind, node, cores, mem, [volume], ip,
        new_mac(rng), new_uuid(rng), len(sim.guests), template, tags,
        disk_used_fraction=0.15 + (0.7 - 0.15) * draw(),
        boot_seconds=18 + (30 - 18) * draw() if kind is GuestKind.VM else 3 + (6 - 3) * draw(),
    )
    # A system that boots slowly also shuts down slowly (and no extra draw of the seed).
    guest.shutdown_seconds = guest.boot_seconds * (0.4 if kind is GuestKind.VM else 0.6)
    sim.guests[guest.id] = guest
    return guest


def _run(sim: Sim, rng: random.Random, guest: SimGuest) -> None:
    """Start a guest as if it had been running for a while before the sim began."""
    inst = sim.start_instance(guest.id, guest.node, booted=True)
    inst.since = sim.now - (3600 + (20 * 86400 - 3600) * rng.random())  # rng.uniform's


def _ha(guest: SimGuest, group: str | None = None) -> None:
    guest.ha = HAResource(HARequest.STARTED, HAState.STARTED, group=group)


def build_classic_lab(sim: Sim, node_count: int) -> None:
    """The lab of the course: pve1..pveN, shared iSCSI-LVM, templates, a few guests."""
    rng = random.Random(f"{sim.seed}:lab")
    _nodes(sim, node_count, 4, 16 * GiB)
    _storages(sim, 100 * GiB, 60 * GiB)
    names = list(sim.nodes)

    def on(i: int) -> str:
        return names[i % len(names)]

    VM, CT = GuestKind.VM, GuestKind.CT
    web = _guest(sim, rng, 100, "web1", VM, on(0), 2, 2 * GiB, 10 * GiB, SHARED,
                 "10.10.10.100", ("web", "prod"))
    db = _guest(sim, rng, 101, "db1", VM, on(1), 2, 4 * GiB, 16 * GiB, SHARED,
                "10.10.10.101", ("db", "prod"))
    build = _guest(sim, rng, 102, "build1", VM, on(2), 2, 2 * GiB, 12 * GiB, LOCAL,
                   "10.10.10.102", ("ci",))
    _guest(sim, rng, 103, "test1", VM, on(0), 1, 1 * GiB, 8 * GiB, SHARED, "10.10.10.103",
           ("lab",))
    dns = _guest(sim, rng, 200, "dns1", CT, on(2), 1, 512 * MiB, 4 * GiB, SHARED,
                 "10.10.10.200", ("infra",))
    proxy = _guest(sim, rng, 201, "proxy1", CT, on(1), 1, 1 * GiB, 4 * GiB, SHARED,
                   "10.10.10.201", ("web",))
    _guest(sim, rng, 9000, "debian12-template", VM, on(0), 2, 2 * GiB, 10 * GiB, SHARED,
           None, ("template",), template=True)
    _guest(sim, rng, 9001, "debian12-ct-template", CT, on(0), 1, 512 * MiB, 4 * GiB,
           LOCAL, None, ("template",), template=True)
    # build1's OS ignores the ACPI power button (no acpid, no guest agent): a shutdown
    # times out, as it would on Proxmox, and only a stop turns it off.
    build.shutdown_seconds = math.inf
    for guest in (web, db, build, dns, proxy):
        _run(sim, rng, guest)
    sim.groups["all-nodes"] = HAGroup("all-nodes", dict.fromkeys(names, 1))
    if len(names) > 1:
        sim.groups["prefer-" + on(1)] = HAGroup("prefer-" + on(1), {
            name: (2 if name == on(1) else 1) for name in names})
    _ha(web)
    _ha(db, group="prefer-" + on(1) if len(names) > 1 else None)
    _ha(dns)


def build_generated(sim: Sim, node_count: int, guest_count: int) -> None:
    """A cluster of any size: mostly running VMs and containers, some HA, two templates."""
    rng = random.Random(f"{sim.seed}:gen")
    # 70,000 draws for 10,000 guests: `choose` is `rng.choice`, draw for draw.
    draw, bits = rng.random, rng.getrandbits
    per_node = max(1, guest_count // node_count)
    maxmem = max(64, 2 ** (per_node * 2).bit_length()) * GiB
    _nodes(sim, node_count, max(8, min(128, per_node // 2 * 2)), maxmem)
    _storages(sim, max(1024, guest_count * 16) * GiB, max(500, per_node * 24) * GiB)
    names = list(sim.nodes)
    sim.groups["all-nodes"] = HAGroup("all-nodes", dict.fromkeys(names, 1))
    for i in range(guest_count):
        vmid = 100 + i
        node = names[i % len(names)]
        if i < 2:
            kind = GuestKind.VM if i == 0 else GuestKind.CT
            storage = SHARED if i == 0 else LOCAL
            _guest(sim, rng, vmid, f"{'vm' if i == 0 else 'ct'}-template-{vmid}", kind, node,
                   2, 2 * GiB, 10 * GiB, storage, None, ("template",), template=True)
            continue
        kind = GuestKind.VM if draw() < 0.7 else GuestKind.CT
        prefix = "vm" if kind is GuestKind.VM else "ct"
        storage = SHARED if draw() < 0.8 else LOCAL
        mem = choose(bits, (512, 1024, 2048, 4096)) * MiB
        ip = f"10.{20 + i // 65024}.{i // 254 % 256}.{i % 254 + 1}"
        tags = (choose(bits, ("web", "db", "ci", "infra", "lab")),)
        guest = _guest(sim, rng, vmid, f"{prefix}-{vmid}", kind, node, choose(bits, (1, 2, 4)),
                       mem, choose(bits, (4, 8, 16, 32)) * GiB, storage, ip, tags)
        if draw() < 0.92:
            _run(sim, rng, guest)
            if storage == SHARED and draw() < 0.1:
                _ha(guest)


def build_named_cluster(sim: Sim, nodes: dict[str, bool],
                        guests: list[tuple[int, GuestKind, str, bool]]) -> None:
    """A cluster described by a lesson: named nodes (name -> powered) of 4 cores and
    16 GiB on shared storage, and small guests (vmid, kind, node, running) on it."""
    rng = random.Random(f"{sim.seed}:named")
    for i, (name, powered) in enumerate(nodes.items(), 1):
        node = SimNode(name, i, 4, 16 * GiB, f"10.10.10.{10 + i}", powered=powered,
                       up=powered, up_since=sim.now - 86400 * i)
        node.lrm.lock_renewed = node.lrm.watchdog_fed = sim.now
        sim.nodes[name] = node
    _storages(sim, 100 * GiB, 60 * GiB)
    for vmid, kind, node_name, running in guests:
        prefix = "vm" if kind is GuestKind.VM else "ct"
        guest = _guest(sim, rng, vmid, f"{prefix}{vmid}", kind, node_name, 1, 1 * GiB,
                       4 * GiB, SHARED, f"10.10.{11 + vmid // 250}.{vmid % 250 + 1}")
        if running and sim.nodes[node_name].alive:
            _run(sim, rng, guest)
