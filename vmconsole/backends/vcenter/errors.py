"""vSphere's faults as the backend's typed errors, in vSphere's own words.

A fault is a `vmodl.MethodFault` (raised by pyvmomi, or carried in a failed task's
`info.error`). Its `msg` or `localizedMessage` is vCenter's sentence for the user; where
a server leaves it empty or terse (vcsim names only the fault type), the fault's own
fields say what went wrong. Every text passes through `visible()`: names in faults are
user data.
"""

from __future__ import annotations

from typing import Any

from pyVmomi import vim, vmodl

from vmconsole.backends.base import (
    AuthError,
    BackendError,
    Conflict,
    InvalidInput,
    NotFound,
    NotSupported,
)
from vmconsole.text import visible

# vSphere API reference, "Faults": which fault types mean which of our errors.
_KINDS: tuple[tuple[type, type[BackendError]], ...] = (
    (vim.fault.InvalidLogin, AuthError),
    (vim.fault.NotAuthenticated, AuthError),
    (vim.fault.NoPermission, AuthError),
    (vmodl.fault.ManagedObjectNotFound, NotFound),
    (vim.fault.NotFound, NotFound),
    (vmodl.fault.NotImplemented, NotSupported),
    (vmodl.fault.MethodNotFound, NotSupported),
    (vmodl.fault.NotSupported, NotSupported),
    (vim.fault.DuplicateName, Conflict),
    (vim.fault.TaskInProgress, Conflict),
    (vim.fault.InvalidPowerState, Conflict),
    (vim.fault.InvalidState, Conflict),
    (vim.fault.FileLocked, Conflict),
    (vmodl.fault.InvalidArgument, InvalidInput),
    (vim.fault.InvalidName, InvalidInput),
)


def describe(fault: Any) -> str:
    """One line for the user: the server's message, or one built from the fault's fields."""
    if isinstance(fault, vim.fault.InvalidPowerState):
        existing = getattr(fault, "existingState", None)
        requested = getattr(fault, "requestedState", None)
        # vcsim fills requestedState with the state the call aims at, vCenter with the one
        # it needs first: equal states mean "already there" either way.
        detail = f"the VM is {existing}" if existing else "the VM's power state forbids it"
        if requested and requested == existing:
            detail = f"the VM is {existing} already"
        elif requested:
            detail += f"; this needs it {requested}"
        return visible(detail, None)
    if isinstance(fault, vim.fault.DuplicateName):
        return visible(f"the name {getattr(fault, 'name', '')!s} is already used", None)
    if isinstance(fault, vim.fault.InvalidLogin):
        return "login refused: check the user and the password"
    if isinstance(fault, vim.fault.NoPermission):
        privilege = getattr(fault, "privilegeId", None)
        needs = f": needs the privilege {privilege}" if privilege else ""
        return visible(f"permission denied{needs}", None)
    text = str(getattr(fault, "msg", "") or getattr(fault, "localizedMessage", "") or "")
    name = type(fault).__name__
    if not text or text.startswith("*types."):  # vcsim's message is the Go type's name
        text = name
    return visible(text.strip(), None)


def from_fault(fault: Any, action: str = "") -> BackendError:
    """The typed error for a vSphere fault; `action` ("power on vm-42") prefixes it."""
    message = describe(fault)
    if action:
        message = f"{visible(action, None)}: {message}"
    for kind, error in _KINDS:
        if isinstance(fault, kind):
            return error(message)
    return BackendError(message)


__all__ = ["describe", "from_fault"]
