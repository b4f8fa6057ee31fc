"""What one server allows: how many consoles at once, for how long idle, and how much
unread output it holds for a client."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    max_sessions: int = 30
    idle_timeout: float = 0.0  # seconds without input before a session ends; 0: never
    max_output_buffer: int = 4 * 1024 * 1024  # bytes written but not yet sent

    def __post_init__(self) -> None:
        if self.max_sessions < 1:
            raise ValueError("max_sessions must be at least 1")
        if self.idle_timeout < 0:
            raise ValueError("idle_timeout must be 0 (never) or more seconds")
