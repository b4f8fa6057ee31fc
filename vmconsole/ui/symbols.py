"""Status symbols, with an ASCII set for terminals without Unicode (TERM=linux, a
non-UTF-8 locale, or --ascii)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from vmconsole.model import GuestStatus, NodeStatus


@dataclass(frozen=True, slots=True)
class Symbols:
    running: str
    stopped: str
    paused: str
    unknown: str
    online: str
    offline: str
    template: str
    ha: str
    lock: str
    bar_full: str
    bar_empty: str
    ascii: bool = False  # charts too: '*' and +-| instead of braille and box drawing

    def guest(self, status: GuestStatus) -> str:
        return {
            GuestStatus.RUNNING: self.running,
            GuestStatus.STOPPED: self.stopped,
            GuestStatus.PAUSED: self.paused,
        }.get(status, self.unknown)

    def node(self, status: NodeStatus) -> str:
        return self.online if status is NodeStatus.ONLINE else self.offline


UNICODE = Symbols("▶", "■", "‖", "?", "●", "○", "◇", "♥", "⟳", "█", "░")
ASCII = Symbols(">", "#", "=", "?", "*", "o", "T", "+", "L", "#", ".", ascii=True)


def detect_ascii(env: dict[str, str] | None = None) -> bool:
    """Plain ASCII where the terminal likely cannot draw Unicode symbols."""
    env = dict(os.environ if env is None else env)
    if env.get("TERM") == "linux":
        return True
    locale = env.get("LC_ALL") or env.get("LC_CTYPE") or env.get("LANG") or ""
    return bool(locale) and "utf" not in locale.lower().replace("-", "")
