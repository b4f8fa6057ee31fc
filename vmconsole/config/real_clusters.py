"""The clusters of real hypervisors: libvirt hosts (with the `ha` table of their HA
manager), Proxmox VE and vCenter, and the reading of their `[[profiles.NAME.clusters]]`
tables, each key checked where the backend would fail on it later.

`clusters.read_cluster` imports this module when a profile names such a cluster: the demo
and profiles of simulated clusters make none of these records, and a dataclass costs its
import the writing of each generated method from source (Python 3.11), about half a
millisecond each, on every start (issue 12)."""

from __future__ import annotations

import ipaddress
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vmconsole.config.reader import TableReader, secret


@dataclass(frozen=True, slots=True)
class HAManagerConfig:
    """A libvirt cluster's `ha` table: how `vmconsole ha run` watches, fences and
    recovers (README, "HA on plain libvirt"). Times are seconds; the defaults are
    pve-ha-manager's (CRM round 10 s, fence delay 60 s). `lock_lease` is the least time
    from a node's loss to the recovery of its services: 0, since a fence here is
    confirmed (Proxmox waits 120 s for an unconfirmed watchdog self-fence; set 120 to
    show its timeline). `fence` is "command" (`fence_command`, whose exit status 0 is
    the confirmation; `{node}` and `{uri}` are filled in) or "lab" (the lab's power-off).
    `quorum_device` is a command whose success is the tie-breaker's vote. `probe`
    ("icmp" or "tcp:PORT", None: none) also judges a node by its address (its URI's
    host, or `probe_addresses`), each attempt waiting `probe_timeout` seconds. `crs`
    is the scheduler that places a recovered service, as Proxmox's datacenter.cfg `crs:
    ha=`: "basic" (fewest HA services), "static" or "dynamic" (TOPSIS over CPU and
    memory, configured or in use)."""

    round: float = 10.0
    fence_delay: float = 60.0
    lock_lease: float = 0.0
    fence: str = "command"
    fence_command: tuple[str, ...] = ()
    fence_timeout: float = 60.0
    quorum_device: tuple[str, ...] = ()
    status_file: str | None = None  # None: beside the audit log, named after the cluster
    probe: str | None = None
    probe_addresses: tuple[tuple[str, str], ...] = ()  # (node, address)
    probe_timeout: float = 1.0
    crs: str = "basic"


@dataclass(frozen=True, slots=True)
class LibvirtCluster:
    """A `[[profiles.NAME.clusters]]` table of kind "libvirt": one node per host URI in
    `uris` (docs/libvirt.md); `timeout` the seconds any one host may take to answer."""

    name: str
    uris: tuple[str, ...]
    kind: str = "libvirt"
    timeout: float = 10.0
    probe_netns: str | None = None  # the network namespace the guests are reached from
    lab_dir: str | None = None  # a `vmconsole lab`'s directory: its nodes can be failed
    ha: HAManagerConfig | None = None  # None: no `ha` table, no manager for it


@dataclass(frozen=True, slots=True)
class ProxmoxCluster:
    """A `[[profiles.NAME.clusters]]` table of kind "proxmox": a PVE API endpoint
    (`host`:`port`) reached with an API token or a password, `timeout` in seconds per
    call. The secrets are left out of its repr."""

    name: str
    host: str
    user: str
    port: int = 8006
    token_name: str | None = None
    token_secret: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    verify_ssl: bool = True
    ca_file: str | None = None
    fingerprint: str | None = None
    timeout: float = 10.0
    kind: str = "proxmox"


@dataclass(frozen=True, slots=True)
class VCenterCluster:
    """A VMware vCenter Server, reached through its SOAP API (pyvmomi) as one user."""

    name: str
    host: str
    user: str
    password: str | None = field(default=None, repr=False)
    port: int = 443
    verify_ssl: bool = True
    ca_file: str | None = None
    fingerprint: str | None = None  # SHA-256 of the server's certificate
    timeout: float = 10.0
    kind: str = "vcenter"


_LIBVIRT_KEYS = {"kind", "name", "uris", "timeout", "probe_netns", "lab_dir", "ha"}
_HA_KEYS = {"round", "fence_delay", "lock_lease", "fence", "fence_command", "fence_timeout",
            "quorum_device", "status_file", "probe", "probe_addresses", "probe_timeout",
            "crs"}


def _command(r: TableReader, table: dict[str, Any], key: str, prefix: str) -> tuple[str, ...]:
    value = r.get(table, key, prefix, list, [])
    if not all(isinstance(word, str) for word in value):
        raise r.fail(f"{prefix}.{key}", "expected a command as a list of strings, such as "
                     '["fence_ipmilan", "--ip", "{node}-ipmi", "--action", "off"]')
    return tuple(value)


#: The HA manager's times, in seconds: (least, most) of each. A round or a fence's
#: timeout of 0 would spin; an hour bounds what a lesson waits for.
HA_TIME_BOUNDS = {"round": (0.1, 3600.0), "fence_delay": (0.0, 3600.0),
                  "lock_lease": (0.0, 3600.0), "fence_timeout": (0.1, 3600.0)}


def ha_time_refusal(key: str, value: float) -> str | None:
    """Why `value` seconds cannot be the HA manager's `key` (a key of HA_TIME_BOUNDS),
    or None when it can. NaN and infinity are refused (no comparison holds for NaN)."""
    least, most = HA_TIME_BOUNDS[key]
    if least <= value <= most:
        return None
    return f"expected {least:g} to {most:g} seconds, got {value:g}"


def _ha_manager(r: TableReader, table: dict[str, Any], prefix: str) -> HAManagerConfig:
    r.unknown(table, _HA_KEYS, prefix)
    times = {key: r.get(table, key, prefix, float, default) for key, default in (
        ("round", 10.0), ("fence_delay", 60.0), ("lock_lease", 0.0), ("fence_timeout", 60.0))}
    for key, value in times.items():
        if (why := ha_time_refusal(key, value)) is not None:
            raise r.fail(f"{prefix}.{key}", why)
    fence = r.get(table, "fence", prefix, str, "command")
    if fence not in ("command", "lab"):
        raise r.fail(f"{prefix}.fence", f"expected \"command\" or \"lab\", got {fence!r}")
    command = _command(r, table, "fence_command", prefix)
    if fence == "command" and not command:
        raise r.fail(f"{prefix}.fence_command", "fence = \"command\" needs a fence_command: "
                     "recovery never happens without a confirmed fence")
    crs = r.get(table, "crs", prefix, str, "basic")
    if crs not in ("basic", "static", "dynamic"):
        raise r.fail(f"{prefix}.crs", f"expected \"basic\", \"static\" or \"dynamic\", "
                     f"got {crs!r}")
    return HAManagerConfig(fence=fence, fence_command=command, crs=crs,
                           quorum_device=_command(r, table, "quorum_device", prefix),
                           status_file=r.get(table, "status_file", prefix, str), **times,
                           **_node_probe(r, table, prefix))


def _node_probe(r: TableReader, table: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The `probe`, `probe_addresses` and `probe_timeout` keys of an `ha` table."""
    probe = r.get(table, "probe", prefix, str)
    if probe is not None:
        kind, _, port = probe.partition(":")
        if not (probe == "icmp" or (kind == "tcp" and port.isascii() and port.isdigit()
                                    and 1 <= int(port) <= 65535)):
            raise r.fail(f"{prefix}.probe", f"expected \"icmp\" or \"tcp:PORT\" (such as "
                         f"\"tcp:22\"), got {probe!r}")
    addresses = r.get(table, "probe_addresses", prefix, dict, {})
    if not all(isinstance(v, str) and v for v in addresses.values()):
        raise r.fail(f"{prefix}.probe_addresses", "expected node = \"address\" pairs")
    timeout = r.get(table, "probe_timeout", prefix, float, 1.0)
    if not 0.01 <= timeout <= 60:
        raise r.fail(f"{prefix}.probe_timeout", f"expected 0.01 to 60 seconds, got {timeout:g}")
    return {"probe": probe, "probe_addresses": tuple(addresses.items()),
            "probe_timeout": timeout}


_PROXMOX_KEYS = {"kind", "name", "host", "port", "user", "token_name", "token_secret_env",
                 "token_secret_file", "password_env", "password_file", "verify_ssl",
                 "ca_file", "fingerprint", "timeout"}
_VCENTER_KEYS = {"kind", "name", "host", "port", "user", "password_env", "password_file",
                 "verify_ssl", "ca_file", "fingerprint", "timeout"}


# An RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens.
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def _port(r: TableReader, table: dict[str, Any], prefix: str, default: int) -> int:
    """A cluster's API `port` (default: the kind's, 8006 or 443): 1 to 65535, checked
    here rather than failing every poll."""
    port: int = r.get(table, "port", prefix, int, default)
    if not 1 <= port <= 65535:
        raise r.fail(f"{prefix}.port", f"expected a TCP port, 1 to 65535, got {port}")
    return port


def sha256_digits(text: str) -> str | None:
    """A SHA-256 fingerprint as vCenter's and Proxmox's UIs show it (`AB:CD:...`) or as
    plain hex, as its 64 lower-case hex digits; None for anything else (a SHA-1
    thumbprint, 40 digits, no longer pins a certificate safely)."""
    digits = text.replace(":", "").replace(" ", "").strip().lower()
    if len(digits) != 64 or any(c not in "0123456789abcdef" for c in digits):
        return None
    return digits


def _fingerprint(r: TableReader, table: dict[str, Any], prefix: str) -> str | None:
    """A cluster's pinned `fingerprint`: the SHA-256 of its certificate. Anything else
    (a SHA-1 thumbprint, a cut one) would fail every TLS handshake as "unreachable"."""
    fingerprint: str | None = r.get(table, "fingerprint", prefix, str)
    if fingerprint is not None and sha256_digits(fingerprint) is None:
        raise r.fail(f"{prefix}.fingerprint", "expected a SHA-256 fingerprint: 64 hex "
                     "digits, in pairs joined by \":\" or not (`openssl x509 -noout "
                     "-fingerprint -sha256 -in CERT`)")
    return fingerprint


def _ca_file(r: TableReader, table: dict[str, Any], prefix: str) -> str | None:
    """A cluster's `ca_file`: the CA certificates (PEM) its certificate must be signed
    by; a regular file this user may read, checked here: missing, it failed every poll
    as an internal error."""
    name: str | None = r.get(table, "ca_file", prefix, str)
    if name is None:
        return None
    path = Path(name).expanduser()
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise r.fail(f"{prefix}.ca_file", f"{path}: not a regular file")
        with path.open("rb"):
            pass
    except OSError as exc:
        raise r.fail(f"{prefix}.ca_file", f"{path}: cannot read it: "
                     f"{exc.strerror or exc}") from None
    return str(path)


def _host(r: TableReader, table: dict[str, Any], prefix: str) -> str:
    """A cluster's API `host`: a host name or an IPv4 or IPv6 address (bare: the backend
    adds the brackets of a URL), checked here rather than failing every poll."""
    host: str = r.get(table, "host", prefix, str, required=True)
    try:
        if "%" not in host:  # an IPv6 zone ("fe80::1%eth0") would need escaping in a URL
            ipaddress.ip_address(host)
            return host
    except ValueError:
        labels = host.removesuffix(".").split(".")
        if (len(host) <= 253 and all(_LABEL.fullmatch(label) for label in labels)
                and not labels[-1].isdigit()):  # "10.0.0.300" is no address nor name
            return host
    port = host.rpartition(":")[2] if host.count(":") == 1 else ""
    hint = f" (the port goes in its own key: port = {port})" if port.isdigit() else ""
    raise r.fail(f"{prefix}.host", "expected a host name (RFC 1123) or an IP address, "
                 "such as \"pve1.example.org\", \"192.0.2.10\" or \"2001:db8::10\""
                 + hint)


# The bounds of a cluster's `timeout`, in seconds. At 0 or below no host could ever answer
# in time, so a host that is up would show "unreachable" forever; past five minutes one
# that is down would pass for a slow one through that many polls.
_TIMEOUT_RANGE = (0.1, 300.0)


def _timeout(r: TableReader, table: dict[str, Any], prefix: str) -> float:
    """A cluster's `timeout`: the seconds one host or API call may take to answer
    (default 10), within _TIMEOUT_RANGE. Raises ConfigError at its line otherwise."""
    timeout: float = r.get(table, "timeout", prefix, float, 10.0)
    least, most = _TIMEOUT_RANGE
    if not least <= timeout <= most:
        raise r.fail(f"{prefix}.timeout", f"expected {least:g} to {most:g} seconds, got "
                     f"{timeout:g}: a host must have time to answer, and a dead one must "
                     "not pass for a slow one for long")
    return timeout


def read_real_cluster(r: TableReader, table: dict[str, Any], prefix: str,
                      kind: str) -> LibvirtCluster | ProxmoxCluster | VCenterCluster:
    """The cluster a table of kind `kind` ("libvirt", "proxmox" or "vcenter", as
    `clusters.REAL_KINDS`) describes (`prefix` is its key path, for errors). Raises
    ConfigError naming the key that is wrong and why."""
    if kind == "libvirt":
        r.unknown(table, _LIBVIRT_KEYS, prefix)
        uris = r.get(table, "uris", prefix, list, required=True)
        if not uris or not all(isinstance(u, str) for u in uris):
            raise r.fail(f"{prefix}.uris", "expected a non-empty list of libvirt URIs")
        return LibvirtCluster(
            name=r.get(table, "name", prefix, str, required=True),
            uris=tuple(uris),
            timeout=_timeout(r, table, prefix),
            probe_netns=r.get(table, "probe_netns", prefix, str),
            lab_dir=r.get(table, "lab_dir", prefix, str),
            ha=(_ha_manager(r, r.get(table, "ha", prefix, dict), f"{prefix}.ha")
                if "ha" in table else None),
        )
    for key in ("token_secret", "password"):
        if kind in ("proxmox", "vcenter") and key in table:
            raise r.fail(f"{prefix}.{key}", "secrets do not go in the config file: "
                         f"use {key}_env or {key}_file")
    if kind == "vcenter":
        return _vcenter(r, table, prefix)
    r.unknown(table, _PROXMOX_KEYS, prefix)
    cluster = ProxmoxCluster(
        name=r.get(table, "name", prefix, str, required=True),
        host=_host(r, table, prefix),
        user=r.get(table, "user", prefix, str, required=True),
        port=_port(r, table, prefix, 8006),
        token_name=r.get(table, "token_name", prefix, str),
        token_secret=secret(r, table, "token_secret", prefix),
        password=secret(r, table, "password", prefix),
        verify_ssl=r.get(table, "verify_ssl", prefix, bool, True),
        ca_file=_ca_file(r, table, prefix),
        fingerprint=_fingerprint(r, table, prefix),
        timeout=_timeout(r, table, prefix),
    )
    if cluster.token_name and not cluster.token_secret:
        raise r.fail(f"{prefix}.token_name",
                     "a token needs token_secret_env or token_secret_file")
    if not cluster.token_name and not cluster.password:
        raise r.fail(prefix, "give token_name with a token secret, or a password")
    return cluster


def _vcenter(r: TableReader, table: dict[str, Any], prefix: str) -> VCenterCluster:
    r.unknown(table, _VCENTER_KEYS, prefix)
    cluster = VCenterCluster(
        name=r.get(table, "name", prefix, str, required=True),
        host=_host(r, table, prefix),
        user=r.get(table, "user", prefix, str, required=True),
        password=secret(r, table, "password", prefix),
        port=_port(r, table, prefix, 443),
        verify_ssl=r.get(table, "verify_ssl", prefix, bool, True),
        ca_file=_ca_file(r, table, prefix),
        fingerprint=_fingerprint(r, table, prefix),
        timeout=_timeout(r, table, prefix),
    )
    if not cluster.password:
        raise r.fail(prefix, "a vCenter cluster needs password_env or password_file")
    return cluster
