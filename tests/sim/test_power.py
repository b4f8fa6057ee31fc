"""Power operations: timing, boot before reachability, shutdown timeouts, refusals."""

from __future__ import annotations

import pytest

from tests.sim.conftest import wait, wait_task
from vmconsole.backends.base import Conflict, NotSupported, TaskStatus
from vmconsole.backends.sim import ManualClock, SimBackend
from vmconsole.backends.sim.power import START_SECONDS
from vmconsole.model import GuestStatus, HAState


def status(backend: SimBackend, guest_id: str) -> GuestStatus:
    guest = backend.inventory().guest(guest_id)
    assert guest is not None
    return guest.status


def test_start_runs_at_once_but_answers_only_after_boot(lab: SimBackend,
                                                         clock: ManualClock) -> None:
    task = lab.start("qemu/103")
    assert task.operation == "start" and task.user == "root@pam"
    assert task.id.startswith("UPID:pve1:") and ":qmstart:103:root@pam:" in task.id
    assert task.status is TaskStatus.RUNNING
    done = wait_task(clock, lab, task.id, step=0.1)
    assert done.status is TaskStatus.OK and 1.0 <= (done.duration or 0) <= 2.0
    assert status(lab, "qemu/103") is GuestStatus.RUNNING
    assert lab.probe("qemu/103") is None  # QEMU runs, the OS is still booting
    boot = lab.sim.guests["qemu/103"].boot_seconds
    started = lab.sim.nodes["pve1"].instances["qemu/103"].since
    clock.advance(started + boot - lab.now() - 0.001)
    assert lab.probe("qemu/103") is None
    clock.advance(0.002)
    rtt = lab.probe("qemu/103")
    assert rtt is not None and 0.0002 <= rtt <= 0.0006


def test_refusals_name_the_reason(lab: SimBackend) -> None:
    with pytest.raises(NotSupported, match="template"):
        lab.start("qemu/9000")
    with pytest.raises(Conflict, match="already running"):
        lab.start("lxc/201")
    with pytest.raises(Conflict, match="not running"):
        lab.stop("qemu/103")


def test_graceful_shutdown_of_a_container(lab: SimBackend, clock: ManualClock) -> None:
    task = lab.shutdown("lxc/201")
    done = wait_task(clock, lab, task.id, step=0.1)
    assert done.status is TaskStatus.OK
    assert 2 <= (done.duration or 0) <= 4.2
    assert status(lab, "lxc/201") is GuestStatus.STOPPED
    assert lab.probe("lxc/201") is None


def test_shutdown_times_out_when_the_guest_ignores_acpi(lab: SimBackend,
                                                        clock: ManualClock) -> None:
    task = lab.shutdown("qemu/102", timeout=60)
    done = wait_task(clock, lab, task.id)
    assert done.status is TaskStatus.ERROR
    assert done.error == "VM quit/powerdown failed - got timeout"
    assert done.duration == pytest.approx(60)
    assert status(lab, "qemu/102") is GuestStatus.RUNNING  # as on Proxmox: still on
    stop = wait_task(clock, lab, lab.stop("qemu/102").id, step=0.1)
    assert stop.status is TaskStatus.OK
    assert status(lab, "qemu/102") is GuestStatus.STOPPED


def test_stop_overrules_a_pending_shutdown(lab: SimBackend, clock: ManualClock) -> None:
    shutdown = lab.shutdown("qemu/102")
    clock.advance(5)
    with pytest.raises(Conflict, match="busy: a shutdown task is running"):
        lab.snapshot_create("qemu/102", "before")
    stop = lab.stop("qemu/102")
    assert lab.task(shutdown.id).status is TaskStatus.ERROR
    assert "overruled" in (lab.task(shutdown.id).error or "")
    assert wait_task(clock, lab, stop.id).status is TaskStatus.OK


def test_reboot_goes_down_then_boots(lab: SimBackend, clock: ManualClock) -> None:
    start = lab.now()
    done = wait_task(clock, lab, lab.reboot("lxc/201").id, step=0.1)
    assert done.status is TaskStatus.OK
    assert status(lab, "lxc/201") is GuestStatus.RUNNING
    wait(clock, lab, 10)
    changes = [(t, up) for t, up in lab.sim.reach_log["lxc/201"] if t > start]
    assert [up for _, up in changes] == [False, True]
    guest = lab.sim.guests["lxc/201"]
    gap = changes[1][0] - changes[0][0]
    assert gap == pytest.approx(START_SECONDS[guest.kind] + guest.boot_seconds)
    assert lab.probe("lxc/201") is not None


def test_an_ha_guest_is_stopped_and_started_through_the_ha_manager(
        lab: SimBackend, clock: ManualClock) -> None:
    task = lab.stop("qemu/100")
    assert task.status is TaskStatus.OK  # a request, done at once
    assert "Requesting HA stop" in task.log[0]
    wait(clock, lab, 21)  # the CRM's round, then the LRM's
    guest = lab.inventory().guest("qemu/100")
    assert guest is not None and guest.ha is not None
    assert guest.ha.state in (HAState.REQUEST_STOP, HAState.STOPPED)
    wait(clock, lab, 20)
    guest = lab.inventory().guest("qemu/100")
    assert guest is not None and guest.ha is not None
    assert guest.status is GuestStatus.STOPPED and guest.ha.state is HAState.STOPPED
    lab.start("qemu/100")
    wait(clock, lab, 25)
    guest = lab.inventory().guest("qemu/100")
    assert guest is not None and guest.ha is not None
    assert guest.status is GuestStatus.RUNNING and guest.ha.state is HAState.STARTED
