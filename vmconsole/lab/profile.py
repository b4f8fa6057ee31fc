"""The `lab` profile in the user's config file: added or replaced as a block of text,
so the rest of the file (comments included) stays as the user wrote it."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from vmconsole.config import parse_config
from vmconsole.lab.layout import PROFILE
from vmconsole.lab.shell import LabError
from vmconsole.textfile import parse_toml

_HEADER = re.compile(r"^\s*\[")
_OURS = re.compile(rf"^\s*\[\[?\s*profiles\.{PROFILE}(\.|\s*\])")
_MARK = "# Written by `vmconsole lab up`; `vmconsole lab down` removes it."
_DEFAULT = re.compile(rf"^\s*default_profile\s*=\s*[\"']{PROFILE}[\"']\s*$")


def _without_profile(text: str) -> str:
    out, skipping = [], False
    for line in text.splitlines():
        if _HEADER.match(line):
            skipping = bool(_OURS.match(line))
        if not skipping and line.strip() != _MARK:
            out.append(line)
    return "\n".join(out).rstrip() + "\n" if out else ""


def _block(uris: list[str], timeout: float, probe_netns: str | None,
           lab_dir: Path | None, ha: dict[str, float | str] | None) -> str:
    quoted = ",\n".join(f'  "{uri}"' for uri in uris)
    netns = f"probe_netns = \"{probe_netns}\"\n" if probe_netns else ""
    lab = f"lab_dir = {json.dumps(str(lab_dir))}\n" if lab_dir else ""
    table = "".join(f"{key} = {json.dumps(value)}\n" for key, value in (ha or {}).items())
    if ha is not None:
        table = f"[profiles.{PROFILE}.clusters.ha]\n{table}"
    return (f"\n{_MARK}\n[[profiles.{PROFILE}.clusters]]\nkind = \"libvirt\"\n"
            f"name = \"{PROFILE}\"\nuris = [\n{quoted},\n]\ntimeout = {timeout}\n{netns}{lab}"
            f"{table}")


def _check(path: Path, text: str) -> None:
    try:
        parse_config(parse_toml(text), path, text)
    except Exception as exc:
        raise LabError(f"{path}: the lab profile cannot be written without breaking the "
                       f"file ({exc}); edit it by hand") from None


# The config's default: a node's libvirtd, busy starting TCG guests on a loaded
# machine, has been seen to take more than 5 s over a poll. A failed node is seen at
# once all the same (its connection closes).
PROFILE_TIMEOUT_S = 10.0


def write_profile(path: Path, uris: list[str], timeout: float = PROFILE_TIMEOUT_S,
                  probe_netns: str | None = None, lab_dir: Path | None = None,
                  ha: dict[str, float | str] | None = None) -> None:
    """Add or replace the lab's profile; `probe_netns` is where the console's ping
    monitor must probe the guests from (the lab's LAN namespace), `lab_dir` the lab's
    directory (the console's `f` on a node fails it there), `ha` the keys of its HA
    manager's table (`[profiles.lab.clusters.ha]`)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    new = (_without_profile(text) + _block(uris, timeout, probe_netns, lab_dir, ha)
           ).lstrip("\n")
    _check(path, new)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new, encoding="utf-8")


def remove_profile(path: Path) -> bool:
    """Remove the lab profile (and a default_profile naming it); True if it was there."""
    if not path.exists():
        return False
    text = path.read_text(encoding="utf-8")
    kept = _without_profile(text)
    kept = "".join(f"{line}\n" for line in kept.splitlines() if not _DEFAULT.match(line))
    if kept.strip() == text.strip():
        return False
    _check(path, kept)
    path.write_text(kept if kept.strip() else "", encoding="utf-8")
    return True


def has_profile(path: Path) -> bool:
    try:
        return PROFILE in parse_toml(path.read_text(encoding="utf-8")).get("profiles", {})
    except (OSError, tomllib.TOMLDecodeError):
        return False
