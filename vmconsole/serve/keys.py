"""Keys of the SSH server: its own host key, and the clients' keys with their roles.

The host key is generated once (ed25519) and kept with mode 0600, so clients see the
same fingerprint every start. Client keys come from an OpenSSH authorized_keys file,
read again at every connection (a teacher adds a student's key without a restart).
A key's role and name are OpenSSH `environment` options on its line:

    environment="VMCONSOLE_ROLE=operator",environment="VMCONSOLE_USER=alice" ssh-ed25519 AAAA...

No VMCONSOLE_ROLE: viewer. No VMCONSOLE_USER: the login name the client gave.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from vmconsole.session import Role

ROLE_OPTION = "VMCONSOLE_ROLE"
USER_OPTION = "VMCONSOLE_USER"


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
    return Path(base) / "vmconsole"


def default_host_key_path() -> Path:
    return state_dir() / "ssh_host_ed25519_key"


def default_authorized_keys_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(Path.home(), ".config")
    return Path(base) / "vmconsole" / "authorized_keys"


def load_or_create_host_key(path: Path) -> asyncssh.SSHKey:
    """The server's key at `path`; generated and written 0600 on first use. A key file
    that others may read is refused rather than used."""
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise PermissionError(f"{path} is readable by others (mode {mode:o}): "
                                  f"chmod 600 {path}")
        return asyncssh.read_private_key(path)
    key = asyncssh.generate_private_key("ssh-ed25519", comment="vmconsole host key")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.export_private_key())
    return key


def fingerprint(key: asyncssh.SSHKey) -> str:
    return key.get_fingerprint("sha256")


def read_authorized_keys(path: Path) -> asyncssh.SSHAuthorizedKeys:
    """The file's keys; a file with a line asyncssh cannot parse is an error that names
    the file (asyncssh's message names the line's problem)."""
    try:
        return asyncssh.read_authorized_keys(str(path))
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


@dataclass(frozen=True, slots=True)
class KeyIdentity:
    """Who a key says its holder is, and what they may do."""

    user: str
    role: Role


def identity_from_options(environment: Mapping[str, str] | None,
                          login_name: str) -> KeyIdentity:
    """The identity an authorized key's options give; an unknown role is an error (the
    key is refused rather than given a role nobody meant)."""
    env = environment or {}
    role_name = env.get(ROLE_OPTION, Role.VIEWER.value)
    try:
        role = Role(role_name)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise ValueError(f"unknown {ROLE_OPTION}={role_name!r} (roles: {known})") from None
    return KeyIdentity(env.get(USER_OPTION) or login_name, role)
