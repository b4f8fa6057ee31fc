"""Reading a config file's TOML: typed values whose errors name the file, the line and
the key (tomllib keeps no positions, so the line is found from the file's headers), and
secrets from an environment variable or a file only its owner may read."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from vmconsole.strictmodes import UnsafeFile, check_private
from vmconsole.text import visible
from vmconsole.textfile import UnreadableFile, read_utf8


class ConfigError(Exception):
    """A config file that cannot be used, with where and why, in one line: every hidden
    character of the file's name and of the values quoted (a newline too) is escaped
    (`vmconsole.text.visible`), as the commands print it to a terminal."""

    def __init__(self, path: Path | None, message: str, line: int | None = None,
                 key: str | None = None) -> None:
        where = str(path) if path else "<config>"
        if line is not None:
            where += f", line {line}"
        if key:
            where += f", key '{key}'"
        # Escaped here, once for every message: a name or value quoted may hold a newline
        # that `visible_lines`, which the commands print errors through, would keep.
        super().__init__(visible(f"{where}: {message}", None))
        self.path, self.line, self.key, self.reason = path, line, key, message


class TableReader:
    """Typed access to a TOML table that reports the offending key and its line."""

    def __init__(self, path: Path | None, text: str) -> None:
        self.path, self.lines = path, text.splitlines()

    def line_of(self, key: str) -> int | None:
        """The line that sets `key` ("profiles.work.clusters[1].name"): found by
        following the file's [table] and [[array]] headers and its dotted keys
        (`a.b = 1`), since tomllib keeps no positions; a key inside an inline table
        (`clusters = [{kind = "sim"}]`) at the first line after the value starts that
        sets its leaf name. A key left out (its default taken) is at its table's header;
        failing both, at the first line setting a key of that leaf name."""
        exact, parent, first = self._find(key)
        return exact or parent or first

    def table_line(self, key: str) -> int | None:
        """The line of the [table] or [[array]] header whose table holds `key`, where a
        missing key is reported: it has no line of its own. None for a key of the file's
        top (before any header)."""
        return self._find(key)[1] if len(key_path(key)) > 1 else None

    def _find(self, key: str) -> tuple[int | None, int | None, int | None]:
        """(the line setting `key`, its table's header line, the first line setting its
        leaf name anywhere), each None when not found."""
        wanted = key_path(key)
        leaf = str(wanted[-1]) if wanted else key
        table: list[str | int] = []
        counts: dict[tuple[str | int, ...], int] = {}
        parent = first = None
        for number, line in enumerate(self.lines, 1):
            if header := _HEADER.match(line):
                table = key_path(header.group(2))
                if header.group(1) == "[[":  # one more element of an array of tables
                    index = counts[tuple(table)] = counts.get(tuple(table), -1) + 1
                    table.append(index)
                else:  # [a.b.c] inside the last element of an array [[a.b]]
                    for cut in range(len(table) - 1, 0, -1):
                        if (element := counts.get(tuple(table[:cut]))) is not None:
                            table = [*table[:cut], element, *table[cut:]]
                            break
                if table == wanted or (header.group(1) == "[[" and table[:-1] == wanted):
                    return number, parent, first
                if table == wanted[:-1]:
                    parent = number
            elif assignment := _ASSIGNMENT.match(line):
                sets = [*table, *key_path(assignment.group(1))]
                if sets == wanted:
                    return number, parent, first
                if len(sets) < len(wanted) and wanted[:len(sets)] == sets:
                    return self._inline(number, leaf), parent, first
                if sets[-1] == leaf:
                    first = first or number
        return None, parent, first

    def _inline(self, start: int, leaf: str) -> int:
        """The first line from `start` (1-based) on, within its table, that sets `leaf`
        in an inline table; `start` if none does."""
        sets_leaf = re.compile(rf"(^|[{{,])\s*[\"']?{re.escape(leaf)}[\"']?\s*=")
        for number, line in enumerate(self.lines[start - 1:], start):
            if number > start and _HEADER.match(line):
                break
            if sets_leaf.search(line):
                return number
        return start

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(self.path, message, self.line_of(key), key)

    def get(self, table: dict[str, Any], key: str, prefix: str, kind: type | tuple[type, ...],
            default: Any = None, required: bool = False) -> Any:
        full = f"{prefix}.{key}" if prefix else key
        if key not in table:
            if required:
                line = self.table_line(full)
                raise ConfigError(self.path, "missing required key" + (
                    " in the table that starts on this line" if line else ""), line, full)
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
_KEY_PART = r"(?:\"[^\"]*\"|'[^']*'|[A-Za-z0-9_-]+)"
_ASSIGNMENT = re.compile(rf"^\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*=")


def toml_error_line(error: ValueError, text: str) -> int | None:
    """The line of tomllib's `error` about `text`: its message's "(at line N, column M)",
    or the last line for "(at end of document)" (an unterminated string or table);
    tomllib before Python 3.14 keeps the position only in the message."""
    if match := re.search(r"\(at line (\d+), column \d+\)", str(error)):
        return int(match.group(1))
    if "(at end of document)" in str(error):
        return max(1, len(text.splitlines()))
    return None


def key_path(key: str) -> list[str | int]:
    """ 'profiles.work.clusters[1].name' or a TOML header's 'profiles."a b".clusters' as
    its parts: ['profiles', 'work', 'clusters', 1, 'name']."""
    parts: list[str | int] = []
    for match in re.finditer(r'"([^"]*)"|\'([^\']*)\'|\[(\d+)\]|([^."\'\[\]\s]+)', key):
        quoted, literal, index, bare = match.groups()
        parts.append(int(index) if index is not None else
                     quoted if quoted is not None else literal if literal is not None else bare)
    return parts


def _printable(r: TableReader, value: str, key: str, source: str) -> str:
    """`value`, a secret read from `source` for `key`, if every character of it is
    printable; else ConfigError at `key` naming the first that is not and where, never
    the secret itself. A line break, a carriage return (`$(cat file)` keeps a Windows
    line end's) or a NUL would go into an HTTP header (a Proxmox token's), which requests
    refuses with the whole header, secret included, in its message; or into a login."""
    at = next((i for i, char in enumerate(value) if not char.isprintable()), None)
    if at is None:
        return value
    hint = " (a Windows line end?)" if value[at] == "\r" else ""
    raise r.fail(key, f"the secret in {source} holds '{visible(value[at], None)}' at "
                 f"character {at + 1} of {len(value)}{hint}: a secret is one line of "
                 "printable characters")


def secret(r: TableReader, table: dict[str, Any], key: str, prefix: str) -> str | None:
    """A secret comes from `<key>_env` (a variable's name) or `<key>_file` (a path that
    only its owner may read, as ssh demands of a private key). The file's blanks around
    it (its last line end) are dropped; a secret that still holds a character that is
    not printable is refused (`_printable`)."""
    env_name = r.get(table, f"{key}_env", prefix, str)
    file_name = r.get(table, f"{key}_file", prefix, str)
    if env_name:
        value = os.environ.get(env_name)
        if value is None:
            raise r.fail(f"{prefix}.{key}_env", f"environment variable {env_name} is not set")
        return _printable(r, value, f"{prefix}.{key}_env", f"${env_name}")
    if file_name:
        path = Path(file_name).expanduser()
        try:
            check_private(path)  # ssh's rule for a secret: no one else may read it
            text = read_utf8(path).strip()
        except UnsafeFile as exc:
            raise r.fail(f"{prefix}.{key}_file", str(exc)) from None
        except UnreadableFile as exc:
            raise r.fail(f"{prefix}.{key}_file", f"{path}: {exc.reason}") from None
        except OSError as exc:
            raise r.fail(f"{prefix}.{key}_file",
                         f"{path}: cannot read it: {exc.strerror or exc}") from None
        return _printable(r, text, f"{prefix}.{key}_file", str(path))
    return None
