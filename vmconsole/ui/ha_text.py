"""An HA state as the console shows it: the mark of its phase, then the manager's own
word for it (never another one: a state the console does not know is shown as it came,
made visible), coloured by phase; and, for the detail pane, what it means."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from vmconsole.model import (
    HA_NODE_STATES,
    HA_SERVICE_STATES,
    HAPhase,
    HAState,
    HAStateInfo,
    NodeHAState,
)
from vmconsole.text import visible
from vmconsole.ui.styles import LabelStyles
from vmconsole.ui.symbols import Symbols

UNKNOWN_MEANING = "a state this console does not know, shown as the HA manager reports it"


def service_info(state: str) -> HAStateInfo | None:
    """What a service's HA state means, or None for one this console does not know."""
    try:
        return HA_SERVICE_STATES.get(HAState(state))
    except ValueError:
        return None


def node_info(state: str) -> HAStateInfo | None:
    """What a node's HA state means, or None for one this console does not know."""
    try:
        return HA_NODE_STATES.get(NodeHAState(state))
    except ValueError:
        return None


def phase_style(info: HAStateInfo | None, styles: LabelStyles) -> Style:
    """Trouble in the error colour, what is under way or unknown in the warning one."""
    if info is None:
        return styles.warn
    return {HAPhase.STEADY: styles.accent, HAPhase.PENDING: styles.warn,
            HAPhase.TROUBLE: styles.bad, HAPhase.FROZEN: styles.warn,
            HAPhase.UNMANAGED: styles.muted}[info.phase]


def badge(state: str, info: HAStateInfo | None, sym: Symbols, styles: LabelStyles) -> Text:
    """"♥started", "…request_start", "!fence", "?whatever_the_manager_said"."""
    return Text(sym.ha_phase(None if info is None else info.phase) + visible(state),
                phase_style(info, styles))


def explained(state: str, info: HAStateInfo | None, sym: Symbols,
              styles: LabelStyles) -> Text:
    """The badge and its meaning, one line for the detail pane."""
    line = badge(state, info, sym, styles)
    line.append(f": {UNKNOWN_MEANING if info is None else info.meaning}")
    return line
