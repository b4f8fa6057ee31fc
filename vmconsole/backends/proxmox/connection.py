"""One authenticated HTTPS connection to a Proxmox VE API, through proxmoxer.

TLS is verified against the system CAs by default, against a CA file, or against a pinned
SHA-256 certificate fingerprint; `verify_ssl = false` turns verification off, and
`insecure` says so for the UI to show. Every request, the login's included, is bounded
by the profile's timeout as a whole (`BoundedSession`), not only each socket read.

Authentication is an API token (`PVEAPIToken` header) or user and password. proxmoxer's
own password login posts through the module-level `requests.post`, past the session
that carries the pinned fingerprint and the CA, so the ticket login is done here, on the
same session: the ticket is renewed before PVE's 2-hour expiry, and a request refused
with 401 logs in again once.

A call borrows a `requests` session from a small pool (sessions are not documented as
thread-safe, and the UI calls from many worker threads); all share the auth state.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from proxmoxer.backends.https import (
    JsonSerializer,
    ProxmoxHTTPApiTokenAuth,
    ProxmoxHTTPAuthBase,
    ProxmoxHttpSession,
)
from proxmoxer.core import ProxmoxResource, ResourceException
from requests.adapters import HTTPAdapter
from requests.cookies import cookiejar_from_dict

from vmconsole.backends.base import AuthError, Unreachable
from vmconsole.backends.bounded import call_bounded
from vmconsole.backends.endpoint import https_url
from vmconsole.backends.proxmox.answers import TEXT, NotPveAnswer, Record, data_of, not_pve
from vmconsole.backends.proxmox.errors import ErrorBody, error_body, from_resource_exception
from vmconsole.config import ProxmoxCluster
from vmconsole.config.real_clusters import sha256_digits

log = logging.getLogger(__name__)

# PVE tickets live 2 hours; renew with a wide margin, as PVE's web UI does (every 15 min).
TICKET_RENEW_AFTER = 15 * 60.0
# POST /access/ticket's answer.
TICKET = Record({"ticket": TEXT, "CSRFPreventionToken": TEXT},
                required=("ticket", "CSRFPreventionToken"))


class PveJson(JsonSerializer):
    """proxmoxer's serializer, but a body that is not PVE's JSON envelope raises
    NotPveAnswer instead of coming back as `{"errors": body}` (or a KeyError)."""

    def loads(self, response: requests.Response) -> Any:
        return data_of(response.content)

    def loads_errors(self, response: requests.Response) -> ErrorBody:
        """The body of an error answer, message included (proxmoxer's reads `errors`
        only, and fails on a body nested too deeply or a list)."""
        return error_body(response.content)


class FingerprintAdapter(HTTPAdapter):
    """Accepts exactly the certificate with this SHA-256 fingerprint (no CA, no hostname):
    urllib3 checks the peer certificate's digest during the handshake."""

    def __init__(self, fingerprint: str) -> None:
        self.fingerprint = normalise_fingerprint(fingerprint)
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["assert_fingerprint"] = self.fingerprint
        super().init_poolmanager(*args, **kwargs)


def normalise_fingerprint(text: str) -> str:
    """`AB:CD:...` as PVE's GUI shows it, or plain hex: 64 lower-case hex digits."""
    digits = sha256_digits(text)
    if digits is None:
        raise AuthError(f"fingerprint must be a SHA-256 digest (64 hex digits), got {text!r}")
    return digits


class BoundedSession(ProxmoxHttpSession):
    """proxmoxer's session, each request bounded by `deadline` seconds as a whole.

    requests' timeout bounds each socket read: a server that drips its answer a byte at
    a time never trips it. The request runs on a thread of its own (`call_bounded`); at
    the deadline the caller gets requests' Timeout and the session is `abandoned`: the
    pool closes it instead of lending it again, as the stranded thread still uses it.
    That thread ends when the server stops answering for a read timeout or ends its
    answer."""

    def __init__(self, deadline: float, name: str) -> None:
        super().__init__()
        self.deadline, self.name = deadline, name
        self.abandoned = False

    def request(self, *args: Any, **kwargs: Any) -> Any:
        """proxmoxer's request; requests' Timeout when it takes over `deadline`."""
        try:
            return call_bounded(lambda: super(BoundedSession, self).request(*args, **kwargs),
                                self.deadline, self.name)
        except TimeoutError:
            self.abandoned = True
            raise requests.exceptions.Timeout(f"no answer within {self.deadline:g} s") from None


class TicketAuth(ProxmoxHTTPAuthBase):
    """User and password: a PVE ticket cookie and its CSRF token, renewed before expiry.

    `login` posts through the caller's session, so the ticket request is verified like
    every other one."""

    def __init__(self, user: str, password: str, verify: bool | str, timeout: tuple[float, float],
                 base_url: str) -> None:
        super().__init__(timeout=timeout, verify_ssl=verify)
        self.user, self._password, self.base_url = user, password, base_url
        self._lock = threading.Lock()
        self._ticket: str | None = None
        self._csrf = ""
        self._born = 0.0

    def __repr__(self) -> str:
        return f"TicketAuth(user={self.user!r})"

    @property
    def ticket(self) -> str | None:
        """The ticket the next request carries (None: not logged in)."""
        return self._ticket

    def login(self, session: requests.Session, renew: bool = False,
              refused: str | None = None) -> None:
        """Log in (POST /access/ticket). `refused`: the ticket a 401 refused; when
        another thread has logged in since (the address sweep and the poll share the
        ticket), its new ticket is used and no second login is made. Raises AuthError,
        or BackendError for an answer that is not PVE's (`answers.not_pve`)."""
        with self._lock:
            if refused is not None and self._ticket is not None and self._ticket != refused:
                return
            # A renewal presents the old ticket as the password, as PVE's clients do.
            password = self._ticket if renew and self._ticket else self._password
            reply = session.request("POST", self.base_url + "/access/ticket",
                                    verify=self.verify_ssl, timeout=self.timeout, auth=_NO_AUTH,
                                    data={"username": self.user, "password": password})
            if reply.status_code != 200:
                self._ticket = None
                raise AuthError(f"login as {self.user} refused: "
                                f"{reply.status_code} {reply.reason}")
            try:
                data = data_of(reply.content)
            except NotPveAnswer as exc:
                raise not_pve("POST", "/access/ticket", exc.why) from None
            if isinstance(data, dict) and data.get("NeedTFA"):
                raise AuthError(f"{self.user} needs a second factor: use an API token instead")
            if why := TICKET.problem(data):
                raise not_pve("POST", "/access/ticket", why)
            self._ticket, self._csrf = str(data["ticket"]), str(data["CSRFPreventionToken"])
            self._born = time.monotonic()

    def ensure(self, session: requests.Session) -> None:
        if self._ticket is None:
            self.login(session)
        elif time.monotonic() - self._born > TICKET_RENEW_AFTER:
            try:
                self.login(session, renew=True)
            except AuthError:
                self.login(session)

    def get_cookies(self) -> Any:
        return cookiejar_from_dict({"PVEAuthCookie": self._ticket or ""})

    def __call__(self, req: Any) -> Any:
        if req.method != "GET":
            req.headers["CSRFPreventionToken"] = self._csrf
        return req


class _NoAuth(ProxmoxHTTPAuthBase):
    """For the ticket request itself: no cookie, no header."""


_NO_AUTH = _NoAuth()


class Connection:
    """Requests to one PVE API, mapped to the backend's typed errors."""

    def __init__(self, cfg: ProxmoxCluster) -> None:
        self.cfg = cfg
        self.base_url = https_url(cfg.host, cfg.port, "api2/json")
        self.timeout = (cfg.timeout, cfg.timeout)
        self.verify: bool | str = True
        self.insecure = False
        if cfg.fingerprint:
            self.verify = False  # the adapter checks the pinned fingerprint instead
        elif cfg.ca_file:
            self.verify = cfg.ca_file
        elif not cfg.verify_ssl:
            self.verify, self.insecure = False, True
        self.auth: ProxmoxHTTPAuthBase
        if cfg.token_name:
            if not (cfg.token_secret or "").isprintable():
                # http.client would refuse the header at each request with a ValueError
                # holding it whole, secret included, which the poll loop logs.
                raise AuthError(f"{cfg.host}: the API token cannot be sent: its secret "
                                "holds a character a header may not")
            self.auth = ProxmoxHTTPApiTokenAuth(cfg.user, cfg.token_name, cfg.token_secret or "",
                                                verify_ssl=self.verify, timeout=self.timeout)
        elif cfg.password:
            self.auth = TicketAuth(cfg.user, cfg.password, self.verify, self.timeout,
                                   self.base_url)
        else:
            raise AuthError(f"{cfg.name}: no API token and no password")
        self._idle: list[BoundedSession] = []
        self._pool_lock = threading.Lock()
        self._closed = False

    @property
    def token_user(self) -> str | None:
        """`user@realm!token` when a token authenticates, else None."""
        return f"{self.cfg.user}!{self.cfg.token_name}" if self.cfg.token_name else None

    @contextmanager
    def _session(self) -> Iterator[BoundedSession]:
        """An idle session from the pool, or a new one: as many as calls run at once."""
        with self._pool_lock:
            session = self._idle.pop() if self._idle else None
        if session is None:
            session = BoundedSession(self.cfg.timeout, f"pve-{self.cfg.name}")
            session.auth = self.auth
            session.headers["accept"] = JsonSerializer().get_accept_types()
            if self.cfg.fingerprint:
                session.mount("https://", FingerprintAdapter(self.cfg.fingerprint))
        try:
            yield session
        finally:
            with self._pool_lock:
                if self._closed or session.abandoned:
                    session.close()
                else:
                    self._idle.append(session)

    def call(self, method: str, path: str, **params: Any) -> Any:
        """`GET /cluster/resources` and the like; booleans go as 1/0, None is left out."""
        if method not in _METHODS:
            raise ValueError(f"not an HTTP method of PVE's API: {method}")
        clean = {k: _wire(v) for k, v in params.items() if v is not None}
        relogin = False
        held: str | None = None  # the ticket this request was sent with
        named = f"{method} {path}"
        for attempt in (1, 2):
            asked = named  # the request under way, which a timeout names
            try:
                with self._session() as session:
                    if isinstance(self.auth, TicketAuth):
                        asked = "POST /access/ticket"
                        if relogin:
                            self.auth.login(session, refused=held)
                        else:
                            self.auth.ensure(session)
                        held = self.auth.ticket
                        asked = named
                    resource = ProxmoxResource(base_url=self.base_url, session=session,
                                               serializer=PveJson())
                    return getattr(resource(path.strip("/")), _METHODS[method])(**clean)
            except ResourceException as exc:
                # A ticket that expired or was revoked: log in again, once.
                if exc.status_code == 401 and attempt == 1 and isinstance(self.auth, TicketAuth):
                    log.info("ticket refused on %s %s: logging in again", method, path)
                    relogin = True
                    continue
                raise from_resource_exception(exc, self.token_user, method, path) from None
            except requests.exceptions.SSLError as exc:
                raise AuthError(self._tls_refusal(exc)) from None
            except requests.exceptions.Timeout:
                raise Unreachable(f"{self.cfg.host}: no answer within "
                                  f"{self.cfg.timeout:g} s ({asked})") from None
            except NotPveAnswer as exc:  # a proxy's page, say
                raise not_pve(method, path, exc.why) from None
            except requests.exceptions.RequestException as exc:
                raise Unreachable(f"{self.cfg.host}: {_reason(exc)}") from None
        raise AssertionError("unreachable")

    def _tls_refusal(self, exc: Exception) -> str:
        if self.cfg.fingerprint:
            how = "does not match the pinned fingerprint"
        elif self.cfg.ca_file:
            how = f"is not signed by the CA in {self.cfg.ca_file}"
        else:
            how = "is not trusted (set ca_file or fingerprint in the profile)"
        return f"{self.cfg.host}: the server's TLS certificate {how} ({_reason(exc)})"

    def auth_headers(self) -> dict[str, str]:
        """The headers that authenticate a request sent past proxmoxer (the console's
        websocket): the API token's `Authorization`, or the login ticket's cookie,
        logging in first when no ticket is held or it is due for renewal."""
        if isinstance(self.auth, TicketAuth):
            with self._session() as session:
                self.auth.ensure(session)
            return {"Cookie": f"PVEAuthCookie={self.auth.get_cookies()['PVEAuthCookie']}"}
        request = requests.Request("GET", self.base_url).prepare()
        return {"Authorization": self.auth(request).headers["Authorization"]}

    def close(self) -> None:
        with self._pool_lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for session in idle:
            session.close()


_METHODS = {"GET": "get", "POST": "post", "PUT": "put", "DELETE": "delete"}


def _wire(value: Any) -> Any:
    """PVE's API takes booleans as 1 and 0."""
    if isinstance(value, bool):
        return 1 if value else 0
    return value



def _reason(exc: Exception) -> str:
    """The innermost reason of a requests error, without the urllib3 pool boilerplate."""
    text = str(exc)
    for marker in ("Caused by ", "(Caused by "):
        if marker in text:
            text = text.split(marker, 1)[1].rstrip(")")
    return text[:300]


__all__ = ["Connection", "FingerprintAdapter", "TicketAuth", "normalise_fingerprint"]
