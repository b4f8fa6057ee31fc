"""libvirt's errors as the typed errors of `backends.base`, in libvirt's own words.

The message a user sees is "<what the console tried>: <libvirt's message>", and the
caller adds what it did about it (nothing changed, partial clone removed, ...).
"""

from __future__ import annotations

import libvirt

from vmconsole.backends.base import (
    AuthError,
    BackendError,
    Conflict,
    NotFound,
    NotSupported,
    Unreachable,
)


def _codes(*names: str) -> frozenset[int]:
    # Older libvirt-python builds lack some constants; a missing one simply never matches.
    return frozenset(getattr(libvirt, n) for n in names if hasattr(libvirt, n))


_NOT_FOUND = _codes("VIR_ERR_NO_DOMAIN", "VIR_ERR_NO_DOMAIN_SNAPSHOT", "VIR_ERR_NO_STORAGE_POOL",
                    "VIR_ERR_NO_STORAGE_VOL", "VIR_ERR_NO_NETWORK", "VIR_ERR_NO_DOMAIN_METADATA")
_NOT_SUPPORTED = _codes("VIR_ERR_NO_SUPPORT", "VIR_ERR_ARGUMENT_UNSUPPORTED")
_AUTH = _codes("VIR_ERR_AUTH_FAILED", "VIR_ERR_AUTH_CANCELLED", "VIR_ERR_ACCESS_DENIED",
               "VIR_ERR_AUTH_UNAVAILABLE")
_UNREACHABLE = _codes("VIR_ERR_NO_CONNECT", "VIR_ERR_RPC", "VIR_ERR_OPERATION_TIMEOUT",
                      "VIR_ERR_INVALID_CONN", "VIR_ERR_SYSTEM_ERROR")
_CONFLICT = _codes("VIR_ERR_DOM_EXIST", "VIR_ERR_STORAGE_VOL_EXIST", "VIR_ERR_OPERATION_ABORTED")


def libvirt_message(exc: libvirt.libvirtError) -> str:
    """libvirt's own text, without the Python wrapper's "virDomainFoo() failed"."""
    return exc.get_error_message() or str(exc)


def translate(exc: libvirt.libvirtError, doing: str) -> BackendError:
    """The typed error for a libvirt failure while `doing` something."""
    code = exc.get_error_code()
    text = libvirt_message(exc)
    message = f"{doing}: {text}"
    if code in _NOT_FOUND:
        return NotFound(message)
    if code in _NOT_SUPPORTED:
        return NotSupported(message)
    if code in _AUTH:
        return AuthError(message)
    if code in _UNREACHABLE:
        return Unreachable(message)
    if code in _CONFLICT or "already exists" in text:
        return Conflict(message)
    return BackendError(message)
