"""Who may talk to whom: API tokens, tickets, permissions and the server's certificate."""

from __future__ import annotations

import hashlib
import ssl
from pathlib import Path

import pytest

from tests.proxmox.conftest import LAB
from vmconsole.backends.base import AuthError
from vmconsole.backends.proxmox import connection
from vmconsole.config import ProxmoxCluster


def fingerprint(pem_file: str, colons: bool = False) -> str:
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(Path(pem_file).read_text())).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, 64, 2)).upper() if colons else digest


def logins(fake) -> int:
    return len(fake.requests("POST", "/access/ticket"))


PASSWORD = dict(user="root@pam", token_name=None, token_secret=None, password="secret")


def test_password_login_and_a_new_login_when_the_ticket_expired(fakepve, connect):
    backend = connect(**PASSWORD)
    assert len(backend.inventory().guests) == 5
    assert logins(fakepve) == 1
    assert fakepve.send("expire_tickets") == 1
    assert len(backend.inventory().guests) == 5  # refused with 401, logged in again
    assert logins(fakepve) == 2
    fakepve.call("revoke_tickets")
    backend.wait(backend.start("qemu/101").id, 5)  # a POST, with a fresh CSRF token
    assert logins(fakepve) == 3
    assert fakepve.guest(101)["status"] == "running"


def test_the_ticket_is_renewed_before_it_expires(fakepve, connect, monkeypatch):
    backend = connect(**PASSWORD)
    backend.inventory()
    monkeypatch.setattr(connection, "TICKET_RENEW_AFTER", 0.0)
    backend.inventory()
    assert logins(fakepve) >= 2


def test_a_wrong_password_or_token_is_an_auth_error(fakepve, connect):
    for overrides in (dict(PASSWORD, password="wrong"), dict(token_secret="wrong")):
        backend = connect(**overrides)
        with pytest.raises(AuthError, match=r"refused|authentication failure"):
            backend.inventory()


def test_403_for_a_token_says_to_check_privilege_separation(fakepve, connect):
    fakepve.send("reset", seed=dict(LAB, grants=[["vmconsole@pve", "/vms", "VM.Audit"]]))
    backend = connect()
    # VM.Audit: it sees the guests; without Sys.Audit on / the HA manager's status
    # is refused (as on PVE), and the console says so once instead of failing.
    assert len(backend.inventory().guests) == 5
    hidden = [e.message for e in backend.events() if e.kind == "not_permitted"]
    assert len(hidden) == 1 and "HA manager status not shown" in hidden[0]
    with pytest.raises(AuthError) as refused:
        backend.start("qemu/101")
    message = refused.value.message
    assert "Permission check failed (/vms/101, VM.PowerMgmt)" in message
    assert "privilege separation" in message and "vmconsole@pve!ci" in message


def test_a_certificate_from_another_ca_is_refused(fakepve, connect):
    backend = connect(ca_file=fakepve.other_cafile)
    with pytest.raises(AuthError, match="not signed by the CA"):
        backend.inventory()


def test_an_unknown_certificate_is_refused_by_default(fakepve, connect):
    backend = connect(ca_file=None)
    with pytest.raises(AuthError, match="not trusted"):
        backend.inventory()


@pytest.mark.parametrize("colons", [False, True])
def test_a_pinned_fingerprint_is_accepted(fakepve, connect, colons):
    backend = connect(ca_file=None, fingerprint=fingerprint(fakepve.cafile, colons))
    assert len(backend.inventory().nodes) == 3
    assert backend.warnings == []


def test_a_wrong_fingerprint_is_refused_before_a_password_is_sent(fakepve, connect):
    backend = connect(ca_file=None, fingerprint=fingerprint(fakepve.other_cafile), **PASSWORD)
    with pytest.raises(AuthError, match="does not match the pinned fingerprint"):
        backend.inventory()
    assert logins(fakepve) == 0


def test_a_malformed_fingerprint_is_refused():
    with pytest.raises(AuthError, match="SHA-256"):
        connection.normalise_fingerprint("AB:CD")


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_verification_off_works_and_warns(fakepve, connect):
    backend = connect(ca_file=None, verify_ssl=False)
    assert len(backend.inventory().nodes) == 3
    assert len(backend.warnings) == 1 and "TLS verification is OFF" in backend.warnings[0]
    assert [e.kind for e in backend.events()] == ["insecure_tls"]



def test_a_token_secret_no_header_may_hold_is_an_auth_error_that_does_not_show_it():
    """A tester's finding: http.client's "Invalid header value b'PVEAPIToken=...'", a
    ValueError at every poll, was logged with the secret. The config refuses such a
    secret; a profile made some other way is refused when its backend is opened."""
    cfg = ProxmoxCluster(name="pve", host="127.0.0.1", port=9, user="vmconsole@pve",
                         token_name="ci", token_secret="SECRET-1234\nEXTRA", timeout=1.0)
    with pytest.raises(AuthError) as caught:
        connection.Connection(cfg)
    assert caught.value.message == ("127.0.0.1: the API token cannot be sent: its secret "
                                    "holds a character a header may not")
