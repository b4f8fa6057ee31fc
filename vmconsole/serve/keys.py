"""Keys of the SSH server: its own host key, and the clients' keys with their roles.

The host key is generated once (ed25519) and kept with mode 0600, so clients see the
same fingerprint every start. Client keys come from an OpenSSH authorized_keys file,
read again at every connection (a teacher adds a student's key without a restart).
The file is refused, as sshd's StrictModes would, when others may change it; a line that
cannot be read is skipped, with its number, and the others still work. A key's role and
name are OpenSSH `environment` options on its line:

    environment="VMCONSOLE_ROLE=operator",environment="VMCONSOLE_USER=alice" ssh-ed25519 AAAA...

No VMCONSOLE_ROLE: viewer. No VMCONSOLE_USER: the login name the client gave.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from vmconsole.actor import Role
from vmconsole.paths import config_dir, state_dir
from vmconsole.strictmodes import check_not_writable_by_others, check_private

ROLE_OPTION = "VMCONSOLE_ROLE"
USER_OPTION = "VMCONSOLE_USER"


def default_host_key_path() -> Path:
    return state_dir() / "ssh_host_ed25519_key"


def default_authorized_keys_path() -> Path:
    return config_dir() / "authorized_keys"


def load_or_create_host_key(path: Path) -> asyncssh.SSHKey:
    """The server's key at `path`; generated and written 0600 on first use. A key file
    that others may read is refused rather than used."""
    if path.exists():
        check_private(path)
        return asyncssh.read_private_key(path)
    key = asyncssh.generate_private_key("ssh-ed25519", comment="vmconsole host key")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.export_private_key())
    return key


def fingerprint(key: asyncssh.SSHKey) -> str:
    return key.get_fingerprint("sha256")


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


# The key part of a line: its type and base64 blob (options before it may hold spaces
# inside quotes, so the line is not simply split).
_KEY_PART = re.compile(r"(?:^|\s)((?:ssh|ecdsa|sk|rsa)-[\w@.-]+\s+AAAA[0-9A-Za-z+/]+=*)")


@dataclass(frozen=True, slots=True)
class KeyLine:
    """One usable line of the file: its number, its key, and asyncssh's view of it
    (options and the `from=` check)."""

    number: int
    key: asyncssh.SSHKey
    entry: asyncssh.SSHAuthorizedKeys


@dataclass(frozen=True, slots=True)
class KeyCheck:
    """What a login's key is worth: an identity, or why not (for the log and the
    audit: "unknown key", "from= does not allow 192.0.2.7 (line 4)", a bad role)."""

    identity: KeyIdentity | None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class AuthorizedKeys:
    """The usable lines of an authorized_keys file, and the lines skipped with why."""

    lines: tuple[KeyLine, ...]
    skipped: tuple[str, ...] = ()  # "line 7: ..." for each line that could not be read

    @classmethod
    def read(cls, path: Path) -> AuthorizedKeys:
        """Read and check the file. Raises UnsafeFile when others may change it (the
        message has the chmod) and OSError when it cannot be read; a malformed line
        is skipped and listed in `skipped`."""
        check_not_writable_by_others(path)
        text = path.read_text(encoding="utf-8", errors="replace")
        lines: list[KeyLine] = []
        skipped: list[str] = []
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            try:
                match = _KEY_PART.search(line)
                if match is None:
                    raise ValueError("no key (expected TYPE BASE64, e.g. ssh-ed25519 AAAA...)")
                key = asyncssh.import_public_key(match.group(1))
                entry = asyncssh.import_authorized_keys(line)
            except (ValueError, asyncssh.KeyImportError) as exc:
                skipped.append(f"line {number}: {exc}")
                continue
            lines.append(KeyLine(number, key, entry))
        return cls(tuple(lines), tuple(skipped))

    def check(self, key: asyncssh.SSHKey, address: str, login_name: str) -> KeyCheck:
        """The identity the first line with this key and a matching `from=` gives;
        else why the key is refused."""
        reasons: list[str] = []
        for line in self.lines:
            if line.key != key:
                continue
            options = line.entry.validate(key, address, address)
            if options is None:
                reasons.append(f"from= does not allow {address} (line {line.number})")
                continue
            environment = options.get("environment", {})
            try:
                identity = identity_from_options(
                    environment if isinstance(environment, Mapping) else {}, login_name)
            except ValueError as exc:
                reasons.append(f"{exc} (line {line.number})")
                continue
            return KeyCheck(identity)
        return KeyCheck(None, "; ".join(reasons) or "unknown key")
