"""Migration and HA end to end: the target list with its reasons, the mode a guest's
state implies, the guest moving in the tree, HA state in the tree label, a locked
guest refusing a second operation, and the task's detail."""

from __future__ import annotations

import threading

import pytest
from textual.widgets import Input, OptionList, Static

from tests.ui_ops.helpers import (
    act,
    notes,
    on_guest,
    palette_search,
    poll,
    screen_text,
    settle,
    task_rows,
    tree_label,
    tree_parent,
    wait_until,
)
from vmconsole.backends.base import MigrationTarget
from vmconsole.ui.messages import OperationStarted
from vmconsole.ui.modals.confirm import ConfirmScreen
from vmconsole.ui.modals.form import FormScreen
from vmconsole.ui.modals.ha import HAForm
from vmconsole.ui.modals.migrate import MigrateForm
from vmconsole.ui.modals.task_detail import TaskDetailScreen
from vmconsole.ui.widgets.task_log import TaskLog


def options(form: MigrateForm) -> dict[str, tuple[bool, str]]:
    targets = form.query_one("#node", OptionList)
    out = {}
    for i in range(targets.option_count):
        option = targets.get_option_at_index(i)
        out[option.id] = (not option.disabled, str(option.prompt))
    return out


async def test_live_migration_moves_the_guest_and_the_task_reports_downtime(console, audit):
    c = console()
    c.backend.sim.guests["qemu/100"].ha = None  # QEMU's own migration (no HA request)
    messages: list[object] = []
    async with c.app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await on_guest(pilot, c, "web1")
        await act(pilot, "m")
        form = c.app.screen
        assert isinstance(form, MigrateForm)
        listed = options(form)
        assert listed["pve1"] == (False, "pve1 not allowed: the guest is on this node")
        assert listed["pve2"][0] and listed["pve3"][0]
        assert "Live: the VM keeps running" in screen_text(c.app)
        await pilot.press("enter")  # the first allowed target is highlighted: pve2
        await settle(pilot)
        assert c.app.screen is not form
        [record] = list(audit.read())
        assert record.parameters == {"node": "pve2", "mode": "live", "with_local_disks": False}
        # for the ping monitor to start itself
        [started] = [m for m in messages if isinstance(m, OperationStarted)]
        assert started.description == "Migrate web1 (qemu/100 on pve1) to pve2"
        assert started.task.id == record.task_id
        await poll(pilot, c, advance=2)
        assert "running" in task_rows(c.app)[0][-1] or "%" in task_rows(c.app)[0][-1]
        await poll(pilot, c, advance=60)
        assert tree_parent(c.app, "web1") == "node/pve2"
        assert task_rows(c.app)[0][-1] == "OK"

        c.app.query_one(TaskLog).focus()
        await act(pilot, "enter")
        assert isinstance(c.app.screen, TaskDetailScreen)
        # it follows the polls, its summary and log as of the last
        await wait_until(pilot, lambda: "TASK OK" in screen_text(c.app), 10,
                         "the task's end in its detail", seen=lambda: screen_text(c.app))
        text = screen_text(c.app)
        assert "Downtime" in text and " ms" in text and "migrate" in text
        assert "TASK OK" in text


async def test_migrating_an_ha_guest_is_a_request_to_the_ha_manager(console, audit):
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        await act(pilot, "m")
        await pilot.press("enter")
        await settle(pilot)
        await poll(pilot, c, advance=1)
        assert [t.operation for t in c.backend.tasks()] == ["hamigrate"]
        assert task_rows(c.app)[0][-1] == "OK"  # the request is written at once
        await poll(pilot, c, advance=60)  # the CRM's round, the LRM's, the migration
        assert sorted(t.operation for t in c.backend.tasks()) == ["hamigrate", "migrate"]
        assert tree_parent(c.app, "web1") == "node/pve2"


async def test_the_form_says_the_crm_moves_an_ha_guest_back_to_the_node_its_group_prefers(
        console):
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "db1")  # HA, group prefer-pve2, on pve2
        await act(pilot, "m")
        form = c.app.screen
        assert isinstance(form, MigrateForm)
        for node in ("pve1", "pve3"):
            assert options(form)[node] == (True, f"{node} allowed: HA group "
                                           "prefer-pve2 prefers pve2: the CRM will move it back")
        await act(pilot, "escape")
        await on_guest(pilot, c, "web1")  # HA without a group: it stays where it is sent
        await act(pilot, "m")
        assert options(c.app.screen)["pve2"] == (True, "pve2 allowed")


async def test_a_target_that_is_not_allowed_shows_why(console):
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "build1")  # running, on local-lvm
        await act(pilot, "m")
        form = c.app.screen
        assert isinstance(form, MigrateForm)
        listed = options(form)
        assert not any(allowed for allowed, _ in listed.values())
        assert "local disk" in listed["pve1"][1] and "live migration refused" in listed["pve1"][1]
        await pilot.press("tab", "tab", "enter")  # Cancel, then the Migrate button
        await settle(pilot)
        assert c.app.screen is form
        reason = str(form.query_one("#error-node", Static).render())
        assert reason == "no node may take build1 now: see why above"
        assert c.backend.tasks() == []


async def test_a_running_container_migrates_in_restart_mode_and_says_why(console, audit):
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "dns1")
        await act(pilot, "m")
        assert "containers cannot migrate live" in screen_text(c.app)
        await pilot.press("enter")  # pve1
        await settle(pilot)
        [record] = list(audit.read())
        assert record.parameters["mode"] == "restart" and record.parameters["node"] == "pve1"
        await poll(pilot, c, advance=60)
        assert tree_parent(c.app, "dns1") == "node/pve1"
        assert tree_label(c.app, "dns1").startswith("▶")


async def test_mark_a_guest_ha_then_remove_it_from_the_palette(console, audit):
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        guest_id = await on_guest(pilot, c, "test1")
        assert "♥" not in tree_label(c.app, "test1")
        await act(pilot, "H")
        form = c.app.screen
        assert isinstance(form, HAForm)
        form.query_one("#nodes", Input).focus()
        await act(pilot, *"pve9", "enter")
        assert "no node pve9" in str(form.query_one("#error-nodes", Static).render())
        await act(pilot, *(["backspace"] * 4), *"pve2", "enter")
        assert c.app.screen is not form
        await poll(pilot, c, advance=30)
        # managed now, perhaps already moving to pve2 (…migrate): the tree says which
        ha = c.backend.inventory().guest(guest_id).ha
        assert ha is not None and str(ha.state) in tree_label(c.app, "test1")
        # started on pve1, then moved to pve2, the node its affinity prefers (failback)
        await poll(pilot, c, advance=90)
        assert "♥started" in tree_label(c.app, "test1")
        assert tree_parent(c.app, "test1") == "node/pve2"
        ha = c.backend.inventory().guest(guest_id).ha
        assert ha is not None and ha.nodes == ("pve2",)

        await act(pilot, "ctrl+p")
        await palette_search(pilot, "Remove from HA")
        await act(pilot, "enter")
        assert isinstance(c.app.screen, ConfirmScreen)
        await act(pilot, "y")
        await poll(pilot, c, advance=10)
        assert "♥" not in tree_label(c.app, "test1")
        assert [r.operation for r in audit.read()] == ["ha", "ha-remove"]


async def test_a_guest_with_a_running_task_refuses_a_second_one(console, audit):
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "proxy1")  # not HA: its migration is a task of its own
        for _ in range(2):  # the second migration while the first one runs
            await act(pilot, "m")
            assert isinstance(c.app.screen, MigrateForm)
            await act(pilot, "enter")
        form = c.app.screen
        assert isinstance(form, MigrateForm)  # kept open, with the backend's words
        message = str(form.query_one("#form-error", Static).render())
        assert "is busy: a migrate task is running" in message
        assert not any("is busy" in n for n in notes(c.app))  # not over the form too
        assert [t.operation for t in c.backend.tasks()] == ["migrate"]
        first, second = audit.read()
        assert first.result == "started" and second.result.startswith("error: ")
        assert "busy" in second.result and second.task_id is None


async def test_a_guest_locked_by_a_clone_is_refused_before_the_form_with_the_lock(console):
    c = console()
    c.backend.lock_guest("lxc/201", "clone")  # proxy1, the source of a clone
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "proxy1")
        await act(pilot, "m")
        await settle(pilot)
        assert not isinstance(c.app.screen, MigrateForm)
        assert any("proxy1 is locked (clone): it can migrate once the lock is gone" in n
                   for n in notes(c.app))
        assert [t.operation for t in c.backend.tasks()] == ["lock"]  # no migration


async def test_a_stopped_guest_on_local_disks_migrates_offline_with_them(console, audit):
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "build1")  # on pve3's local-lvm
        await act(pilot, "X", "y")
        await poll(pilot, c, advance=5)
        await act(pilot, "m")
        form = c.app.screen
        assert isinstance(form, MigrateForm)
        assert "Offline: the guest is stopped" in screen_text(c.app)
        allowed, prompt = options(form)["pve1"]
        assert allowed and "local disks are copied: scsi0 on local-lvm" in prompt
        assert form.query_one("#with_local_disks").value  # needed, so ticked
        await act(pilot, "enter")
        record = list(audit.read())[-1]
        assert record.parameters == {"node": "pve1", "mode": "offline", "with_local_disks": True}
        await poll(pilot, c, advance=300)
        assert tree_parent(c.app, "build1") == "node/pve1"
        assert task_rows(c.app)[0][-1] == "OK"


@pytest.mark.parametrize("ascii", [False, True])
async def test_a_long_node_name_is_cut_and_its_reason_shown_whole(console, monkeypatch,
                                                                  ascii):
    """A libvirt host of 60 characters ran into its reason ("…host-01not allowed"), and
    the reason was cut at the form's edge, at 80x24. In ASCII mode the cut name ends in
    `...`, as a cut tree row does (a tester saw `…` there)."""
    c = console(ascii=ascii)
    host = "hypervisor-rack-b07-slot-12-ams3-production-cluster-east-0001"
    reason = "web1 has 2 snapshots: libvirt cannot migrate a domain with snapshots"
    monkeypatch.setattr(c.backend, "migration_targets", lambda guest_id: [
        MigrationTarget("pve2", True), MigrationTarget(host, False, reason)])
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        await act(pilot, "m")
        form = c.app.screen
        assert isinstance(form, MigrateForm)
        shown = form.query_one("#node", OptionList)
        lines = [shown.render_line(y).text.rstrip() for y in range(shown.size.height)]
        name = f"{host[:13]}..." if ascii else f"{host[:15]}…"
        assert any(line.startswith(f"{name} not allowed") for line in lines), lines
        assert any(line.startswith(f"{'pve2':16} allowed") for line in lines), lines
        assert not ascii or "…" not in "".join(lines)
        assert f"not allowed: {reason}" in " ".join(" ".join(lines).split()), lines


async def test_a_key_pressed_twice_while_its_form_loads_opens_one_form(console):
    c = console()
    answer = threading.Event()
    real_targets = c.backend.migration_targets

    def slow_targets(guest_id):  # a cluster that takes its time to answer
        answer.wait(5)
        return real_targets(guest_id)

    c.backend.migration_targets = slow_targets
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        await pilot.press("m", "m")
        answer.set()
        await settle(pilot)
        assert isinstance(c.app.screen, MigrateForm)
        assert sum(isinstance(s, MigrateForm) for s in c.app.screen_stack) == 1


async def test_a_field_error_quoting_a_huge_value_is_cut(console):
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "test1")
        await act(pilot, "H")
        form = c.app.screen
        assert isinstance(form, HAForm)
        form.query_one("#nodes", Input).value = "x" * 5000
        form.query_one("#nodes", Input).focus()
        await act(pilot, "enter")
        shown = str(form.query_one("#error-nodes", Static).render())
        assert shown.startswith("no node xxx") and shown.endswith("…")
        assert len(shown) <= 200


async def test_a_notification_leaves_a_forms_buttons_in_sight(console):
    c = console()
    async with c.app.run_test(size=(80, 24), notifications=True) as pilot:
        await on_guest(pilot, c, "debian12-template")
        await act(pilot, "n")  # create from template: the tallest form
        form = c.app.screen
        assert isinstance(form, FormScreen)
        for n in range(3):  # tasks ending while the user fills the form in
            c.app.notify(f"pve{n} lost: waiting 60 s fence delay before fencing its 2 HA "
                         "services (a narration that wraps over lines)", timeout=30)
        await settle(pilot)
        # What is drawn of each toast: the rack clips the ones it has no room for.
        drawn = [form.find_widget(t) for t in form.query("Toast")]
        toasts = [g.region.intersection(g.clip) for g in drawn]
        buttons = [b.region for b in form.query("#buttons Button")]
        assert toasts and buttons
        assert not any(t.overlaps(b) for t in toasts for b in buttons)
