"""Reading the user's own text files (the config, themes, secret files) so that a bad
one costs one line saying what is wrong, never a traceback."""

from __future__ import annotations

import errno
import os
import stat
import tomllib
from pathlib import Path
from typing import Any, BinaryIO


class UnreadableFile(Exception):
    """A file that cannot be used. `reason` says why, without the path (the caller
    names the file); `line` is the 1-based line at fault, when there is one."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason, self.line = reason, line


# The most read of a config, a theme, a lesson or a secret, in bytes: each is a few
# kilobytes; more is not such a file (/dev/zero behind a link, a disk image named by
# mistake), and reading it whole would end in MemoryError.
TEXT_LIMIT = 1024 * 1024

# What a file that is not a regular one is, by its type (stat.S_IFMT).
_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device",
          stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket"}


class NotRegularFile(OSError):
    """`open_regular`'s refusal of what is not a regular file: `kind` says what it is
    ("a FIFO"), "" when it is none of the kinds named in `_KINDS`."""

    def __init__(self, kind: str) -> None:
        super().__init__(errno.EINVAL, "not a regular file")
        self.kind = kind


def open_regular(path: Path) -> BinaryIO:
    """`path` opened to read in binary, if it is a regular file once links are followed.
    Raises IsADirectoryError for a directory, NotRegularFile for anything else that is
    not a regular file (a FIFO would block a read until something writes to it: forever;
    /dev/zero would be read for ever), and the OSError of a path that cannot be opened
    (FileNotFoundError when missing)."""
    # O_NONBLOCK: opening a FIFO for reading waits for a writer without it.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        os.close(fd)
        raise
    if stat.S_ISDIR(mode):
        os.close(fd)
        raise IsADirectoryError(errno.EISDIR, "Is a directory")
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise NotRegularFile(_KINDS.get(stat.S_IFMT(mode), ""))
    return os.fdopen(fd, "rb")


def read_utf8(path: Path, limit: int = TEXT_LIMIT) -> str:
    """The text of `path`, decoded as UTF-8 (TOML requires it: toml.io, "Spec").

    Raises UnreadableFile for a directory or anything else that is not a regular file
    once links are followed (`open_regular`), a file of more than `limit` bytes, a file
    that cannot be read (the OS's reason) or bytes that are not UTF-8 (the first bad
    byte and its line).
    """
    try:
        with open_regular(path) as handle:
            raw = handle.read(limit + 1)
    except IsADirectoryError:
        raise UnreadableFile("is a directory, not a file") from None
    except NotRegularFile as exc:
        raise UnreadableFile(f"is {exc.kind}, not a regular file" if exc.kind else
                             "is not a regular file") from None
    except OSError as exc:
        raise UnreadableFile(f"cannot read it: {exc.strerror or exc}") from None
    if len(raw) > limit:
        raise UnreadableFile(f"is larger than {limit / 1024 / 1024:g} MiB: not a file of "
                             "this kind")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise UnreadableFile(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line})",
                             line) from None


def parse_toml(text: str) -> dict[str, Any]:
    """`tomllib.loads(text)`, where arrays or inline tables nested too deeply for its
    recursive parser (RecursionError: about a thousand within each other, fewer from a
    deep stack) are bad TOML like any other: TOMLDecodeError, without a position."""
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise tomllib.TOMLDecodeError(
            "arrays or inline tables nested too deeply") from None
