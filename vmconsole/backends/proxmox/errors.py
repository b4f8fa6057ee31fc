"""PVE's HTTP errors as the backend's typed errors, in PVE's own words.

PVE puts its message in the HTTP reason phrase (proxmoxer's `content`) and the body's
`message` and, for a 400, a message per parameter in the body's `errors`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

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
from vmconsole.jsontext import parse_json
from vmconsole.text import visible

# pveproxy's own codes for a node it could not reach on the caller's behalf
# (AnyEvent::HTTP: connection, TLS, body errors).
_PROXY_FAILURES = range(595, 600)

_CONFLICT_WORDS = ("is locked", "already exists", "already used", "already running",
                   "got timeout", "in use")
_NOT_FOUND_WORDS = ("does not exist", "no such")
_SHOWN = 300  # characters of a server's message shown


@dataclass(frozen=True, slots=True)
class ErrorBody:
    """What the body of an error answer says, as PVE's pve-http-server writes it:
    `message`, its whole message, and `fields`, a message per parameter (a 400)."""

    message: str = ""
    fields: Mapping[str, str] = field(default_factory=dict)


def error_body(content: bytes) -> ErrorBody:
    """The body of an error answer (`{"data": null, "message": "...", "errors": {...}}`);
    a body that is not such JSON (a proxy's page) says nothing: an empty ErrorBody."""
    try:
        body = parse_json(content.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError is one too
        return ErrorBody()
    if not isinstance(body, dict):
        return ErrorBody()
    message, errors = body.get("message"), body.get("errors")
    return ErrorBody(
        str(message).strip() if isinstance(message, (str, int, float)) else "",
        {str(k): str(v).strip() for k, v in errors.items()} if isinstance(errors, dict)
        else {})


def from_resource_exception(exc: ResourceException, token_user: str | None, method: str,
                            path: str) -> BackendError:
    """The typed error of a refused `method path`; `exc.errors` is the body's
    `ErrorBody` (`PveJson.loads_errors`), else nothing is read from the body."""
    status = int(exc.status_code)
    body = exc.errors if isinstance(exc.errors, ErrorBody) else ErrorBody()
    reason = str(exc.content or "").strip()
    # PVE's reason phrase is its message's first line; a server whose phrase is the
    # status's own ("Internal Server Error") says what went wrong in the body only.
    if body.message and reason in ("", exc.status_message):
        reason = body.message
    message = visible(reason or exc.status_message or "", _SHOWN)
    if status == 400:
        fields = {visible(name): visible(why, _SHOWN) for name, why in body.fields.items()}
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
    return BackendError(f"{message or f'HTTP {status}'} on {method} {path}")
