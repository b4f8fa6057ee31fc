"""PVE's HTTP errors as the backend's typed errors, in PVE's own words.

PVE puts its message in the HTTP reason phrase (proxmoxer's `content`) and, for a 400,
a message per parameter in the body's `errors`.
"""

from __future__ import annotations

from typing import Any

from proxmoxer.core import ResourceException

from vmconsole.backends.base import (
    AuthError,
    BackendError,
    Conflict,
    InvalidInput,
    NotFound,
    NotSupported,
    Unreachable,
)

# pveproxy's own codes for a node it could not reach on the caller's behalf
# (AnyEvent::HTTP: connection, TLS, body errors).
_PROXY_FAILURES = range(595, 600)

_CONFLICT_WORDS = ("is locked", "already exists", "already used", "already running",
                   "got timeout", "in use")
_NOT_FOUND_WORDS = ("does not exist", "no such")


def from_resource_exception(exc: ResourceException, token_user: str | None, method: str,
                            path: str) -> BackendError:
    status = int(exc.status_code)
    message = str(exc.content or exc.status_message or "").strip()
    if status == 400:
        fields = _fields(exc.errors)
        detail = "; ".join(f"{name}: {why}" for name, why in fields.items())
        return InvalidInput(f"{message} {detail}".strip(), fields)
    if status == 401:
        return AuthError(f"authentication failure ({message}): check the user, "
                         "the token id and its secret, or the password")
    if status == 403:
        hint = ""
        if token_user:
            hint = (f" The API token {token_user} has privilege separation unless it was "
                    "created with --privsep 0: give the token itself a role on the path "
                    "(pveum acl modify / --tokens ...), not only its user.")
        return AuthError(f"{message} on {method} {path}.{hint}")
    if status in _PROXY_FAILURES:
        return Unreachable(f"{message} ({method} {path}): the node did not answer its peer")
    if status == 501:
        return NotSupported(message)
    if status == 404:
        return NotFound(f"{message}: {path}")
    lowered = message.lower()
    if any(word in lowered for word in _NOT_FOUND_WORDS):
        return NotFound(message)
    if any(word in lowered for word in _CONFLICT_WORDS):
        return Conflict(message)
    return BackendError(message or f"HTTP {status} on {method} {path}")


def _fields(errors: Any) -> dict[str, str]:
    if isinstance(errors, dict):
        return {str(k): str(v).strip() for k, v in errors.items() if k != "errors"}
    return {}
