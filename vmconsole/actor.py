"""Who is at the console, and what their role lets them do.

"Actor" as audit logs say it (who did it): not "session", which in this project means
only an SSH session of `vmconsole serve`. A ping run is a measurement
(`monitor/ping/session.py`), a serial console's link a `ConsoleSession` of its own."""

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
class Actor:
    """Who acts through this console: a user name, its role, and where it connects from."""

    user: str
    role: Role = Role.ADMIN
    source: str = "local"  # "local", or "ssh:ADDRESS:PORT"

    @classmethod
    def local(cls) -> Actor:
        return cls(getpass.getuser(), Role.ADMIN, "local")
