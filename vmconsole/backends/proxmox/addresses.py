"""A Proxmox guest's addresses: what its QEMU guest agent reports
(`GET /nodes/{node}/qemu/{vmid}/agent/network-get-interfaces`, asked only when the
config enables the agent and the VM runs), a container's own interfaces
(`GET /nodes/{node}/lxc/{vmid}/interfaces`), and as a fallback the config's static
`ip=`/`ip6=` (a VM's cloud-init `ipconfigN`, a container's `netN`; "dhcp", "auto" and
"manual" are no address). Two or three calls per guest: `backends.addresses.AddressBook`
decides when they are made."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from vmconsole.backends.base import BackendError
from vmconsole.backends.proxmox.answers import TEXT, Record, read
from vmconsole.model import AddressSource, Guest, GuestAddress, GuestKind

Call = Callable[..., Any]
_NET_KEY = re.compile(r"(?:net|ipconfig)(\d+)")
# A guest's config: an object of options (`agent`, `netN`, `ipconfigN`: strings).
CONFIG = Record({"agent": TEXT})


def read_addresses(call: Call, guest: Guest) -> tuple[tuple[GuestAddress, ...], str | None]:
    """(addresses, why none) of a PVE guest: the live source's first, then the static
    config's. `call(method, path)` is `Connection.call`; a failure to read the config
    raises its BackendError, an agent's failure becomes the note."""
    path = f"/nodes/{guest.node}/{guest.kind.value}/{guest.vmid}"
    config: Mapping[str, Any] = read(call, f"{path}/config", CONFIG)
    static = static_addresses(config, guest.kind)
    live: tuple[GuestAddress, ...] = ()
    note: str | None = None
    if not guest.running:
        note = "stopped"
    elif guest.kind is GuestKind.CT:
        live = interface_addresses(call("GET", f"{path}/interfaces") or [],
                                   AddressSource.CONTAINER)
        note = None if live else "the container reports no address"
    elif not agent_enabled(config.get("agent")):
        note = "no guest agent configured (Options > QEMU Guest Agent)"
    else:
        try:
            answer = call("GET", f"{path}/agent/network-get-interfaces") or {}
        except BackendError as exc:
            note = ("the guest agent is not running" if "not running" in exc.message
                    else f"the guest agent did not answer: {exc.message}")
        else:
            result = answer.get("result", []) if isinstance(answer, Mapping) else []
            live = interface_addresses(result, AddressSource.AGENT)
            note = None if live else "the guest agent reports no address"
    return live + static, note


def agent_enabled(value: object) -> bool:
    """PVE's `agent` option: "1", "enabled=1,fstrim_cloned_disks=1", "0" (qm.conf(5))."""
    if value is None:
        return False
    first = str(value).split(",")[0]
    return first.split("=", 1)[-1].strip() in ("1", "yes", "on", "true")


def interface_addresses(interfaces: Iterable[Mapping[str, Any]], source: AddressSource
                        ) -> tuple[GuestAddress, ...]:
    """Addresses from the agent's `network-get-interfaces` (`ip-addresses` of
    {`ip-address`, `prefix`}) or a container's `interfaces` (the same, or older PVE's
    `inet`/`inet6` "ADDRESS/PREFIX"), loopback included: the reader shows every
    address; `GuestAddress.probeable` decides what is probed."""
    out: list[GuestAddress] = []
    for item in interfaces:
        if not isinstance(item, Mapping):
            continue
        name = str(item.get("name") or "")
        mac = str(item.get("hardware-address") or item.get("hwaddr") or "")
        listed = item.get("ip-addresses")
        if isinstance(listed, list):
            pairs = [(str(a.get("ip-address") or ""), a.get("prefix")) for a in listed
                     if isinstance(a, Mapping)]
        else:
            pairs = [_cidr(str(item[k])) for k in ("inet", "inet6") if item.get(k)]
        out += [GuestAddress(ip, source, name, _int(prefix), mac) for ip, prefix in pairs
                if ip]
    return tuple(out)


def static_addresses(config: Mapping[str, Any], kind: GuestKind) -> tuple[GuestAddress, ...]:
    """The config's fixed addresses: `ipconfigN` for a VM (cloud-init), `netN` for a
    container, each named after its netN and carrying that NIC's MAC."""
    prefix = "ipconfig" if kind is GuestKind.VM else "net"
    out: list[GuestAddress] = []
    keys = sorted((int(m[1]), m[0]) for k in config
                  if (m := _NET_KEY.fullmatch(k)) and k.startswith(prefix))
    for index, key in keys:
        props = _props(str(config[key]))
        nic = props if kind is GuestKind.CT else _props(str(config.get(f"net{index}", "")))
        name = props.get("name", "") if kind is GuestKind.CT else f"net{index}"
        for field in ("ip", "ip6"):
            ip, bits = _cidr(props.get(field, ""))
            if ip and ip not in ("dhcp", "auto", "manual"):
                out.append(GuestAddress(ip, AddressSource.CONFIG, name, _int(bits),
                                        _mac(nic)))
    return tuple(out)


def _props(text: str) -> dict[str, str]:
    """"virtio=BC:24:11:00:00:01,bridge=vmbr0" as {"virtio": "BC:...", "bridge": ...}."""
    pairs = (part.split("=", 1) for part in text.split(",") if "=" in part)
    return {k.strip(): v.strip() for k, v in pairs}


def _mac(nic: Mapping[str, str]) -> str:
    """A NIC's MAC: a container's `hwaddr`, or a VM's `MODEL=MAC`."""
    if nic.get("hwaddr"):
        return nic["hwaddr"]
    return next((v for v in nic.values() if re.fullmatch(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}",
                                                          v)), "")


def _cidr(text: str) -> tuple[str, str | None]:
    address, _, bits = text.partition("/")
    return address.strip(), bits or None


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None
