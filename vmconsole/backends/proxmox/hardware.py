"""A Proxmox guest's vCPUs, memory, disks and NIC links, through its config API.

PVE writes a change to a running guest's config as *pending* unless it can hotplug it
(qemu-server's `vmconfig_hotplug_pending`; pve-container's for LXC), and applies the
pending section at the next start. So the console predicts from the config (a VM's
`hotplug` and `numa`; a container takes cores and memory at once) and, after each
`PUT .../config`, reads `.../pending` to say what PVE really did. Disks grow with
`PUT .../resize`, which PVE 8 runs as a task. Every write carries the config's
`digest`, so a change made by someone else in between is refused, not overwritten.

Sources: the PVE API viewer (nodes/{node}/qemu/{vmid}/config, pending, resize; lxc
alike) and the Proxmox VE admin guide, "Hotplug" and "CPU" in the qm chapter.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from vmconsole.backends.base import InvalidInput, Task
from vmconsole.backends.hardware import (
    DiskInfo,
    GiB,
    GuestHardware,
    HardwareChange,
    MiB,
    NicInfo,
    check,
    gib,
)
from vmconsole.backends.proxmox.answers import INTEGER, TEXT, Record, Records, converts
from vmconsole.backends.proxmox.answers import read as read_answer
from vmconsole.backends.proxmox.guest_ref import CURRENT
from vmconsole.backends.proxmox.inventory import RESOURCES
from vmconsole.backends.proxmox.tasks import ask_upid_if_any
from vmconsole.model import GuestKind

if TYPE_CHECKING:
    from vmconsole.backends.proxmox.backend import ProxmoxBackend
    from vmconsole.backends.proxmox.guest_ref import GuestRef

Call = Callable[..., Any]

# qemu-server's default `hotplug` ("network,disk,usb"); "1" is every feature, "0" none.
DEFAULT_HOTPLUG = ("network", "disk", "usb")
ALL_HOTPLUG = ("network", "disk", "cpu", "memory", "usb", "cloudinit")
_QEMU_DISK = re.compile(r"^(ide|sata|scsi|virtio)\d+$")
_CT_DISK = re.compile(r"^(rootfs|mp\d+)$")
_NIC = re.compile(r"^net\d+$")
_MAC = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)([KMGT]?)$")
_UNIT = {"": 1, "K": 1024, "M": MiB, "G": GiB, "T": 1024 * GiB}
# Why a running VM's change went pending, by operation (qemu-server hotplugs vcpus with
# `cpu`, memory with `memory` and NUMA, a NIC with `network`).
_NOT_HOTPLUGGED = {"vcpus": "PVE hotplugs vCPUs only with 'cpu' in hotplug, up to cores "
                            "x sockets",
                   "memory": "PVE hotplugs memory only with 'memory' in hotplug and NUMA on",
                   "link": "PVE did not hotplug the NIC"}
LXC_DEFAULT_MEMORY = 512  # MiB, pve-container's default


def split_props(value: str) -> tuple[str, dict[str, str]]:
    """A PVE property string "vol,key=value,..." as (its leading item, the rest): a
    drive's volume, or a VM NIC's "model=MAC" (the model is the key, the MAC its value)."""
    items = str(value).split(",")
    lead = items[0] if "=" not in items[0] or _MAC.match(items[0].partition("=")[2]) else ""
    props = dict(i.partition("=")[::2] for i in items[1 if lead else 0:] if "=" in i)
    return lead, props


def size_bytes(text: str) -> int:
    """PVE's size ("8G", "512M", "1.5T", bytes) in bytes; 0 when it is not one."""
    match = _SIZE.match(text.strip())
    return int(float(match.group(1)) * _UNIT[match.group(2)]) if match else 0


def hotplug(config: dict[str, Any]) -> tuple[str, ...]:
    """A VM's hotplug features."""
    text = str(config.get("hotplug", ",".join(DEFAULT_HOTPLUG)))
    if text == "1":
        return ALL_HOTPLUG
    return () if text == "0" else tuple(text.split(","))


def memory_mib(value: object, default: int) -> int:
    """`memory` as PVE writes it: "2048" or, since PVE 8.1, "current=2048"."""
    text = str(value if value is not None else default)
    return int(text.partition("current=")[2].split(",")[0] or text.split(",")[0])


# The answers read here (`answers.read`): the keys of a guest's config converted here (a
# disk's or a NIC's property string is read as text, whatever it holds), and its pending
# section (PVE's `key`, with `pending` or `delete`).
CONFIG = Record({"cores": INTEGER, "sockets": INTEGER, "vcpus": INTEGER,
                 "memory": converts(lambda value: memory_mib(value, 0)), "hotplug": TEXT,
                 "numa": TEXT, "digest": TEXT})
PENDING = Records({"key": TEXT}, required={"*": ("key",)})


def read(backend: ProxmoxBackend, ref: GuestRef) -> GuestHardware:
    """The guest's hardware: its config as it runs (`current=1`), its pending section,
    and its node's CPUs and memory from /cluster/resources. Raises the call's
    BackendError, or `answers.not_pve`'s for an answer of another shape."""
    call = backend.conn.call
    config: dict[str, Any] = read_answer(call, f"{ref.path}/config", CONFIG, current=1)
    pending = [p for p in read_answer(call, f"{ref.path}/pending", PENDING)
               if "pending" in p or p.get("delete")]
    status = read_answer(call, f"{ref.path}/status/current", CURRENT)["status"]
    nodes = read_answer(call, "/cluster/resources", RESOURCES, type="node")
    node: dict[str, Any] = next((n for n in nodes if n.get("node") == ref.node), {})
    host_cpus, host_memory = int(node.get("maxcpu") or 1), int(node.get("maxmem") or 0)
    running = status == "running"
    waiting = tuple(f"{p['key']}: {'(removed)' if p.get('delete') else p['pending']}"
                    for p in pending)
    if ref.kind is GuestKind.CT:
        return GuestHardware(
            guest_id=ref.id, running=running,
            vcpus=int(config.get("cores") or host_cpus),
            memory=memory_mib(config.get("memory"), LXC_DEFAULT_MEMORY) * MiB,
            host_cpus=host_cpus, host_memory=host_memory,
            disks=_disks(config, _CT_DISK), nics=_nics(config),
            vcpus_live_max=host_cpus, memory_live_max=host_memory, memory_live_shrink=True,
            pending=waiting)
    sockets, cores = int(config.get("sockets") or 1), int(config.get("cores") or 1)
    features = hotplug(config)
    numa = str(config.get("numa", "0")) == "1"
    live_cpu = "cpu" in features
    live_memory = "memory" in features and numa
    why = [] if live_cpu else ["vCPUs need 'cpu' in the VM's hotplug option"]
    if not live_memory:
        why.append("memory needs 'memory' in hotplug and NUMA on")
    return GuestHardware(
        guest_id=ref.id, running=running,
        vcpus=int(config.get("vcpus") or sockets * cores),
        memory=memory_mib(config.get("memory"), 512) * MiB,
        host_cpus=host_cpus, host_memory=host_memory,
        disks=_disks(config, _QEMU_DISK), nics=_nics(config),
        vcpus_live_max=sockets * cores if live_cpu else None,
        memory_live_max=host_memory if live_memory else None,
        nic_live="network" in features, pending=waiting,
        why_not_live=("; ".join(why) + f" (hotplug: {','.join(features) or 'none'})")
        if why else "")


def _disks(config: dict[str, Any], keys: re.Pattern[str]) -> tuple[DiskInfo, ...]:
    found = []
    for key in sorted(config):
        if not keys.match(key):
            continue
        volume, props = split_props(config[key])
        if props.get("media") == "cdrom" or volume == "none":
            continue
        found.append(DiskInfo(key, size_bytes(props.get("size", "")), volume))
    return tuple(found)


def _nics(config: dict[str, Any]) -> tuple[NicInfo, ...]:
    found = []
    for key in sorted(config):
        if not _NIC.match(key):
            continue
        first, props = split_props(config[key])
        model, _, mac = first.partition("=")
        detail = ", ".join(x for x in (props.get("name"), model if mac else "",
                                       f"bridge {props['bridge']}" if "bridge" in props else "",
                                       mac or props.get("hwaddr", "")) if x)
        found.append(NicInfo(key, props.get("link_down") != "1", detail))
    return tuple(found)


def with_link(value: str, up: bool) -> str:
    """A NIC's property string with its link up (no `link_down`) or down."""
    items = [i for i in str(value).split(",") if not i.startswith("link_down=")]
    return ",".join(items if up else [*items, "link_down=1"])


def apply(backend: ProxmoxBackend, ref: GuestRef, operation: str,
          change: HardwareChange) -> Task:
    """One change, checked by `hardware.check` first, as one task whose log says
    whether PVE applied it or holds it pending."""
    call = backend.conn.call
    hw = read(backend, ref)
    check(hw, change)
    config: dict[str, Any] = read_answer(call, f"{ref.path}/config", CONFIG, current=1)
    digest = config.get("digest")
    if change.disks:
        disk, size = next(iter(change.disks.items()))
        upid = ask_upid_if_any(call, "PUT", f"{ref.path}/resize", disk=disk,
                               size=f"{size // MiB}M", digest=digest)
        before = hw.disk(disk)
        line = f"{disk} grows from {gib(before.size if before else 0)} GiB to {gib(size)} GiB"
        if upid is not None:
            return backend._tracker.start(upid, "resize", ref.id)
        return backend._done("resize", ref, [line])
    params, what = _config_params(ref, hw, config, change)
    call("PUT", f"{ref.path}/config", digest=digest, **params)
    waiting = {p["key"] for p in read_answer(call, f"{ref.path}/pending", PENDING)
               if "pending" in p}
    keys = [k for k in params if k != "delete"]
    if hw.running and any(k in waiting for k in keys):
        outcome = f"pending until its next start ({_NOT_HOTPLUGGED[operation]}; hotplug: " \
                  f"{','.join(hotplug(config)) or 'none'})" if ref.kind is GuestKind.VM \
            else "pending until its next start (PVE did not hotplug it)"
    else:
        outcome = "applied to the running guest" if hw.running else "applied"
    return backend._done(operation, ref, [f"{what}: {outcome}",
                                          "config: " + ", ".join(f"{k}={v}" for k, v in
                                                                 params.items())])


def _config_params(ref: GuestRef, hw: GuestHardware, config: dict[str, Any],
                   change: HardwareChange) -> tuple[dict[str, Any], str]:
    """The config keys that make `change`, and the change for people."""
    if change.vcpus is not None:
        count = change.vcpus
        what = f"vCPUs {hw.vcpus} → {count}"
        if ref.kind is GuestKind.CT:
            return {"cores": count}, what
        sockets = int(config.get("sockets") or 1)
        total = sockets * int(config.get("cores") or 1)
        if hw.running and hw.vcpus_live_max is not None and count <= total:
            return {"vcpus": count}, what  # hotplugged within the topology
        if count % sockets:
            raise InvalidInput(f"the VM has {sockets} sockets: vCPUs must be a multiple "
                               f"of {sockets}", {"vcpus": f"a multiple of {sockets}"})
        params: dict[str, Any] = {"cores": count // sockets}
        if "vcpus" in config:
            params["delete"] = "vcpus"
        return params, what
    if change.memory is not None:
        return ({"memory": change.memory // MiB},
                f"memory {hw.memory // MiB} → {change.memory // MiB} MiB")
    nic, up = next(iter(change.links.items()))
    return ({nic: with_link(config[nic], up)}, f"{nic} link {'up' if up else 'down'}")
