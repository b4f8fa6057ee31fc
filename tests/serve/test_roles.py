"""Roles over SSH: each key's role reaches its console, the console holds to it, and
the audit log keeps what each session did and was refused."""

from __future__ import annotations

import asyncio
import re

import asyncssh
import pytest

from tests.serve.conftest import Running
from tests.serve.terminal import Terminal, open_terminal

pytestmark = pytest.mark.timeout(60)


async def on_row(term: Terminal, name: str, downs: int) -> None:
    """Move the tree's cursor down from the cluster to `name`, shown in the details."""
    await term.wait_for("100 web1")
    term.press("j" * downs)
    # Row 1 holds the panes' titles; the details' first line is row 2.
    await term.wait_until(lambda t: re.search(rf"│ (Name|Node) +{name} ", t.row(2)) is not None,
                          what=f"{name}'s details")


async def snapshot_form(conn: asyncssh.SSHClientConnection) -> Terminal:
    """A terminal of 120x30 on the console, with web1's "Take snapshot" form open."""
    term = await open_terminal(conn, 120, 30)
    await on_row(term, "web1", 2)
    term.press("S")
    await term.wait_for("0 snapshots")
    term.press("n")
    await term.wait_for("Take snapshot")
    return term


async def test_a_viewers_migration_is_refused_and_audited(served: Running) -> None:
    async with await served.connect("viewer", username="student") as conn:
        term = await open_terminal(conn, 120, 30)
        await on_row(term, "web1", 2)
        term.press("m")
        await term.wait_until(
            lambda t: "you may look but not change anything" in t.notifications,
            what="the refusal")
    [record] = list(served.server.settings.audit.read())
    assert (record.user, record.role, record.operation, record.target) == (
        "student", "viewer", "migrate", "qemu/100")
    assert record.source.startswith("ssh:127.0.0.1:")
    assert record.result.startswith("refused:") and record.task_id is None


async def test_the_palette_offers_a_viewer_no_operation(served: Running) -> None:
    async with await served.connect("viewer") as conn:
        term = await open_terminal(conn, 120, 30)
        await on_row(term, "web1", 2)
        term.press("\x10")  # ctrl+p
        await term.wait_for("Search for commands")
        term.press("web1")  # would match every operation on web1
        await term.wait_until(lambda t: "Snapshots: web1" in t.text, what="a read-only entry")
        assert "Migrate: web1" not in term.text and "Start: web1" not in term.text


async def test_an_operators_snapshot_is_audited_with_its_task(served: Running) -> None:
    async with await served.connect("operator", username="sam") as conn:
        term = await snapshot_form(conn)
        term.press("before\r")
        await term.wait_until(lambda t: ": started" in t.notifications, what="the task")
    record, *end = served.server.settings.audit.read()  # then the task's end, once seen
    assert [e.task_id for e in end] in ([], [record.task_id])
    assert (record.user, record.role, record.operation, record.target) == (
        "sam", "operator", "snapshot", "qemu/100")
    assert record.result == "started" and record.task_id
    assert record.parameters.get("name") == "before"
    assert any(t.id == record.task_id for t in served.server.loops[0].backend.tasks())


async def test_a_pasted_escape_sequence_stays_text_in_a_served_form(served: Running) -> None:
    """A bracketed paste holding a cursor key's sequence and a BEL: the served console
    takes the ESC out, as xterm does, and the rest arrives in order in the field, the
    BEL left out; nothing of it acts as a key."""
    async with await served.connect("operator", username="pat") as conn:
        term = await snapshot_form(conn)
        term.press("\x1b[200~ab\x1b[D\x07cd\x1b[201~")
        await term.wait_until(lambda t: re.search(r"Name +ab\[Dcd ", t.text) is not None,
                              what="the pasted name")


async def test_a_paste_with_an_open_escape_string_leaves_the_form_working(
        served: Running) -> None:
    """A paste holding an OSC it never ends is pasted text, as in a local console: its
    ESC is taken out, the rest lands in the field, the paste's end marker still ends it,
    and the keys typed next reach the field (the session once froze for good)."""
    async with await served.connect("operator", username="pat") as conn:
        term = await snapshot_form(conn)
        term.press("\x1b[200~ab\x1b]0;foo\x1b[201~")
        term.press("cd")
        await term.wait_until(lambda t: re.search(r"Name +ab\]0;foocd ", t.text) is not None,
                              what="the name typed after the paste")
        assert "are dropped" not in term.notifications


async def test_an_operators_backup_runs_on_the_servers_cluster(served: Running) -> None:
    async with await served.connect("operator", username="sam") as conn:
        term = await open_terminal(conn, 120, 30)
        await on_row(term, "web1", 2)
        term.press("b")
        await term.wait_for("no backups")
        term.press("n")
        await term.wait_for("Back up web1")
        term.press("\t\t\t\t\r")  # past mode, storage, compression and Cancel
        await term.wait_until(lambda t: ": started" in t.notifications, what="the task")
    record, *_end = served.server.settings.audit.read()
    assert (record.user, record.operation, record.target) == ("sam", "backup", "qemu/100")
    assert record.parameters == {"storage": "local", "mode": "snapshot",
                                 "compression": "zstd"}
    assert any(t.id == record.task_id and t.operation == "backup"
               for t in served.server.loops[0].backend.tasks())


async def test_an_operators_hardware_change_reaches_the_servers_cluster(
        served: Running) -> None:
    async with await served.connect("operator", username="sam") as conn:
        term = await open_terminal(conn, 120, 30)
        await on_row(term, "web1", 2)
        term.press("E")
        await term.wait_for("Hardware of web1")
        term.press("\x7f\x7f\x7f3\r")  # vCPUs: 3, typed in one burst
        await term.wait_until(lambda t: any(r.operation == "vcpus"
                                            for r in served.server.settings.audit.read()),
                              what="the change audited")
    record = next(r for r in served.server.settings.audit.read() if r.operation == "vcpus")
    assert (record.user, record.target, record.parameters) == ("sam", "qemu/100",
                                                               {"vcpus": 3})
    assert not record.result.startswith(("refused", "error")), record.result
    hardware = served.server.loops[0].backend.hardware("qemu/100")
    assert 3 in (hardware.vcpus, *(int(p.split()[-1]) for p in hardware.pending
                                   if p.startswith("cores")))


async def test_a_viewer_may_not_inject_faults(served: Running) -> None:
    async with await served.connect("viewer", username="student") as conn:
        term = await open_terminal(conn, 120, 30)
        assert "student (viewer)" in (await _header(term))
        await on_row(term, "pve1", 1)
        term.press("f")
        await term.wait_until(
            lambda t: "fault injection needs the admin role; you are viewer" in t.notifications,
            what="the refusal")


async def test_a_viewer_may_run_the_ping_monitor(served: Running) -> None:
    async with await served.connect("viewer") as conn:
        term = await open_terminal(conn, 120, 40)
        await on_row(term, "web1", 2)
        term.press("w")
        await term.wait_for("ping web1")
        await term.wait_until(lambda t: re.search(r"rtt [\d.]+/", t.text) is not None,
                              what="round-trip times")


async def test_an_admin_gets_past_the_role_check(served: Running) -> None:
    async with await served.connect("admin", username="teacher") as conn:
        term = await open_terminal(conn, 120, 30)
        assert "teacher (admin)" in (await _header(term))
        await on_row(term, "pve1", 1)
        term.press("f")
        # The fault menu, or (while the simulator cannot break yet) the backend's answer.
        await term.wait_until(lambda t: "Break the cluster at pve1" in t.text
                              or "Faults exist only" in t.notifications, what="faults")
        assert "needs the admin role" not in term.notifications


async def _header(term: Terminal) -> str:
    await term.wait_for("pve1")
    return term.row(0)


async def test_an_admin_deletes_an_ha_rule_over_ssh_and_a_viewer_only_reads(
        served: Running) -> None:
    """The rules screen reads and changes the cluster the class shares through the hub
    (`ha_config`, `ha_node_affinity_remove`)."""
    async with await served.connect("viewer", username="student") as conn:
        term = await open_terminal(conn, 120, 30)
        await on_row(term, "web1", 2)
        term.press("R")
        await term.wait_for("prefer-pve2")
        term.press("x")
        await term.wait_until(lambda t: "needs the admin role" in t.notifications,
                              what="the refusal")
    async with await served.connect("admin", username="teacher") as conn:
        term = await open_terminal(conn, 120, 30)
        await on_row(term, "web1", 2)
        term.press("R")
        await term.wait_for("prefer-pve2")
        term.press("\x1b[B")  # down
        await term.wait_for("prefer-pve2: node affinity")
        term.press("x")
        await term.wait_for("Delete the node-affinity rule prefer-pve2?")
        # At a person's pace: the session process keeps the question's rule (a key read
        # within QuestionScreen.ANSWER_AFTER_S, 0.1 s, of its first frame is dropped),
        # and that frame was made before its text reached this terminal.
        await asyncio.sleep(0.2)
        term.press("y")
        await term.wait_until(lambda t: "rule prefer-pve2 deleted" in t.notifications,
                              what="the delete")
    rules = served.server.loops[0].backend.ha_config()  # type: ignore[attr-defined]
    assert [r.name for r in rules.node_affinity] == ["all-nodes"]
    records = [(r.user, r.role, r.operation, r.result[:8]) for r in
               served.server.settings.audit.read()]
    assert records == [("student", "viewer", "ha_node_affinity_remove", "refused:"),
                       ("teacher", "admin", "ha_node_affinity_remove", "done")]


async def test_an_admin_injects_a_fault_over_ssh_and_the_session_goes_on(
        served: Running) -> None:
    """End to end, what only a unit test of the wire caught last time (a fault's
    FaultKind refused by the wire's allow-list ended the admin's session): the fault
    reaches the server's cluster, is audited as the admin's, and the session lives on."""
    async with await served.connect("admin", username="teacher") as conn:
        term = await open_terminal(conn, 120, 30)
        await on_row(term, "pve1", 1)
        term.press("f")
        await term.wait_for("Break the cluster at pve1")
        term.press("\r")  # the first choice: power off
        backend = served.server.loops[0].backend
        await term.wait_until(lambda t: not next(n for n in backend.inventory().nodes
                                                 if n.name == "pve1").online,
                              what="pve1 powered off on the server's cluster")
        await term.wait_until(lambda t: "power off on pve1" in t.notifications,
                              what="the fault said done")
        term.press("f")  # the session still answers, and still as the admin
        await term.wait_for("Break the cluster at pve1")
        assert not term.closed and "server is gone" not in term.text
    record = next(r for r in served.server.settings.audit.read()
                  if r.operation == "fault_power_off")
    assert (record.user, record.role, record.target) == ("teacher", "admin", "pve1")
    assert not record.result.startswith(("refused", "error")), record.result


async def test_the_task_log_names_the_ssh_user_who_started_a_task(served: Running) -> None:
    """A tester's finding: a served class's task log read `root@pam`, the server's
    account on the cluster, as the user of every student's task. The cluster's account
    stays; who asked is shown beside it, to every session."""
    async with await served.connect("operator", username="sam") as conn:
        term = await snapshot_form(conn)
        term.press("before\r")
        await term.wait_until(lambda t: "1 snapshot;" in t.text, what="the snapshot")
        term.press("\x1b")  # the panel closed: the task log under it
        await term.wait_until(lambda t: "Snapshots of web1" not in t.text,
                              what="the panel closed")
        await term.wait_until(lambda t: "sam (root@pam)" in t.text, what="sam's task")
        async with await served.connect("viewer", username="student") as other:
            watcher = await open_terminal(other, 120, 30)
            await watcher.wait_for("100 web1")
            watcher.press("t")
            await watcher.wait_until(lambda t: "sam (root@pam)" in t.text,
                                     what="sam's task in another session's log")
    [task] = [t for t in served.server.loops[0].backend.tasks() if t.operation == "snapshot"]
    assert task.user == "root@pam"  # the cluster's own log is as it was
