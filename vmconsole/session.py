"""Who is at the console, and what their role lets them do."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"  # sees everything, runs the ping monitor, changes nothing
    OPERATOR = "operator"  # cluster operations
    ADMIN = "admin"  # also the simulator's fault injection

    def may_operate(self) -> bool:
        return self is not Role.VIEWER

    def may_inject_faults(self) -> bool:
        return self is Role.ADMIN

    def allows(self, needed: Role) -> bool:
        """Does this role include `needed`? Each role has the rights of those above it
        in this list: viewer < operator < admin."""
        order = list(Role)
        return order.index(self) >= order.index(needed)


@dataclass(frozen=True, slots=True)
class Session:
    user: str
    role: Role = Role.ADMIN
    source: str = "local"  # "local", or "ssh:ADDRESS:PORT"

    @classmethod
    def local(cls) -> Session:
        return cls(getpass.getuser(), Role.ADMIN, "local")
