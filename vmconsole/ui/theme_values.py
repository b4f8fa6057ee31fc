"""A theme file's values that Textual takes as they are and fails on later: its CSS
variables (parsed with the whole stylesheet when the theme is applied, at start or from
the palette: a value Textual's CSS parser refuses there ended the console) and its
numbers (a `luminosity_spread` of 1e308 made a colour NaN). Each check says what is
wrong, or None; the caller names the file. Textual's own parser judges the variables, so
what passes here is what it takes."""

from __future__ import annotations

import math
from functools import cache

from textual.color import ColorParseError
from textual.css.parse import parse
from textual.css.tokenize import tokenize_values
from textual.css.tokenizer import TokenError
from textual.design import ColorSystem

from vmconsole.text import visible

VALUE_LIMIT = 60  # characters of a value quoted in a message
_PRIMARY = "#0178D4"  # textual-dark's: any colour makes the colour system's variables

# How Textual's stylesheets use a theme's variables: a colour as a text colour, a
# background and a border's colour, alone or with an alpha after it (`$text 60%`); a
# style as a text style. A value is tried in each of these where the variable's own
# default is taken, and must be taken there too.
_PROBES = {"color: $v": "colour", "background: $v": "colour",
           "color: $v 50%": "colour", "background: $v 50%": "colour",
           "border: tall $v": "colour", "text-style: $v": "text style"}

# Numbers of Textual's Theme: each from 0 to 1 (a fraction of luminosity, an alpha).
NUMBER_RANGES = {"luminosity_spread": (0.0, 1.0), "text_alpha": (0.0, 1.0)}
FLAGS = ("dark", "ansi")


def quoted(value: object) -> str:
    """`value` as a message quotes it: its repr (escapes for controls) cut short."""
    return visible(repr(value), VALUE_LIMIT)


def number_problem(key: str, value: object) -> str | None:
    """What is wrong with `value` for the number field `key` (of NUMBER_RANGES)."""
    low, high = NUMBER_RANGES[key]
    if (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value) and low <= value <= high):
        return None
    return f"'{key}' must be a number from {low:g} to {high:g}, not {quoted(value)}"


def variable_problem(name: str, value: object) -> str | None:
    """What is wrong with `value` for the CSS variable `name` of a theme's `variables`:
    a name Textual's themes do not set, or a value its CSS parser refuses where the
    variable's default is taken (TokenError: `;`, `{` or `}`, a markup bracket)."""
    kinds = _kinds_taken(name)
    if kinds is None:
        return f"variables: {quoted(name)} is not a variable of Textual's themes"
    if not isinstance(value, str):
        return f"variables: {quoted(name)} must be a string, not {quoted(value)}"
    for probe, kind in kinds:
        if not _taken(probe, value):
            return f"variables: {quoted(name)} is not a {kind} Textual takes: {quoted(value)}"
    try:  # Textual reads a few back as colours itself (background-darken-1, as "#rrggbb")
        ColorSystem(primary=_PRIMARY, variables={name: value}).generate()
    except ColorParseError:
        return f"variables: {quoted(name)} is not a plain colour: {quoted(value)}"
    return None


def _taken(probe: str, value: str) -> bool:
    """Does Textual's CSS parser take `value` for `$v` in the declaration `probe`, as
    one rule without errors (so nothing in it ends the declaration or the rule)?"""
    try:
        rules = list(parse("", f"X {{ {probe}; }}", ("theme", ""),
                           variable_tokens=tokenize_values({"v": value})))
    except TokenError:
        return False
    return len(rules) == 1 and not rules[0].errors


@cache
def textual_variables() -> dict[str, str]:
    """Every variable Textual's themes set, in colour and in ANSI mode, with its default
    value. Made on the first user theme with variables (about 1 ms)."""
    return {**ColorSystem(primary=_PRIMARY, ansi=True).generate(),
            **ColorSystem(primary=_PRIMARY).generate()}


@cache
def _kinds_taken(name: str) -> tuple[tuple[str, str], ...] | None:
    """The probes (and what they try: "colour", "text style") that Textual's default
    value for the variable `name` is taken in; None for a name its themes do not set.
    Found for the names a theme sets only: all of them take a tenth of a second."""
    default = textual_variables().get(name)
    if default is None:
        return None
    return tuple((probe, kind) for probe, kind in _PROBES.items() if _taken(probe, default))
