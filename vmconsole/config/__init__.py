"""Configuration: profiles of clusters from a TOML file, secrets from env or files.

Search order for the file: `--config PATH`, then `$VMCONSOLE_CONFIG`, then
`$XDG_CONFIG_HOME/vmconsole/config.toml` (default `~/.config/vmconsole/config.toml`).
No file and no profile: the demo cluster. A file that is present but wrong stops the
console with a message naming the file, the line and the key.
"""

from __future__ import annotations

import errno
import importlib
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vmconsole.config.clusters import ClusterConfig, SimCluster, read_cluster
from vmconsole.config.reader import ConfigError, TableReader, toml_error_line
from vmconsole.paths import config_dir
from vmconsole.strictmodes import UnsafeFile, check_not_writable_by_others
from vmconsole.textfile import UnreadableFile, parse_toml, read_utf8

if TYPE_CHECKING:
    from vmconsole.config.real_clusters import (
        HAManagerConfig,
        LibvirtCluster,
        ProxmoxCluster,
        VCenterCluster,
    )

# The real clusters' records are imported on first use of one of their names (PEP 562):
# a profile that names such a cluster reads them first (`read_cluster`), the demo never.
_REAL_CLUSTER_NAMES = frozenset({"HAManagerConfig", "LibvirtCluster", "ProxmoxCluster",
                                 "VCenterCluster"})


def __getattr__(name: str) -> object:
    """The public name NAME from `real_clusters`, imported now (AttributeError if none)."""
    if name not in _REAL_CLUSTER_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.real_clusters"), name)


# The names callers import from vmconsole.config, wherever in the package they live.
__all__ = [
    "SERIAL_CONSOLE_VIEWERS",
    "ClusterConfig",
    "Config",
    "ConfigError",
    "HAManagerConfig",
    "LibvirtCluster",
    "ProxmoxCluster",
    "SimCluster",
    "VCenterCluster",
    "config_path",
    "load_config",
    "parse_config",
]


@dataclass(frozen=True, slots=True)
class Config:
    """The console's config file as read: its profiles of clusters, theme, key bindings
    and limits (`path` None: no file, the demo cluster)."""

    path: Path | None = None
    profiles: dict[str, tuple[ClusterConfig, ...]] = field(default_factory=dict)
    default_profile: str | None = None
    theme: str | None = None
    keys: dict[str, str] = field(default_factory=dict)  # binding id -> key(s)
    # binding id -> the line of [keys] that remaps it: the console names the line of a
    # remap it refuses (the ids live in the UI, which checks them against its bindings)
    key_lines: dict[str, int] = field(default_factory=dict)
    ascii: bool | None = None  # None: decide from the terminal
    # What the user should hear of before the console runs on this config (a folder
    # the default file would be in that is a file): the local console shows each.
    notices: tuple[str, ...] = ()
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
    explicit one (`--config`, `$VMCONSOLE_CONFIG`) an error. Raises ConfigError, too,
    for a file others could change, or replace through its folder (sshd's StrictModes,
    `strictmodes.check_not_writable_by_others`): it names the hosts the console logs in
    to and the fence commands `ha run` runs, often as root. Others may read it: it
    holds no secret (`real_clusters` refuses one inline; a secret file must be
    private)."""
    path = config_path(explicit)
    if not path.exists():
        if _link_loop(path):
            raise ConfigError(path, "is a symbolic link loop (ELOOP), not a file")
        if explicit or os.environ.get("VMCONSOLE_CONFIG"):
            raise ConfigError(path, "file not found")
        return Config(notices=_blocked(path))
    try:
        text = read_utf8(path)  # first: it names a FIFO or a device as what it is
        check_not_writable_by_others(path)
    except UnreadableFile as exc:
        raise ConfigError(path, exc.reason, exc.line) from None
    except UnsafeFile as exc:
        raise ConfigError(path, f"not read, as others could change it: {exc}") from None
    except OSError as exc:  # removed since it was read
        raise ConfigError(path, f"cannot read it: {exc.strerror or exc}") from None
    try:
        data = parse_toml(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, f"not valid TOML: {exc}", toml_error_line(exc, text)) from None
    return parse_config(data, path, text)


def _link_loop(path: Path) -> bool:
    """`path` is a symbolic link loop, which `Path.exists()` takes for no file."""
    try:
        path.stat()
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False


def _blocked(path: Path) -> tuple[str, ...]:
    """Why the default config file `path`, missing, could not have been there: a folder
    above it that is a file (`$XDG_CONFIG_HOME/vmconsole` made by `touch`, say), said
    as one notice; none when its folders are folders (no file: the demo, silently)."""
    for folder in path.parents:
        if folder.exists():
            return () if folder.is_dir() else (
                f"{folder} is a file, not a folder: no config is read from "
                f"{path}, so this is the demo",)
    return ()


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
    r = TableReader(path, text)
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
            item = read_cluster(r, table, f"{prefix}.clusters[{index}]")
            if not item.name.strip():  # a row with no name in the tree, the audit log
                raise r.fail(f"{prefix}.clusters[{index}].name",
                             "a cluster needs a name, which the tree and the audit log show")
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
        key_lines={binding_id: line for binding_id in keys
                   if (line := r.line_of(f'keys."{binding_id}"')) is not None},
        ascii=r.get(data, "ascii", "", bool),
        serial_console_viewers=viewers,
        read_only_profiles=frozenset(read_only),
        bulk_concurrency=bulk,
    )
