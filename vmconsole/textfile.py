"""Reading the user's own text files (the config, themes, secret files) so that a bad
one costs one line saying what is wrong, never a traceback."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any


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


def parse_toml(text: str) -> dict[str, Any]:
    """`tomllib.loads(text)`, where arrays or inline tables nested too deeply for its
    recursive parser (RecursionError: about a thousand within each other, fewer from a
    deep stack) are bad TOML like any other: TOMLDecodeError, without a position."""
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise tomllib.TOMLDecodeError(
            "arrays or inline tables nested too deeply") from None
