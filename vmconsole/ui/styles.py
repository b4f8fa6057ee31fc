"""The theme's colours as the console's text uses them: a label's styles, and a theme
variable as a colour rich and plotext accept."""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from textual.color import Color, ColorParseError


@dataclass(frozen=True, slots=True)
class LabelStyles:
    """Styles taken from the theme's variables, so labels follow the theme."""

    ok: Style
    bad: Style
    warn: Style
    muted: Style
    accent: Style

    @classmethod
    def from_variables(cls, variables: dict[str, str]) -> LabelStyles:
        def color(name: str, fallback: str) -> Style:
            return Style(color=theme_color(variables, name, fallback))

        return cls(
            ok=color("success", "green"),
            bad=color("error", "red"),
            warn=color("warning", "yellow"),
            muted=color("foreground-muted", "grey50"),
            accent=color("accent", "cyan"),
        )


def theme_color(variables: dict[str, str], name: str, fallback: str) -> str:
    """A theme variable as an opaque "#rrggbb" that rich and plotext can use: colours
    with alpha (such as $foreground-muted) are blended over the background."""
    value = variables.get(name)
    if value is None:
        return fallback
    try:
        color = Color.parse(value)
        if color.a < 1:
            color = Color.parse(variables.get("background", "#000000")).blend(color, color.a)
    except ColorParseError:
        return fallback
    return color.hex6
