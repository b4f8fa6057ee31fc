"""A profile pointed at an HTTPS server that is not PVE (its fingerprint pinned
correctly): `openssl s_server -www`'s page, other JSON, or PVE-like answers missing what
the console reads. Each is the cluster's error, "not a Proxmox VE API answer: GET
<path>: ..." (the method of the call for another's answer: the login, termproxy's ticket,
the UPID of a task an operation starts), in the poll result and the detail pane, or the
operation's error, never an internal error. One that drips its answer is "no answer
within N s", at the cluster's timeout.

The server is a small one of this test's own, with the fake's certificate (fakepve's
session process made it) so that its fingerprint can be pinned."""

from __future__ import annotations

import hashlib
import json
import queue
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.ui_ops.helpers import detail_rows, live_console, wait_until
from vmconsole.backends.base import BackendError, MigrationMode, TaskStatus
from vmconsole.backends.clones import CloneSpec
from vmconsole.backends.proxmox import open_proxmox
from vmconsole.config import ProxmoxCluster
from vmconsole.monitor.poller import Poller
from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef

LATER = r"\d\d:\d\d:\d\d \(in .+\)"
# What a one-node PVE answers, path by path (below /api2/json); a test replaces some.
PVE = {
    "/cluster/resources": {"data": [
        {"id": "node/pve1", "type": "node", "node": "pve1", "status": "online",
         "maxcpu": 4, "maxmem": 8 << 30, "mem": 1 << 30, "cpu": 0.1, "uptime": 100},
        {"id": "qemu/100", "type": "qemu", "vmid": 100, "node": "pve1", "name": "web",
         "status": "running", "maxcpu": 2, "maxmem": 1 << 30, "hastate": "started"}]},
    "/cluster/status": {"data": [{"type": "node", "name": "pve1", "online": 1,
                                  "ip": "127.0.0.1"}]},
    "/cluster/ha/status/current": {"data": []},
    "/cluster/ha/resources": {"data": [{"sid": "vm:100", "state": "started"}]},
    "/cluster/ha/status/manager_status": {"data": {"manager_status": {}}},
    "/cluster/tasks": {"data": []},
}
# `openssl s_server -www` answers every GET with this page (abridged).
S_SERVER_PAGE = (b"HTTP/1.0 200 ok\r\nContent-type: text/html\r\n\r\n"
                 b"<HTML><BODY BGCOLOR=\"#ffffff\">\n<pre>\n\ns_server -www\n"
                 b"Ciphers supported in s_server binary\n")

# A body 50,000 arrays deep, whole as a server sends it.
DEEP = (b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n"
        + b'{"data": ' + b"[" * 50_000 + b"]" * 50_000 + b"}")

DRIP = object()  # the answer `NotPve` drips
DRIP_S = 0.5  # within the timeout of the tests that drip: each read is answered in time


class NotPve:
    """An HTTPS server on 127.0.0.1 answering `answers[path]` (a JSON-able value, bytes
    sent as they are, or `DRIP`, which sends a 200 with its headers, then its body one
    byte per `DRIP_S` until the server closes) to any method."""

    def __init__(self, certfile: str, keyfile: str) -> None:
        self.answers: dict[str, Any] = dict(PVE)
        self.closing = threading.Event()
        served = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                # A request's body read whole: one left unread makes the close a reset,
                # which may cost the client the answer.
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = self.path.removeprefix("/api2/json").split("?")[0]
                answer = served.answers.get(path, {"data": None})
                if isinstance(answer, bytes):  # a whole answer of its own, as s_server's
                    self.wfile.write(answer)
                    return
                if answer is DRIP:
                    served.drip(self.wfile)
                    return
                body = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_PUT = do_DELETE = do_GET

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certfile, keyfile)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.fingerprint = hashlib.sha256(
            ssl.PEM_cert_to_DER_cert(Path(certfile).read_text())).hexdigest()
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def profile(self, **overrides: Any) -> ProxmoxCluster:
        settings: dict[str, Any] = dict(
            name="lab", host="127.0.0.1", port=self.port, user="root@pam", token_name="t",
            token_secret="s", fingerprint=self.fingerprint, timeout=3.0)
        settings.update(overrides)
        return ProxmoxCluster(**settings)

    def drip(self, out: Any) -> None:
        """A 200 and its headers at once, then a body (any path's: it never ends in a
        test's time) a byte per `DRIP_S`, until the server closes."""
        body = json.dumps(PVE["/cluster/resources"]).encode()
        out.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body))
        out.flush()
        for byte in body:
            if self.closing.wait(DRIP_S):
                return  # hung up: the request left dripping ends
            out.write(bytes([byte]))
            out.flush()

    def close(self) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def not_pve(fakepve_process) -> Iterator[NotPve]:
    cert = fakepve_process.cafile
    server = NotPve(cert, str(Path(cert).with_suffix(".key")))
    try:
        yield server
    finally:
        server.close()


def poll_error(server: NotPve, **overrides: Any) -> str | None:
    """The error of one poll of a backend on `server` (None: the poll succeeded)."""
    backend = open_proxmox(server.profile(**overrides))
    try:
        return Poller(backend).poll().error
    finally:
        backend.close()


def test_the_wrong_servers_own_answers_are_what_pve_would_answer(not_pve):
    # The baseline: with PVE's shapes the poll succeeds, so each case below fails on
    # its one wrong answer only.
    assert poll_error(not_pve) is None


@pytest.mark.parametrize(("path", "answer", "message"), [
    ("/cluster/resources", S_SERVER_PAGE,
     "GET /cluster/resources: the body is not JSON ('<HTML><BODY BGCOLOR=\"#ffffff\"> <pre> "
     "s_server -www Ciphers s'...)"),
    # Nested past what the JSON decoder can recurse into: RecursionError, an internal
    # error, before.
    ("/cluster/resources", DEEP,
     "GET /cluster/resources: the body is not JSON (arrays or objects nested too deeply: "
     "'{\"data\": " + "[" * 51 + "'...)"),
    ("/cluster/resources", {"data": {"a": 1}},
     'GET /cluster/resources: an object {"a": 1} where a list of objects was expected'),
    ("/cluster/resources", {"a": 1},
     'GET /cluster/resources: JSON without PVE\'s data envelope ({"a": 1})'),
    ("/cluster/resources", {"data": ["pve1"]},
     "GET /cluster/resources: entry 0 is the str 'pve1', not an object"),
    ("/cluster/resources", {"data": [{"type": "qemu", "vmid": "web", "node": "pve1"}]},
     "GET /cluster/resources: entry 0 (type 'qemu') has vmid = 'web'"),
    ("/cluster/resources", {"data": [{"type": "storage", "node": "pve1"}]},
     "GET /cluster/resources: entry 0 (type 'storage') has no storage"),
    # Figures no PVE answer holds: not a number, negative, past 2**63, a VMID outside
    # 100..999999999. 1e40 was stored in the metric history as inf and crashed it.
    ("/cluster/resources", {"data": [{"type": "node", "node": "pve1", "mem": 1e40}]},
     "GET /cluster/resources: entry 0 (type 'node') has mem = 1e+40"),
    ("/cluster/resources", {"data": [{"type": "qemu", "vmid": 100, "node": "pve1",
                                      "mem": 2**63 + 1}]},
     "GET /cluster/resources: entry 0 (type 'qemu') has mem = 9223372036854775809"),
    ("/cluster/resources", {"data": [{"type": "node", "node": "pve1", "cpu": "nan"}]},
     "GET /cluster/resources: entry 0 (type 'node') has cpu = 'nan'"),
    ("/cluster/resources", {"data": [{"type": "node", "node": "pve1", "maxmem": -5}]},
     "GET /cluster/resources: entry 0 (type 'node') has maxmem = -5"),
    ("/cluster/resources", {"data": [{"type": "qemu", "vmid": 100, "node": "pve1",
                                      "uptime": -1}]},
     "GET /cluster/resources: entry 0 (type 'qemu') has uptime = -1"),
    ("/cluster/resources", {"data": [{"type": "qemu", "vmid": 100, "node": "pve1",
                                      "netin": 1e300}]},
     "GET /cluster/resources: entry 0 (type 'qemu') has netin = 1e+300"),
    ("/cluster/resources", {"data": [{"type": "qemu", "vmid": 10**30, "node": "pve1"}]},
     "GET /cluster/resources: entry 0 (type 'qemu') has vmid = 1000000000000000000000000000000"),
    ("/cluster/resources", {"data": [{"type": "lxc", "vmid": 99, "node": "pve1"}]},
     "GET /cluster/resources: entry 0 (type 'lxc') has vmid = 99"),
    # PVE answers these with a list, an empty one at the least: null is not PVE
    # (a proxy, a broken pveproxy), not a cluster of no nodes and no guests.
    ("/cluster/resources", {"data": None},
     "GET /cluster/resources: null where a list of objects was expected"),
    ("/cluster/status", {"data": None},
     "GET /cluster/status: null where a list of objects was expected"),
    # A PVE node lists itself in both, clustered or not: no node is not a cluster of
    # none, which the tree showed as healthy.
    ("/cluster/resources", {"data": []},
     "GET /cluster/resources: no entry of type 'node' (a list [])"),
    ("/cluster/status", {"data": []},
     "GET /cluster/status: no entry of type 'node' (a list [])"),
    ("/cluster/status", {"data": [{"type": "node", "online": 1}]},
     "GET /cluster/status: entry 0 (type 'node') has no name"),
    ("/cluster/status", {"data": [{"type": "cluster", "quorate": {"yes": 1}}]},
     'GET /cluster/status: entry 0 (type \'cluster\') has quorate = {"yes": 1}'),
    ("/cluster/ha/status/current", {"data": "ok"},
     "GET /cluster/ha/status/current: the str 'ok' where a list of objects was expected"),
    ("/cluster/ha/resources", {"data": [{"sid": "vm:100", "max_restart": "twice"}]},
     "GET /cluster/ha/resources: entry 0 has max_restart = 'twice'"),
    ("/cluster/ha/status/manager_status", {"data": {"manager_status": "idle"}},
     "GET /cluster/ha/status/manager_status: has manager_status = 'idle'"),
])
def test_an_answer_of_another_shape_is_the_polls_error(not_pve, path, answer, message):
    not_pve.answers[path] = answer
    assert poll_error(not_pve) == f"not a Proxmox VE API answer: {message}"


def test_a_server_error_names_the_request_and_the_bodys_message(not_pve):
    # The reason phrase is the status's own: what went wrong is in the body only, and
    # it is shown as text, its terminal controls escaped.
    message = "[bold]x[/]\x1b]52;c;aGVsbG8=\x07\x1b[2J\u202eevil\n"
    body = json.dumps({"data": None, "message": message}).encode()
    not_pve.answers["/cluster/resources"] = (
        b"HTTP/1.0 500 Internal Server Error\r\nContent-Type: application/json\r\n\r\n"
        + body)
    assert poll_error(not_pve) == (
        "[bold]x[/]\\x1b]52;c;aGVsbG8=\\x07\\x1b[2J\\u202eevil on GET /cluster/resources")


@pytest.mark.parametrize("listing", [
    {"tasks": []},
    # A UPID PVE's upid_decode refuses (its starttime not hex; too few fields; not a
    # string): listed as a task of that id before.
    [{"upid": "UPID:pve1:0000ABCD:00001234:6750F2AZ:vzdump:100:root@pam:",
      "type": "vzdump", "id": "100", "node": "pve1", "starttime": 1733358241}],
    [{"upid": "UPID:short", "type": "vzdump", "id": "100", "node": "pve1"}],
    [{"upid": 5, "type": "vzdump", "id": "100", "node": "pve1"}],
])
def test_a_task_listing_of_another_shape_leaves_the_inventory_shown(not_pve, listing):
    # The recent tasks are extra: without them the poll still shows the cluster.
    not_pve.answers["/cluster/tasks"] = {"data": listing}
    backend = open_proxmox(not_pve.profile())
    try:
        result = Poller(backend).poll()
    finally:
        backend.close()
    assert result.ok and result.tasks == ()
    assert [g.name for g in result.inventory.guests] == ["web"]


def test_a_guest_config_of_another_shape_is_the_address_readings_note(not_pve):
    not_pve.answers["/nodes/pve1/qemu/100/config"] = {"data": ["agent: 1"]}
    backend = open_proxmox(not_pve.profile())
    try:
        assert Poller(backend).poll().ok
        reading = backend.guest_addresses("qemu/100")
    finally:
        backend.close()
    assert reading.addresses == ()
    assert reading.note == ("not a Proxmox VE API answer: GET /nodes/pve1/qemu/100/config: "
                            "a list [\"agent: 1\"] where an object was expected")


def test_a_login_answer_of_another_shape_is_the_polls_error(not_pve):
    not_pve.answers["/access/ticket"] = {"data": {"a": 1}}
    error = poll_error(not_pve, token_name=None, token_secret=None, password="secret")
    assert error == "not a Proxmox VE API answer: POST /access/ticket: has no ticket"


@pytest.mark.parametrize(("answer", "error"), [
    (S_SERVER_PAGE, "GET /cluster/resources: the body is not JSON"),
    ({"data": None}, "GET /cluster/resources: null where a list of objects was expected"),
])
async def test_a_server_that_is_not_pve_says_so_in_the_detail_pane(not_pve, answer, error):
    for path in PVE:
        not_pve.answers[path] = answer
    async with live_console(open_proxmox(not_pve.profile())) as pilot:
        tree = pilot.app.query_one(ClusterTree)
        await wait_until(pilot, lambda: tree.select_ref(TreeRef("lab")), 10, "the cluster")
        await wait_until(pilot, lambda: "Error" in detail_rows(pilot.app), 10, "why",
                         seen=lambda: detail_rows(pilot.app))
        rows = detail_rows(pilot.app)
        assert rows["Error"].startswith(f"not a Proxmox VE API answer: {error}")
        assert re.fullmatch(LATER, rows["Next try"]), rows["Next try"]


def within(seconds: float, fn: Callable[[], Any]) -> Any:
    """`fn()`'s result; fails the test when it takes longer than `seconds`."""
    answer: queue.Queue[Any] = queue.Queue()
    threading.Thread(target=lambda: answer.put(fn()), daemon=True).start()
    try:
        return answer.get(timeout=seconds)
    except queue.Empty:
        pytest.fail(f"no result within {seconds} s")


PASSWORD = dict(token_name=None, token_secret=None, password="secret")
TICKET = {"data": {"ticket": "PVE:root@pam:T", "CSRFPreventionToken": "C"}}


@pytest.mark.parametrize(("path", "login", "named"), [
    ("/cluster/resources", {}, "GET /cluster/resources"),
    # The login is the first request of a poll with a password: bounded the same way.
    ("/access/ticket", PASSWORD, "POST /access/ticket"),
])
def test_an_answer_dripped_slower_than_the_timeout_is_the_polls_error(not_pve, path, login,
                                                                       named):
    # Each byte comes within the timeout (1 s), so only a bound on the whole request
    # ends it: the poll waited as long as the server dripped before, with no error.
    not_pve.answers["/access/ticket"] = TICKET
    answer, not_pve.answers[path] = not_pve.answers[path], DRIP
    backend = open_proxmox(not_pve.profile(timeout=1.0, **login))
    try:
        poller = Poller(backend)
        started = time.monotonic()
        error = within(3, poller.poll).error
        assert time.monotonic() - started < 2.5
        assert error == f"127.0.0.1: no answer within 1 s ({named})"
        # The next poll, the server answering again, shows the cluster: the request left
        # dripping holds nothing up (its session is closed, not lent again).
        not_pve.answers[path] = answer
        assert within(3, poller.poll).ok
    finally:
        backend.close()


VM = "/nodes/pve1/qemu/100"
# Answers to a call that starts a task that are no UPID as PVE's upid_decode reads it:
# an AttributeError (an internal error) before for all but the short one, which was
# followed as a task; a ValueError for the starttime that is not hex.
NO_UPID = [
    ({"upid": "UPID:pve1"}, 'an object {"upid": "UPID:pve1"} where a task\'s UPID was expected'),
    (None, "null where a task's UPID was expected"),
    (5, "the int 5 where a task's UPID was expected"),
    ("UPID:short", "the str 'UPID:short' where a task's UPID was expected"),
    ("UPID:pve1:0000ABCD:00001234:6750F2AZ:qmstart:100:root@pam:",
     "the str 'UPID:pve1:0000ABCD:00001234:6750F2AZ:qmstart:100:root@pam:' where a "
     "task's UPID was expected"),
]
STARTS = [
    (lambda pve: pve.start("qemu/100"), f"{VM}/status/start"),
    (lambda pve: pve.clone("qemu/100", CloneSpec(name="copy", node="pve1", vmid=101)),
     f"{VM}/clone"),
    (lambda pve: pve.migrate("qemu/100", "pve2", MigrationMode.LIVE), f"{VM}/migrate"),
]
# A stopped VM with an 8 GiB disk, for `grow_disk`.
STOPPED_VM = {f"{VM}/status/current": {"data": {"status": "stopped"}},
              f"{VM}/config": {"data": {"scsi0": "local:vm-100-disk-0,size=8G",
                                        "digest": "d1"}},
              f"{VM}/pending": {"data": []}}


@pytest.mark.parametrize(("read", "answers", "message"), [
    (lambda pve: pve.snapshots("qemu/100"),
     {f"{VM}/snapshot": {"data": [{"name": "before", "snaptime": "yesterday"}]}},
     f"GET {VM}/snapshot: entry 0 has snaptime = 'yesterday'"),
    (lambda pve: pve.snapshots("qemu/100"),
     {f"{VM}/snapshot": {"data": {"current": {}}}},
     f'GET {VM}/snapshot: an object {{"current": {{}}}} where a list of objects was '
     "expected"),
    (lambda pve: pve.backups("qemu/100"),
     {"/nodes/pve1/storage": {"data": [{"content": "backup"}]}},
     "GET /nodes/pve1/storage: entry 0 has no storage"),
    (lambda pve: pve.backups("qemu/100"),
     {"/nodes/pve1/storage": {"data": [{"storage": "local"}]},
      "/nodes/pve1/storage/local/content": {"data": [{"volid": "local:backup/a",
                                                      "size": "big"}]}},
     "GET /nodes/pve1/storage/local/content: entry 0 has size = 'big'"),
    (lambda pve: pve.backup_options("qemu/100"),
     {f"{VM}/status/current": {"data": ["running"]}},
     f'GET {VM}/status/current: a list ["running"] where an object was expected'),
    # PVE always says a guest's status: without it the serial console said "web is not
    # running" of a guest the tree showed running.
    (lambda pve: pve.open_console("qemu/100", None),
     {f"{VM}/status/current": {"data": {"qmpstatus": "running"}}},
     f"GET {VM}/status/current: has no status"),
    # termproxy's answer is read like a GET's: a KeyError or TypeError before, or a
    # websocket opened on whatever port was said.
    *[(lambda pve: pve.open_console("qemu/100", None),
       {f"{VM}/status/current": {"data": {"status": "running"}},
        f"{VM}/config": {"data": {"serial0": "socket"}}, f"{VM}/termproxy": answer},
       f"POST {VM}/termproxy: {why}") for answer, why in [
        ({"data": {"port": 5900, "user": "root@pam"}}, "has no ticket"),
        ({"data": None}, "null where an object was expected"),
        ({"data": ["5900", "PVEVNC:T"]},
         'a list ["5900", "PVEVNC:T"] where an object was expected'),
        ({"data": {"port": 70000, "ticket": "PVEVNC:T", "user": "root@pam"}},
         "has port = 70000"),
        ({"data": {"port": "vnc", "ticket": "PVEVNC:T", "user": "root@pam"}},
         "has port = 'vnc'"),
        ({"data": {"port": 5900, "ticket": {"t": 1}, "user": "root@pam"}},
         'has ticket = {"t": 1}')]],
    (lambda pve: pve.hardware("qemu/100"), {f"{VM}/status/current": {"data": None}},
     f"GET {VM}/status/current: null where an object was expected"),
    (lambda pve: pve.history("qemu/100", "hour"),
     {f"{VM}/rrddata": {"data": [{"time": "now", "cpu": 0.5}]}},
     f"GET {VM}/rrddata: entry 0 has time = 'now'"),
    (lambda pve: pve.next_vmid(), {"/cluster/nextid": {"data": None}},
     "GET /cluster/nextid: null where a VMID was expected"),
    (lambda pve: pve.migration_targets("qemu/100"),
     {f"{VM}/migrate": {"data": {"running": 1, "local_disks": ["scsi0"]}}},
     f'GET {VM}/migrate: has local_disks = ["scsi0"]'),
    (lambda pve: pve.ha_groups(), {"/cluster/ha/groups": {"data": "none"}},
     "GET /cluster/ha/groups: the str 'none' where a list of objects was expected"),
    # A group the rebalance planner cannot read is an error, not a rule left out.
    (lambda pve: pve.placement_rules(), {"/cluster/ha/groups": {"data": ["prefer-pve1"]}},
     "GET /cluster/ha/groups: entry 0 is the str 'prefer-pve1', not an object"),
    (lambda pve: pve.hardware("qemu/100"),
     {f"{VM}/config": {"data": {"cores": "many"}}},
     f"GET {VM}/config: has cores = 'many'"),
    (lambda pve: pve.hardware("qemu/100"),
     {f"{VM}/config": {"data": {"cores": 2}}, f"{VM}/pending": {"data": [{"pending": 4}]}},
     f"GET {VM}/pending: entry 0 has no key"),
    *[(operation, {path: {"data": answer}}, f"POST {path}: {why}")
      for operation, path in STARTS for answer, why in NO_UPID],
    # Taken for a resize done at once before (PVE before 8 answers null): the task log
    # said the disk grew.
    (lambda pve: pve.grow_disk("qemu/100", "scsi0", 16 << 30),
     {**STOPPED_VM, f"{VM}/resize": {"data": {"upid": "UPID:pve1"}}},
     f'PUT {VM}/resize: an object {{"upid": "UPID:pve1"}} where a task\'s UPID was expected'),
])
def test_an_answer_outside_the_poll_of_another_shape_names_the_request(not_pve, read,
                                                                        answers, message):
    # What the console shows where the reading or the operation fails (a form's notice,
    # the snapshot or backup list, the operation's error): the BackendError's message,
    # never an internal error.
    not_pve.answers.update(answers)
    backend = open_proxmox(not_pve.profile())
    try:
        with pytest.raises(BackendError) as raised:
            read(backend)
    finally:
        backend.close()
    assert raised.value.message == f"not a Proxmox VE API answer: {message}"


def test_a_disk_resize_answered_with_null_is_done_at_once(not_pve):
    not_pve.answers.update(STOPPED_VM)
    not_pve.answers[f"{VM}/resize"] = {"data": None}
    backend = open_proxmox(not_pve.profile())
    try:
        task = backend.grow_disk("qemu/100", "scsi0", 16 << 30)
    finally:
        backend.close()
    assert (task.status, task.log) == (TaskStatus.OK, ("scsi0 grows from 8 GiB to 16 GiB",))
