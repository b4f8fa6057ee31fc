"""Themes from TOML files: the built-in ones shipped in the package, and the user's
from `$XDG_DATA_HOME/vmconsole/themes/*.toml`. A file that is not a valid theme is
skipped with a message, never fatal."""

from __future__ import annotations

import tomllib
import unicodedata
from dataclasses import dataclass, fields
from itertools import chain
from pathlib import Path

from textual.color import Color, ColorParseError
from textual.theme import BUILTIN_THEMES, Theme

import vmconsole.themes
from vmconsole.paths import data_dir
from vmconsole.text import visible
from vmconsole.textfile import UnreadableFile, parse_toml, read_utf8
from vmconsole.ui.theme_values import (
    FLAGS,
    NUMBER_RANGES,
    number_problem,
    quoted,
    variable_problem,
)

DEFAULT_THEME = "vmconsole-dark"
NAME_LIMIT = 64  # characters of a theme's name
_COLOR_FIELDS = ("primary", "secondary", "warning", "error", "success", "accent",
                 "foreground", "background", "surface", "panel", "boost")
_ALLOWED = {f.name for f in fields(Theme)}


@dataclass(frozen=True, slots=True)
class ThemeLoad:
    """The themes read, and a message for each file that is not a valid theme."""

    themes: list[Theme]
    problems: list[str]


def user_theme_dir() -> Path:
    return data_dir() / "themes"


def theme_from_toml(text: str, origin: str, check_values: bool = True) -> Theme:
    """Parse one theme file; raises ValueError naming the file (`origin`), the key and
    what is wrong. `check_values`: also the CSS variables and numbers Textual would fail
    on when the theme is applied (ui/theme_values.py); the package's own themes skip it,
    about 1 ms a variable at every start, and a test holds them to it."""
    try:
        data = parse_toml(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{origin}: not valid TOML: {exc}") from None
    unknown = set(data) - _ALLOWED
    if unknown:
        raise ValueError(f"{origin}: unknown fields {', '.join(sorted(unknown))}")
    for key in ("name", "primary"):
        if not isinstance(data.get(key), str):
            raise ValueError(f"{origin}: '{key}' is required and must be a string")
    name = data["name"]
    # The name is shown by Textual's theme picker (Ctrl+P, Theme) as is: it must be plain
    # text that fits a line, so no controls or escapes, no markup brackets.
    if (not name or len(name) > NAME_LIMIT or visible(name, None) != name
            or set(name) & set("[]")):
        raise ValueError(f"{origin}: 'name' must be 1 to {NAME_LIMIT} printable "
                         "characters without [ or ]")
    for key in _COLOR_FIELDS:
        if key in data:
            try:
                Color.parse(data[key])
            except (ColorParseError, TypeError):
                raise ValueError(f"{origin}: '{key}' is not a colour: "
                                 f"{quoted(data[key])}") from None
    for key in FLAGS:
        if not isinstance(data.get(key, False), bool):
            raise ValueError(f"{origin}: '{key}' must be true or false, not "
                             f"{quoted(data[key])}")
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise ValueError(f"{origin}: 'variables' must be a table, not {quoted(variables)}")
    if check_values:
        problems = chain((number_problem(key, data[key]) for key in NUMBER_RANGES
                          if key in data),
                         (variable_problem(name, value) for name, value in variables.items()))
        if problem := next((p for p in problems if p is not None), None):
            raise ValueError(f"{origin}: {problem}")
    return Theme(**data)


def look_alike(name: str) -> str:
    """What `name` reads as in the theme picker: case, accents and other combining marks
    (NFKD), compatibility forms and the spaces around it left out ("Nord ", "nórd" and
    full-width "nord" all read "nord"), so no user theme passes for another."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def load_themes(user_dir: Path | None = None) -> ThemeLoad:
    """The built-in themes, then the user's (`user_dir`, default `user_theme_dir()`) in
    the order of their file names, each file that is not a valid theme skipped with a
    message naming it. A user theme may not take the name of a built-in one (Textual's
    or the package's) or of a user theme read before it: registered, it would replace
    that one without a word, the default theme included."""
    themes: list[Theme] = []
    problems: list[str] = []
    # The package's directory, not importlib.resources (about 2 ms of imports at every
    # start, issue 12): the package is always installed as files, never from a zip.
    builtin = Path(vmconsole.themes.__file__).parent
    for entry in sorted(builtin.glob("*.toml"), key=lambda e: e.name):
        themes.append(theme_from_toml(entry.read_text(encoding="utf-8"), entry.name,
                                      check_values=False))
    taken = dict.fromkeys([look_alike(name) for name in
                           (*BUILTIN_THEMES, *(t.name for t in themes))], "a built-in theme")
    directory = user_dir or user_theme_dir()
    for path in sorted(directory.glob("*.toml")) if directory.is_dir() else ():
        try:
            theme = theme_from_toml(read_utf8(path), str(path))
        except UnreadableFile as exc:
            problems.append(f"{path}: {exc.reason}")
            continue
        except ValueError as exc:
            problems.append(str(exc))
            continue
        if (owner := taken.get(look_alike(theme.name))) is not None:
            problems.append(f"{path}: 'name' {theme.name!r} is taken by {owner}: give "
                            "yours a name of its own")
            continue
        taken[look_alike(theme.name)] = str(path)
        themes.append(theme)
    return ThemeLoad(themes, problems)
