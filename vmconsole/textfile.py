"""Reading the user's own text files (the config, themes, secret files) so that a bad
one costs one line saying what is wrong, never a traceback."""

from __future__ import annotations

import os
import shlex
import stat
from pathlib import Path


class UnreadableFile(Exception):
    """A file that cannot be used. `reason` says why, without the path (the caller
    names the file); `line` is the 1-based line at fault, when there is one."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason, self.line = reason, line


def read_utf8(path: Path) -> str:
    """The text of `path`, decoded as UTF-8 (TOML requires it: toml.io, "Spec").

    Raises UnreadableFile for a directory, a file that cannot be read (the OS's reason)
    or bytes that are not UTF-8 (the first bad byte and its line).
    """
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise UnreadableFile("is a directory, not a file") from None
    except OSError as exc:
        raise UnreadableFile(f"cannot read it: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise UnreadableFile(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line})",
                             line) from None


def read_private(path: Path) -> str:
    """The text of a secret file that only its owner may read or write.

    The rule is OpenSSH's for private keys (`sshkey_perm_ok()` in authfile.c: any
    permission bit for group or others, mode & 077, and the key is refused), so a
    secret leaked to other local users is not used quietly. Raises UnreadableFile
    with the chmod that fixes it, or as `read_utf8` does.
    """
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError as exc:
        raise UnreadableFile(f"cannot read it: {exc.strerror or exc}") from None
    if mode & 0o077:
        raise UnreadableFile(f"permissions {mode:04o} are too open: group or others may "
                             f"read it; run: chmod 600 {shlex.quote(str(path))}")
    return read_utf8(path)
