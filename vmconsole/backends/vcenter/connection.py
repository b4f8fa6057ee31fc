"""One logged-in session with a vCenter Server through pyvmomi, kept alive and renewed.

TLS is verified against the system CAs by default, against a CA file, or against a
pinned SHA-256 certificate fingerprint; `verify_ssl = false` turns verification off, and
`insecure` says so for the UI to show. Every request has the profile's timeout.

The pin is checked here, on every connection, by the SSL context itself: pyvmomi's own
`thumbprint` is checked only when CA verification fails first, on a stub's first
connection, and pyvmomi turns verification off altogether for a server on 127.0.0.1 or
localhost unless it is handed a context. So it is always handed one.

vCenter ends idle sessions (30 minutes by default) and forgets all of them when it
restarts: a call refused with `NotAuthenticated` logs in again once and is repeated. A
poll every few seconds keeps an open session from going idle.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim, vmodl

from vmconsole.backends.base import AuthError, BackendError, Unreachable
from vmconsole.backends.vcenter.errors import from_fault
from vmconsole.config import VCenterCluster
from vmconsole.config.real_clusters import sha256_digits
from vmconsole.text import visible

log = logging.getLogger(__name__)

T = TypeVar("T")

# What the network layer raises when vCenter is down, slow or gone mid-answer.
_NETWORK_ERRORS = (OSError, http.client.HTTPException, socket.timeout)


class FingerprintMismatch(ssl.SSLError):
    """The server's certificate is not the pinned one."""


class PinnedContext(ssl.SSLContext):
    """A TLS client context that accepts exactly the certificate with one SHA-256
    fingerprint (no CA, no host name): checked after each handshake, before any byte of
    the request is sent."""

    fingerprint: str

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        sock = super().wrap_socket(*args, **kwargs)
        der = sock.getpeercert(binary_form=True) or b""
        if hashlib.sha256(der).hexdigest() != self.fingerprint:
            sock.close()
            raise FingerprintMismatch(f"its SHA-256 is {hashlib.sha256(der).hexdigest()}")
        return sock


def pinned_context(fingerprint: str) -> PinnedContext:
    """A context for `normalise_fingerprint(fingerprint)`; raises AuthError if malformed."""
    context = PinnedContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the pin replaces the CA check
    context.fingerprint = normalise_fingerprint(fingerprint)
    return context


# The server's identity refused, as against a connection that failed (ssl.SSLEOFError
# from a server that died mid-handshake is an SSLError too, and means unreachable).
_TLS_REFUSALS = (FingerprintMismatch, ssl.SSLCertVerificationError)


def normalise_fingerprint(text: str) -> str:
    """`AB:CD:...` as vCenter's UI shows it, or plain hex: 64 lower-case hex digits.

    Raises AuthError for anything that is not a SHA-256 digest (a SHA-1 thumbprint,
    40 digits, is refused: it no longer pins a certificate safely)."""
    digits = sha256_digits(text)
    if digits is None:
        raise AuthError(f"fingerprint must be a SHA-256 digest (64 hex digits), "
                        f"got {visible(text)!r}")
    return digits


class Session:
    """The service instance of one vCenter, logged in, with calls mapped to typed errors."""

    def __init__(self, cfg: VCenterCluster) -> None:
        self.cfg = cfg
        self.insecure = not (cfg.fingerprint or cfg.ca_file) and not cfg.verify_ssl
        self._context: ssl.SSLContext | None
        if cfg.fingerprint:
            self._context = pinned_context(cfg.fingerprint)
        elif cfg.ca_file:
            self._context = ssl.create_default_context(cafile=cfg.ca_file)
        elif cfg.verify_ssl:
            self._context = ssl.create_default_context()
        else:
            self._context = None
        self._lock = threading.Lock()
        self._si: Any = None
        self._content: Any = None

    @property
    def where(self) -> str:
        return f"{visible(self.cfg.host)}:{self.cfg.port}"

    def content(self) -> Any:
        """The `ServiceContent` of a logged-in session, logging in first if needed: one
        object per session (`si.content` would be a request on every access)."""
        with self._lock:
            if self._si is None:
                self._si = self._login()
                self._content = self._si.RetrieveContent()
            return self._content

    def call(self, what: str, fn: Callable[[Any], T]) -> T:
        """`fn(content)` with the session's `ServiceContent`; a session that vCenter
        forgot (restart, idle expiry) is renewed once. `what` names the call for errors.

        Raises AuthError, Unreachable, or the typed error for the fault vCenter answers."""
        for attempt in (1, 2):
            try:
                return fn(self.content())
            except vim.fault.NotAuthenticated:
                if attempt == 2:
                    raise AuthError(f"{self.where}: the session was refused again after a "
                                    "new login") from None
                log.info("%s: session expired; logging in again", self.where)
                self._forget()
            except vmodl.MethodFault as fault:
                raise from_fault(fault, what) from None
            except _TLS_REFUSALS as exc:
                raise AuthError(self._tls_refusal(exc)) from None
            except _NETWORK_ERRORS as exc:  # an SSL EOF from a server that died included
                self._forget()
                raise Unreachable(f"{self.where}: {visible(_reason(exc), None)} "
                                  f"({visible(what, None)})") from None
        raise AssertionError("unreachable")

    def _login(self) -> Any:
        cfg = self.cfg
        options: dict[str, Any] = {"sslContext": self._context}
        if self._context is None:
            options = {"disableSslCertValidation": True}
        try:
            return SmartConnect(host=cfg.host, port=cfg.port, user=cfg.user,
                                pwd=cfg.password or "",
                                httpConnectionTimeout=max(1, round(cfg.timeout)),
                                connectionPoolTimeout=-1, **options)
        except vim.fault.InvalidLogin:
            raise AuthError(f"{self.where}: login as {visible(cfg.user)} refused: check the "
                            "user and the password") from None
        except vmodl.MethodFault as fault:
            raise from_fault(fault, f"login to {cfg.host}") from None
        except _TLS_REFUSALS as exc:
            raise AuthError(self._tls_refusal(exc)) from None
        except _NETWORK_ERRORS as exc:
            raise Unreachable(f"{self.where}: {visible(_reason(exc), None)}") from None
        except BackendError:
            raise
        except Exception as exc:  # pyvmomi raises bare Exception for a non-vSphere server
            raise Unreachable(f"{self.where}: not a vSphere API "
                              f"({visible(_reason(exc), None)})") from None

    def _tls_refusal(self, exc: Exception) -> str:
        if self.cfg.fingerprint:
            how = "does not match the pinned fingerprint"
        elif self.cfg.ca_file:
            how = f"is not signed by the CA in {visible(self.cfg.ca_file)}"
        else:
            how = "is not trusted (set ca_file or fingerprint in the profile)"
        return (f"{self.where}: the server's TLS certificate {how} "
                f"({visible(_reason(exc), None)})")

    def _forget(self) -> None:
        with self._lock:
            self._si = self._content = None

    def close(self) -> None:
        """Log out (best effort: vCenter may be gone) and drop the session."""
        with self._lock:
            si, self._si, self._content = self._si, None, None
        if si is not None:
            try:
                Disconnect(si)
            except (vmodl.MethodFault, *_NETWORK_ERRORS) as exc:
                log.debug("logout from %s failed: %s", self.where, exc)


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:300]


__all__ = ["Session", "normalise_fingerprint"]
