"""`lab up`, `lab down` and `lab status`: build, remove and describe the lab."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import libvirt

from vmconsole.backends.libvirt.eventloop import ensure_event_loop
from vmconsole.config.real_clusters import ha_time_refusal
from vmconsole.jsontext import parse_json
from vmconsole.lab import (
    cgroups,
    checks,
    daemon,
    dhcp,
    faults,
    guests,
    hamanager,
    initramfs,
    network,
    partition,
    san,
)
from vmconsole.lab import containers as containers_mod
from vmconsole.lab.layout import (
    CT_TEMPLATE,
    LAN_NS,
    MAX_CONTAINERS,
    MAX_GUESTS,
    MAX_NODES,
    PORTAL,
    PROFILE,
    SAN_IQN,
    SAN_LUNS,
    TEMPLATE,
    Layout,
    NodeLayout,
    lab_root,
    layout,
)
from vmconsole.lab.profile import has_profile, remove_profile, write_profile
from vmconsole.lab.shell import LabError, LabRefused

Say = Callable[[str], None]
MAX_HA_GUESTS = 6  # of the san's LUNs: the others stay for clones


@dataclass(frozen=True, slots=True)
class LabSize:
    nodes: int
    guests: int
    containers: int = 0


def read_size(root: Path | None = None) -> LabSize | None:
    path = (root or lab_root()) / "lab.json"
    try:
        data = parse_json(path.read_text())
        return LabSize(int(data["nodes"]), int(data["guests"]), int(data.get("containers", 0)))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):  # a file not ours
        return None


def _connect(node: NodeLayout, uri: str | None = None) -> libvirt.virConnect:
    try:
        return libvirt.open(uri or node.uri)
    except libvirt.libvirtError as exc:
        raise LabError(f"cannot reach {node.name}'s libvirtd at {node.socket}: "
                       f"{exc.get_error_message()}") from None


def _probe_capabilities(node: NodeLayout) -> None:
    """Make libvirtd probe QEMU now (~8 s, once), so its cache can seed the others."""
    conn = _connect(node)
    try:
        conn.getDomainCapabilities(None, "x86_64", None, "qemu", 0)
    finally:
        conn.close()


def up(nodes: int, guest_count: int, config: Path, say: Say, containers: int = 1,
       ha_guests: int = 0, ha_times: dict[str, float] | None = None) -> Layout:
    """Build the lab (or complete it: idempotent); a bigger lab already up is kept.
    The first `ha_guests` guests made are HA services on the `san`; an HA manager
    (`vmconsole ha run --profile lab`, fencing by the lab's power-off) is started with
    `ha_times` (`round`, `fence_delay`, `lock_lease`: seconds) over Proxmox's."""
    if problems := checks.problems():
        raise LabRefused("; ".join(problems))
    if (not 1 <= nodes <= MAX_NODES or not 0 <= guest_count <= MAX_GUESTS
            or not 0 <= containers <= MAX_CONTAINERS):
        raise LabRefused(f"--nodes is 1..{MAX_NODES}, --guests 0..{MAX_GUESTS} and "
                         f"--containers 0..{MAX_CONTAINERS}")
    if not 0 <= ha_guests <= min(guest_count, MAX_HA_GUESTS):
        raise LabRefused(f"--ha-guests is 0..{MAX_HA_GUESTS} and at most --guests "
                         f"(each takes a LUN of the {SAN_LUNS} on the san)")
    # Checked as the profile's reader will check them, before anything is built: the
    # profile is written last, and `--ha-round nan` built the whole lab to fail there.
    for key, value in (ha_times or {}).items():
        if (why := ha_time_refusal(key, value)) is not None:
            raise LabRefused(f"--ha-{key.replace('_', '-')}: {why}")
    started = time.monotonic()
    ensure_event_loop()  # also keeps libvirt from printing its errors twice
    previous = read_size()
    if previous and (previous.nodes > nodes or previous.guests > guest_count
                     or previous.containers > containers):
        say(f"the lab already has {previous.nodes} nodes, {previous.guests} guests and "
            f"{previous.containers} containers: keeping them (lab down first to shrink it)")
        nodes, guest_count = max(nodes, previous.nodes), max(guest_count, previous.guests)
        containers = max(containers, previous.containers)
    lab = layout(nodes, guest_count, containers=containers)
    lab.root.mkdir(parents=True, exist_ok=True)
    lab.state_file.write_text(json.dumps({"nodes": nodes, "guests": guest_count,
                                          "containers": containers}))
    if not (lab.rootfs / "sbin" / "init").exists():
        containers_mod.build_rootfs(lab.rootfs)
    kernel = Path(checks.kernel_image() or "")
    initrd = lab.boot_dir / "initrd.img"
    if not initrd.exists():
        lab.boot_dir.mkdir(parents=True, exist_ok=True)
        initramfs.build(kernel.name.removeprefix("vmlinuz-"), initrd)
        say(f"guest initramfs built from {kernel.name}'s modules: {initrd}")
    network.ensure_lan()
    if (split := partition.heal(lab.root)) is not None:
        say(f"the LAN was partitioned ({split}): whole again")
    san.start(lab)
    dhcp.start(lab)
    for node in lab.nodes:
        if (fault := faults.restore(node)) is not None:
            say(f"{node.name} had lost its {fault.value}: restored")
        network.ensure_node(node)
        daemon.prepare(node)
    first = lab.nodes[0]
    daemon.start(first)
    _probe_capabilities(first)
    for node in lab.nodes[1:]:
        daemon.seed_capabilities(first, node)
        daemon.start(node)
    conns = {node.name: _connect(node) for node in lab.nodes}
    lxc = {node.name: _connect(node, node.lxc_uri) for node in lab.nodes}
    try:
        for node in lab.nodes:
            guests.ensure_pool(conns[node.name], node)
            guests.ensure_san_pool(conns[node.name], node)
        guests.ensure_template(conns[first.name], kernel, initrd)
        for guest in lab.guests:
            where = guests.find_guest(conns, guest.name) or guest.node.name
            # HA guests take the last LUNs; clones take the free ones from the first
            lun = SAN_LUNS + 1 - guest.index if guest.index <= ha_guests else None
            guests.ensure_guest(conns[where], guest, kernel, initrd, lun)
        containers_mod.ensure_template(lxc[first.name], lab.rootfs)
        for ct in lab.containers:
            where = guests.find_guest(lxc, ct.name) or ct.node.name
            containers_mod.ensure_container(lxc[where], ct, lab.rootfs)
    except libvirt.libvirtError as exc:
        raise LabError(f"libvirt: {exc.get_error_message()}") from None
    finally:
        for conn in [*conns.values(), *lxc.values()]:
            with suppress(libvirt.libvirtError):
                conn.close()
    ha: dict[str, float | str] = {"fence": "lab", "status_file": str(hamanager.status_file(lab)),
                                   **(ha_times or {})}
    write_profile(config, [node.uri for node in lab.nodes] + [n.lxc_uri for n in lab.nodes],
                  probe_netns=LAN_NS, lab_dir=lab.root, ha=ha)
    say(f"HA manager started (pid {hamanager.start(lab, config)}): "
        f"`vmconsole ha status --profile lab`; its log is {hamanager.ha_dir(lab)}/manager.log")
    say(f"lab up in {time.monotonic() - started:.1f} s: {nodes} nodes, {guest_count} guests, "
        f"{containers} containers, templates {TEMPLATE} and {CT_TEMPLATE} on {first.name}; "
        f"profile 'lab' in {config}")
    return lab


def _known_layout() -> Layout:
    """The lab as recorded, or as found (nodes' directories and namespaces)."""
    size = read_size()
    if size:
        return layout(size.nodes, size.guests, containers=size.containers)
    root = lab_root()
    found = [int(p.name[3:]) for p in (root / "nodes").glob("pve*") if p.name[3:].isdigit()]
    found += [int(n.removeprefix("vmclab-pve")) for n in network.lab_namespaces()
              if n.removeprefix("vmclab-pve").isdigit()]
    return layout(max(found, default=1), 0)


def _remove_files(lab: Layout) -> list[str]:
    """Only what the lab wrote: $VMCONSOLE_LAB_DIR may name a directory that holds more.
    Returns what is left."""
    for made in (lab.root / "nodes", lab.boot_dir, lab.san_dir, lab.rootfs.parent,
                 hamanager.ha_dir(lab)):
        shutil.rmtree(made, ignore_errors=True)
    lab.state_file.unlink(missing_ok=True)
    with suppress(OSError):
        lab.root.rmdir()
    return [f"{lab.root} (holds files the lab did not make)"] if lab.root.exists() else []


def down(config: Path, say: Say) -> list[str]:
    """Remove everything the lab made; returns what could not be removed."""
    if problems := checks.problems():
        raise LabError("; ".join(problems))
    ensure_event_loop()
    lab = _known_layout()
    left: list[str] = []
    if hamanager.stop(lab):  # first: it would start again what the teardown stops
        say("HA manager stopped")
    for node in lab.nodes:
        if daemon.pid_of(node) is not None:
            for uri in (node.uri, node.lxc_uri):
                with suppress(libvirt.libvirtError):
                    conn = libvirt.open(uri)
                    guests.destroy_all(conn)
                    conn.close()
        daemon.stop(node)
        left += [str(p) for p in cgroups.remove(node.name)]
        network.remove_netns(node.netns)
    dhcp.stop(lab)
    san.stop(lab)
    network.remove_netns(LAN_NS)
    for name in network.lab_namespaces():  # nodes of a bigger lab than recorded
        network.remove_netns(name)
    left += _remove_files(lab)
    if remove_profile(config):
        say(f"profile 'lab' removed from {config}")
    left += network.lab_namespaces() + [str(p) for p in cgroups.leftovers()] + san.leftovers()
    say("lab down" + (f"; left behind: {', '.join(left)}" if left else ": nothing left"))
    return left


def status(config: Path) -> list[str]:
    """Lines that say what of the lab is up."""
    lab = _known_layout()
    lan = "up" if network.netns_exists(LAN_NS) else "absent"
    lines = [f"LAN namespace: {LAN_NS} ({lan}); probe guests with "
             f"`ip netns exec {LAN_NS} ping ...` or `vmconsole ping --netns {LAN_NS} ...`",
             f"lab directory: {lab.root}" + ("" if lab.root.exists() else " (absent)"),
             f"profile '{PROFILE}' in {config}: "
             + ("present" if has_profile(config) else "absent")]
    if not lab.root.exists() and lan == "absent":
        return [*lines, "the lab is down (vmconsole lab up builds it)"]
    tgtd = san.pid(lab)
    lines.append(f"iSCSI target {SAN_IQN} at {PORTAL}:3260: " + (
        f"tgtd pid {tgtd}, {SAN_LUNS} LUNs, {san.sessions()} sessions" if tgtd else "down"))
    leases = ", ".join(f"{lease.ip} ({lease.mac})" for lease in dhcp.leases(lab))
    lines.append(f"DHCP leases: {leases or 'none'}")
    if (split := partition.current(lab.root)) is not None:
        lines.append(f"LAN PARTITIONED: {split} (restore everything in the console's f menu)")
    manager = hamanager.pid(lab)
    lines.append(f"HA manager: pid {manager} (vmconsole ha status --profile lab)" if manager
                 else "HA manager: not running (vmconsole lab up starts it)")
    ensure_event_loop()
    for node in lab.nodes:
        pid = daemon.pid_of(node)
        ns = "netns up" if network.netns_exists(node.netns) else "netns absent"
        if (fault := faults.current(node)) is not None:
            ns += f", FAILED: lost its {fault.value} (lab restore {node.name})"
        if pid is None:
            lines.append(f"{node.name}: {node.ip}, {ns}, libvirtd not running")
            continue
        try:
            doms = []
            for uri in (node.uri, node.lxc_uri):
                conn = libvirt.open(uri)
                doms += sorted(f"{d.name()}({'running' if d.isActive() else 'stopped'})"
                               for d in conn.listAllDomains(0))
                conn.close()
        except libvirt.libvirtError as exc:
            doms = [f"unreachable: {exc.get_error_message()}"]
        lines.append(f"{node.name}: {node.ip}, {ns}, libvirtd pid {pid}, {node.uri}; "
                     f"guests: {', '.join(doms) or 'none'}")
    return lines


def node_named(name: str) -> NodeLayout:
    """A node of the lab as recorded; LabError names the nodes there are."""
    lab = _known_layout()
    if not lab.root.exists():
        raise LabError("the lab is down (vmconsole lab up builds it)")
    for node in lab.nodes:
        if node.name == name:
            return node
    raise LabError(f"no node {name!r} in the lab (nodes: "
                   f"{', '.join(n.name for n in lab.nodes)})")


def fail(name: str, fault: faults.LabFault, say: Say) -> None:
    """`lab fail NODE --power|--network|--storage`."""
    if problems := checks.problems():
        raise LabError("; ".join(problems))
    node = node_named(name)
    faults.fail(node, fault)
    say(f"{name} has lost its {fault.value}; `vmconsole lab restore {name}` brings it back")


def restore(name: str, say: Say) -> None:
    """`lab restore NODE`."""
    if problems := checks.problems():
        raise LabError("; ".join(problems))
    fault = faults.restore(node_named(name))
    say(f"{name}: {fault.value} restored" if fault else f"{name} had no fault")
