"""Configuration: profiles of clusters from a TOML file, secrets from env or files.

Search order for the file: `--config PATH`, then `$VMCONSOLE_CONFIG`, then
`$XDG_CONFIG_HOME/vmconsole/config.toml` (default `~/.config/vmconsole/config.toml`).
No file and no profile: the demo cluster. A file that is present but wrong stops the
console with a message naming the file, the line and the key.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vmconsole.paths import config_dir
from vmconsole.strictmodes import UnsafeFile, check_private
from vmconsole.textfile import UnreadableFile, read_utf8


class ConfigError(Exception):
    """A config file that cannot be used, with where and why."""

    def __init__(self, path: Path | None, message: str, line: int | None = None,
                 key: str | None = None) -> None:
        where = str(path) if path else "<config>"
        if line is not None:
            where += f", line {line}"
        if key:
            where += f", key '{key}'"
        super().__init__(f"{where}: {message}")
        self.path, self.line, self.key, self.reason = path, line, key, message


@dataclass(frozen=True, slots=True)
class SimCluster:
    name: str = "lab"
    nodes: int = 3
    guests: int = 0  # 0: the classic lab's guests; more: a generated cluster for scale
    seed: int = 1
    time_scale: float = 1.0
    scenario: str | None = None
    kind: str = "sim"


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
    name: str
    uris: tuple[str, ...]
    kind: str = "libvirt"
    timeout: float = 10.0
    probe_netns: str | None = None  # the network namespace the guests are reached from
    lab_dir: str | None = None  # a `vmconsole lab`'s directory: its nodes can be failed
    ha: HAManagerConfig | None = None  # None: no `ha` table, no manager for it


@dataclass(frozen=True, slots=True)
class ProxmoxCluster:
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


ClusterConfig = SimCluster | LibvirtCluster | ProxmoxCluster | VCenterCluster


@dataclass(frozen=True, slots=True)
class Config:
    path: Path | None = None
    profiles: dict[str, tuple[ClusterConfig, ...]] = field(default_factory=dict)
    default_profile: str | None = None
    theme: str | None = None
    keys: dict[str, str] = field(default_factory=dict)  # binding id -> key(s)
    ascii: bool | None = None  # None: decide from the terminal
    # What `C` gives a viewer: "refuse" (default: a console may show a root shell) or
    # "read-only" (its output, no keys sent).
    serial_console_viewers: str = "refuse"
    read_only_profiles: frozenset[str] = frozenset()  # profiles with read_only = true
    # Guests a bulk action works on at once (docs/operations.md, "Bulk actions"): each
    # waits for its task to end before the next guest's starts.
    bulk_concurrency: int = 4

    def clusters(self, profile: str | None) -> tuple[ClusterConfig, ...]:
        """The clusters of a profile; no profile at all means the demo cluster."""
        name = profile or self.default_profile
        if name is None:
            return (SimCluster(),)
        if name not in self.profiles:
            known = ", ".join(sorted(self.profiles)) or "none"
            raise ConfigError(self.path, f"no profile '{name}' (profiles: {known})")
        return self.profiles[name]

    def read_only(self, profile: str | None) -> bool:
        """Does the profile (None: the default one) say `read_only = true`? Its console
        then changes nothing, whatever the role (vmconsole.operations)."""
        return (profile or self.default_profile) in self.read_only_profiles


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit:
        return Path(explicit).expanduser()
    if env := os.environ.get("VMCONSOLE_CONFIG"):
        return Path(env).expanduser()
    return config_dir() / "config.toml"


def load_config(explicit: str | os.PathLike[str] | None = None) -> Config:
    """Read the config file; a missing default file is an empty config, a missing
    explicit one (`--config`, `$VMCONSOLE_CONFIG`) an error."""
    path = config_path(explicit)
    if not path.exists():
        if explicit or os.environ.get("VMCONSOLE_CONFIG"):
            raise ConfigError(path, "file not found")
        return Config()
    try:
        text = read_utf8(path)
    except UnreadableFile as exc:
        raise ConfigError(path, exc.reason, exc.line) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise ConfigError(path, f"not valid TOML: {exc}",
                          int(match.group(1)) if match else None) from None
    return parse_config(data, path, text)


class _Reader:
    """Typed access to a TOML table that reports the offending key and its line."""

    def __init__(self, path: Path | None, text: str) -> None:
        self.path, self.lines = path, text.splitlines()

    def line_of(self, key: str) -> int | None:
        """The line that sets `key` ("profiles.work.clusters[1].name"): found by
        following the file's [table] and [[array]] headers, since tomllib keeps no
        positions. A key left out (its default taken) is at its table's header; failing
        both, at the first line setting a key of that leaf name."""
        wanted = _key_path(key)
        leaf = wanted[-1] if wanted else key
        pattern = re.compile(rf"^\s*\"?{re.escape(str(leaf))}\"?\s*=")
        table: list[str | int] = []
        counts: dict[tuple[str | int, ...], int] = {}
        parent = first = None
        for number, line in enumerate(self.lines, 1):
            if header := _HEADER.match(line):
                table = _key_path(header.group(2))
                if header.group(1) == "[[":  # one more element of an array of tables
                    index = counts[tuple(table)] = counts.get(tuple(table), -1) + 1
                    table.append(index)
                else:  # [a.b.c] inside the last element of an array [[a.b]]
                    for cut in range(len(table) - 1, 0, -1):
                        if (element := counts.get(tuple(table[:cut]))) is not None:
                            table = [*table[:cut], element, *table[cut:]]
                            break
                if table == wanted:
                    return number
                if table == wanted[:-1]:
                    parent = number
            elif pattern.match(line):
                if [*table, leaf] == wanted:
                    return number
                first = first or number
        return parent or first

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(self.path, message, self.line_of(key), key)

    def get(self, table: dict[str, Any], key: str, prefix: str, kind: type | tuple[type, ...],
            default: Any = None, required: bool = False) -> Any:
        full = f"{prefix}.{key}" if prefix else key
        if key not in table:
            if required:
                raise ConfigError(self.path, "missing required key", None, full)
            return default
        value = table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(
                k.__name__ for k in kind)
            raise self.fail(full, f"expected {names}, got {type(value).__name__} {value!r}")
        return value

    def unknown(self, table: dict[str, Any], allowed: set[str], prefix: str) -> None:
        for key in table:
            if key not in allowed:
                full = f"{prefix}.{key}" if prefix else key
                raise self.fail(full, f"unknown key (allowed: {', '.join(sorted(allowed))})")


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def _key_path(key: str) -> list[str | int]:
    """ 'profiles.work.clusters[1].name' or a TOML header's 'profiles."a b".clusters' as
    its parts: ['profiles', 'work', 'clusters', 1, 'name']."""
    parts: list[str | int] = []
    for match in re.finditer(r'"([^"]*)"|\'([^\']*)\'|\[(\d+)\]|([^."\'\[\]\s]+)', key):
        quoted, literal, index, bare = match.groups()
        parts.append(int(index) if index is not None else
                     quoted if quoted is not None else literal if literal is not None else bare)
    return parts


def _secret(r: _Reader, table: dict[str, Any], key: str, prefix: str) -> str | None:
    """A secret comes from `<key>_env` (a variable's name) or `<key>_file` (a path that
    only its owner may read, as ssh demands of a private key)."""
    env_name = r.get(table, f"{key}_env", prefix, str)
    file_name = r.get(table, f"{key}_file", prefix, str)
    if env_name:
        value = os.environ.get(env_name)
        if value is None:
            raise r.fail(f"{prefix}.{key}_env", f"environment variable {env_name} is not set")
        return value
    if file_name:
        path = Path(file_name).expanduser()
        try:
            check_private(path)  # ssh's rule for a secret: no one else may read it
            return read_utf8(path).strip()
        except UnsafeFile as exc:
            raise r.fail(f"{prefix}.{key}_file", str(exc)) from None
        except UnreadableFile as exc:
            raise r.fail(f"{prefix}.{key}_file", f"{path}: {exc.reason}") from None
        except OSError as exc:
            raise r.fail(f"{prefix}.{key}_file",
                         f"{path}: cannot read it: {exc.strerror or exc}") from None
    return None


_SIM_KEYS = {"kind", "name", "nodes", "guests", "seed", "time_scale", "scenario"}
_LIBVIRT_KEYS = {"kind", "name", "uris", "timeout", "probe_netns", "lab_dir", "ha"}
_HA_KEYS = {"round", "fence_delay", "lock_lease", "fence", "fence_command", "fence_timeout",
            "quorum_device", "status_file", "probe", "probe_addresses", "probe_timeout",
            "crs"}


def _command(r: _Reader, table: dict[str, Any], key: str, prefix: str) -> tuple[str, ...]:
    value = r.get(table, key, prefix, list, [])
    if not all(isinstance(word, str) for word in value):
        raise r.fail(f"{prefix}.{key}", "expected a command as a list of strings, such as "
                     '["fence_ipmilan", "--ip", "{node}-ipmi", "--action", "off"]')
    return tuple(value)


def _ha_manager(r: _Reader, table: dict[str, Any], prefix: str) -> HAManagerConfig:
    r.unknown(table, _HA_KEYS, prefix)
    times = {key: r.get(table, key, prefix, float, default) for key, default in (
        ("round", 10.0), ("fence_delay", 60.0), ("lock_lease", 0.0), ("fence_timeout", 60.0))}
    for key, value in times.items():
        least = 0.1 if key in ("round", "fence_timeout") else 0.0
        if not least <= value <= 3600:
            raise r.fail(f"{prefix}.{key}", f"expected {least:g} to 3600 seconds, "
                         f"got {value:g}")
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


def _node_probe(r: _Reader, table: dict[str, Any], prefix: str) -> dict[str, Any]:
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


def _host(r: _Reader, table: dict[str, Any], prefix: str) -> str:
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
    raise r.fail(f"{prefix}.host", "expected a host name (RFC 1123) or an IP address, "
                 "such as \"pve1.example.org\", \"192.0.2.10\" or \"2001:db8::10\"")


def _cluster(r: _Reader, table: dict[str, Any], prefix: str) -> ClusterConfig:
    kind = r.get(table, "kind", prefix, str, required=True)
    if kind == "sim":
        r.unknown(table, _SIM_KEYS, prefix)
        return SimCluster(
            name=r.get(table, "name", prefix, str, "lab"),
            nodes=r.get(table, "nodes", prefix, int, 3),
            guests=r.get(table, "guests", prefix, int, 0),
            seed=r.get(table, "seed", prefix, int, 1),
            time_scale=r.get(table, "time_scale", prefix, float, 1.0),
            scenario=r.get(table, "scenario", prefix, str),
        )
    if kind == "libvirt":
        r.unknown(table, _LIBVIRT_KEYS, prefix)
        uris = r.get(table, "uris", prefix, list, required=True)
        if not uris or not all(isinstance(u, str) for u in uris):
            raise r.fail(f"{prefix}.uris", "expected a non-empty list of libvirt URIs")
        return LibvirtCluster(
            name=r.get(table, "name", prefix, str, required=True),
            uris=tuple(uris),
            timeout=r.get(table, "timeout", prefix, float, 10.0),
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
    if kind == "proxmox":
        r.unknown(table, _PROXMOX_KEYS, prefix)
        cluster = ProxmoxCluster(
            name=r.get(table, "name", prefix, str, required=True),
            host=_host(r, table, prefix),
            user=r.get(table, "user", prefix, str, required=True),
            port=r.get(table, "port", prefix, int, 8006),
            token_name=r.get(table, "token_name", prefix, str),
            token_secret=_secret(r, table, "token_secret", prefix),
            password=_secret(r, table, "password", prefix),
            verify_ssl=r.get(table, "verify_ssl", prefix, bool, True),
            ca_file=r.get(table, "ca_file", prefix, str),
            fingerprint=r.get(table, "fingerprint", prefix, str),
            timeout=r.get(table, "timeout", prefix, float, 10.0),
        )
        if cluster.token_name and not cluster.token_secret:
            raise r.fail(f"{prefix}.token_name",
                         "a token needs token_secret_env or token_secret_file")
        if not cluster.token_name and not cluster.password:
            raise r.fail(prefix, "give token_name with a token secret, or a password")
        return cluster
    raise r.fail(f"{prefix}.kind",
                 f"unknown kind '{kind}' (sim, libvirt, proxmox or vcenter)")


def _vcenter(r: _Reader, table: dict[str, Any], prefix: str) -> VCenterCluster:
    r.unknown(table, _VCENTER_KEYS, prefix)
    cluster = VCenterCluster(
        name=r.get(table, "name", prefix, str, required=True),
        host=_host(r, table, prefix),
        user=r.get(table, "user", prefix, str, required=True),
        password=_secret(r, table, "password", prefix),
        port=r.get(table, "port", prefix, int, 443),
        verify_ssl=r.get(table, "verify_ssl", prefix, bool, True),
        ca_file=r.get(table, "ca_file", prefix, str),
        fingerprint=r.get(table, "fingerprint", prefix, str),
        timeout=r.get(table, "timeout", prefix, float, 10.0),
    )
    if not cluster.password:
        raise r.fail(prefix, "a vCenter cluster needs password_env or password_file")
    return cluster


SERIAL_CONSOLE_VIEWERS = ("refuse", "read-only")

# A Textual key name: letters, digits and "_", modifiers joined by "+" ("ctrl+p",
# "question_mark", "f1", "shift+tab"). A value goes to the footer and the `?` help, so
# nothing else gets through: no controls, escapes, markup brackets or spaces.
_KEY_NAME = re.compile(r"[A-Za-z0-9_]+(\+[A-Za-z0-9_]+)*")
_KEY_NAME_LIMIT = 32
_KEYS_LIMIT = 8


def _valid_keys(value: str) -> bool:
    """`value` is one to eight comma-separated Textual key names of sane length."""
    names = value.split(",")
    return len(names) <= _KEYS_LIMIT and all(
        len(name) <= _KEY_NAME_LIMIT and _KEY_NAME.fullmatch(name) for name in names)


def parse_config(data: dict[str, Any], path: Path | None = None, text: str = "") -> Config:
    r = _Reader(path, text)
    r.unknown(data, {"theme", "default_profile", "keys", "profiles", "ascii",
                     "serial_console_viewers", "bulk_concurrency"}, "")
    viewers = r.get(data, "serial_console_viewers", "", str, "refuse")
    if viewers not in SERIAL_CONSOLE_VIEWERS:
        raise r.fail("serial_console_viewers", "expected \"refuse\" or \"read-only\"")
    bulk = r.get(data, "bulk_concurrency", "", int, 4)
    if not 1 <= bulk <= 64:  # 64: Proxmox's own limit for max-workers
        raise r.fail("bulk_concurrency", f"expected 1 to 64 guests at once, got {bulk}")
    keys = r.get(data, "keys", "", dict, {})
    for binding_id, key in keys.items():
        if not isinstance(key, str) or not _valid_keys(key):
            raise r.fail(f'keys."{binding_id}"',
                         "expected Textual key names, comma-separated, such as \"m\", "
                         "\"ctrl+m\", \"question_mark\" or \"f1,down\"")
    profiles: dict[str, tuple[ClusterConfig, ...]] = {}
    read_only: set[str] = set()
    for name, profile in r.get(data, "profiles", "", dict, {}).items():
        prefix = f"profiles.{name}"
        if not isinstance(profile, dict):
            raise r.fail(prefix, "expected a table with a [[...clusters]] list")
        r.unknown(profile, {"clusters", "read_only"}, prefix)
        if r.get(profile, "read_only", prefix, bool, False):
            read_only.add(name)
        clusters = r.get(profile, "clusters", prefix, list, required=True)
        if not clusters:
            raise r.fail(f"{prefix}.clusters", "a profile needs at least one cluster")
        items: list[ClusterConfig] = []
        for index, table in enumerate(clusters):
            if not isinstance(table, dict):
                raise r.fail(f"{prefix}.clusters", "expected [[profiles.NAME.clusters]] tables")
            item = _cluster(r, table, f"{prefix}.clusters[{index}]")
            # The console tells clusters apart by name (the tree, the poll loops, the
            # audit log): a second one of the same name would be polled but never shown.
            if (twin := next((i for i, c in enumerate(items) if c.name == item.name),
                             None)) is not None:
                raise r.fail(f"{prefix}.clusters[{index}].name",
                             f"a second cluster named '{item.name}' in profile '{name}' "
                             f"(clusters[{twin}] has that name): give each a name of its own")
            items.append(item)
        profiles[name] = tuple(items)
    default = r.get(data, "default_profile", "", str)
    if default is not None and default not in profiles:
        raise r.fail("default_profile", f"no profile named '{default}'")
    return Config(
        path=path,
        profiles=profiles,
        default_profile=default,
        theme=r.get(data, "theme", "", str),
        keys=dict(keys),
        ascii=r.get(data, "ascii", "", bool),
        serial_console_viewers=viewers,
        read_only_profiles=frozenset(read_only),
        bulk_concurrency=bulk,
    )
