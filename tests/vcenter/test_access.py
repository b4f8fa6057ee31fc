"""Login, TLS pinning, and a vCenter that dies mid-poll and comes back."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable

import pytest

from tests.vcenter.vcsim import Vcsim
from vmconsole.backends.base import AuthError
from vmconsole.backends.vcenter import VCenterBackend
from vmconsole.monitor.poller import Poller, PollLoop, PollResult

OTHER_FINGERPRINT = ":".join(["AB"] * 32)


def test_wrong_password_is_refused(connect: Callable[..., VCenterBackend]) -> None:
    with pytest.raises(AuthError, match=r"login as vmconsole@vsphere\.local refused"):
        connect(password="wrong").inventory()


def test_wrong_fingerprint_is_refused_before_login(
        connect: Callable[..., VCenterBackend]) -> None:
    with pytest.raises(AuthError, match="does not match the pinned fingerprint"):
        connect(fingerprint=OTHER_FINGERPRINT).inventory()


def test_a_fingerprint_that_is_not_sha256_is_refused(
        connect: Callable[..., VCenterBackend], vcsim: Vcsim) -> None:
    sha1_length = vcsim.fingerprint.replace(":", "")[:40]
    with pytest.raises(AuthError, match="SHA-256"):
        connect(fingerprint=sha1_length)


def test_an_untrusted_certificate_is_refused_without_a_pin(
        connect: Callable[..., VCenterBackend]) -> None:
    # vcsim's built-in certificate is signed by no CA the system trusts.
    with pytest.raises(AuthError, match="not trusted"):
        connect(fingerprint=None).inventory()


def test_verification_off_is_a_standing_warning(
        connect: Callable[..., VCenterBackend]) -> None:
    # Only the warning is tested: nothing is sent (the tests never turn verification off
    # against a server).
    backend = connect(fingerprint=None, verify_ssl=False)
    assert backend.session.insecure
    assert any("TLS verification is OFF" in w for w in backend.warnings)
    assert connect().warnings == []


def _next(results: queue.Queue[PollResult], want_ok: bool, deadline: float) -> PollResult:
    while True:
        result = results.get(timeout=max(0.1, deadline - time.monotonic()))
        if result.ok == want_ok:
            return result


def test_vcenter_killed_while_polled_shows_unreachable_and_comes_back(
        backend: VCenterBackend, vcsim: Vcsim) -> None:
    loop = PollLoop(Poller(backend, interval=0.2, max_interval=0.5))
    results: queue.Queue[PollResult] = queue.Queue()
    loop.subscribe(results.put)
    loop.start()
    try:
        first = _next(results, True, time.monotonic() + 20)
        assert first.inventory is not None and len(first.inventory.nodes) == 3

        vcsim.kill()
        down = _next(results, False, time.monotonic() + 20)
        assert f"127.0.0.1:{vcsim.port}" in (down.error or "")
        assert "fingerprint" not in (down.error or "")  # a dead server is not an impostor
        assert down.inventory is first.inventory  # the last good one stays shown

        vcsim.restart()  # a fresh vCenter on the same address: the old session is gone
        back = _next(results, True, time.monotonic() + 20)
        assert back.inventory is not None and len(back.inventory.nodes) == 3
        assert back.failures == 0
    finally:
        loop.stop()


def test_a_session_that_vcenter_ended_is_renewed(backend: VCenterBackend,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    first = backend.inventory()
    # vCenter forgets a session on restart or idle expiry; here it is logged out.
    backend.session.call("log out", lambda content: content.sessionManager.Logout())
    with caplog.at_level("INFO", logger="vmconsole.backends.vcenter.connection"):
        again = backend.inventory()
    assert [n.name for n in again.nodes] == [n.name for n in first.nodes]
    assert any("session expired; logging in again" in r.getMessage() for r in caplog.records)


def test_a_vcenter_that_stops_answering_is_unreachable_within_the_timeout(
        connect: Callable[..., VCenterBackend], vcsim: Vcsim) -> None:
    import signal

    from vmconsole.backends.base import Unreachable

    backend = connect(timeout=1.0)
    backend.inventory()
    assert vcsim.proc is not None
    vcsim.proc.send_signal(signal.SIGSTOP)  # accepts connections (the kernel), never answers
    try:
        started = time.monotonic()
        with pytest.raises(Unreachable, match="timed out"):
            backend.inventory()
        assert time.monotonic() - started < 5
    finally:
        vcsim.proc.send_signal(signal.SIGCONT)
    assert len(backend.inventory().nodes) == 3
