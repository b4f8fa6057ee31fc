"""Every operation against vcsim, end to end: a vSphere task followed to its end, and
what the next poll shows."""

from __future__ import annotations

import pytest

from vmconsole.backends.base import (
    Conflict,
    InvalidInput,
    MigrationMode,
    NotSupported,
    TaskStatus,
)
from vmconsole.backends.clones import CloneSpec
from vmconsole.backends.ha_config import HASettings
from vmconsole.backends.vcenter import VCenterBackend
from vmconsole.model import (
    Guest,
    GuestStatus,
    HARequest,
    HAState,
    NodeHAState,
    RestartPriority,
)
from vmconsole.model.vsphere import VSphereVmHA

VCSIM_ARGS = ("-vm", "6")


def done(backend: VCenterBackend, task_id: str) -> None:
    task = backend.wait(task_id, timeout=30)
    assert task.status is TaskStatus.OK, (task.error, task.log)
    assert task.ended is not None and task.progress == 1.0


def vm(backend: VCenterBackend, index: int) -> Guest:
    """The index-th VM (by name) of the simulator's cluster, as a fresh poll shows it."""
    guests = [g for g in backend.inventory().guests if g.name.startswith("DC0_C0_RP0_VM")]
    return sorted(guests, key=lambda g: g.name)[index]


def test_power_off_on_and_guest_shutdown(backend: VCenterBackend) -> None:
    guest = vm(backend, 0)
    task = backend.stop(guest.id)
    assert task.id.startswith("task-") and task.operation == "stop"
    assert task.target == guest.id and task.node == guest.node
    done(backend, task.id)
    assert backend.inventory().guest(guest.id).status is GuestStatus.STOPPED

    # vSphere answers a task and fails it: the fault's fields, in the task log.
    again = backend.wait(backend.stop(guest.id).id, timeout=30)
    assert again.status is TaskStatus.ERROR
    assert again.error == "the VM is poweredOff already"

    done(backend, backend.start(guest.id).id)
    assert backend.inventory().guest(guest.id).status is GuestStatus.RUNNING

    task = backend.shutdown(guest.id, timeout=20)
    done(backend, task.id)
    assert "VMware Tools" in backend.task(task.id).log[0]
    assert backend.inventory().guest(guest.id).status is GuestStatus.STOPPED
    done(backend, backend.start(guest.id).id)


def test_reboot_is_refused_in_the_servers_words_where_not_implemented(
        backend: VCenterBackend) -> None:
    # vcsim has no RebootGuest: vSphere's NotImplemented fault, as NotSupported.
    with pytest.raises(NotSupported, match="reboot vm-"):
        backend.reboot(vm(backend, 0).id)


def test_snapshot_with_memory_quiesced_revert_remove(backend: VCenterBackend) -> None:
    guest = vm(backend, 1)
    done(backend, backend.snapshot_create(guest.id, "before", "first", vmstate=True).id)
    done(backend, backend.snapshot_create(guest.id, "quiet", quiesce=True).id)
    snaps = {s.name: s for s in backend.snapshots(guest.id)}
    assert set(snaps) == {"before", "quiet"}
    assert snaps["before"].vmstate and snaps["before"].description == "first"
    assert snaps["before"].parent is None and snaps["quiet"].parent == "before"
    assert snaps["quiet"].current and not snaps["before"].current
    assert snaps["quiet"].quiesced and not snaps["before"].quiesced
    assert snaps["before"].created is not None

    task = backend.snapshot_rollback(guest.id, "before")
    assert task.result["snapshot"] == "before"
    done(backend, task.id)
    assert {s.name for s in backend.snapshots(guest.id) if s.current} == {"before"}

    done(backend, backend.snapshot_delete(guest.id, "quiet").id)
    assert [s.name for s in backend.snapshots(guest.id)] == ["before"]
    with pytest.raises(Exception, match="no snapshot named quiet"):
        backend.snapshot_rollback(guest.id, "quiet")


def test_full_and_linked_clone(backend: VCenterBackend) -> None:
    source = vm(backend, 2)
    done(backend, backend.stop(source.id).id)
    task = backend.clone(source.id, CloneSpec(name="web-copy", node=source.node))
    done(backend, task.id)
    new_id = str(backend.wait(task.id).result["new_id"])
    copy = backend.inventory().guest(new_id)
    assert copy is not None and copy.name == "web-copy" and copy.id != source.id
    assert copy.status is GuestStatus.STOPPED

    with pytest.raises(InvalidInput) as refused:
        backend.clone(source.id, CloneSpec(name="web-copy", node=source.node))
    assert refused.value.fields == {"name": "this name is taken"}

    with pytest.raises(InvalidInput, match="take a snapshot first"):
        backend.clone(source.id, CloneSpec(name="linked", node=source.node, full=False))
    done(backend, backend.snapshot_create(source.id, "base").id)
    task = backend.clone(source.id, CloneSpec(name="linked", node=source.node, full=False,
                                               snapshot="base"))
    done(backend, task.id)
    linked = backend.inventory().guest(str(backend.wait(task.id).result["new_id"]))
    assert linked is not None and linked.name == "linked"


def test_template_deploy_and_back(backend: VCenterBackend) -> None:
    source = vm(backend, 3)
    with pytest.raises(Conflict, match="power it off first"):
        backend.convert_to_template(source.id)
    done(backend, backend.stop(source.id).id)
    done(backend, backend.convert_to_template(source.id).id)
    template = backend.inventory().guest(source.id)
    assert template.template and template.ha is None
    with pytest.raises(Conflict, match="template"):
        backend.start(source.id)

    # Deploy: a clone of the template onto a host of the cluster.
    task = backend.clone(source.id, CloneSpec(name="from-template", node="DC0_C0_H1"))
    done(backend, task.id)
    deployed = backend.inventory().guest(str(backend.wait(task.id).result["new_id"]))
    assert deployed is not None and not deployed.template

    done(backend, backend.convert_to_vm(source.id, "DC0_C0_H0").id)
    back = backend.inventory().guest(source.id)
    assert not back.template and back.node == "DC0_C0_H0"


def test_vmotion_moves_the_vm_in_the_tree(backend: VCenterBackend) -> None:
    guest = vm(backend, 4)
    targets = {t.node: t for t in backend.migration_targets(guest.id)}
    assert targets[guest.node].reason == "the VM is on this host"
    other = next(name for name, t in sorted(targets.items()) if t.allowed)
    task = backend.migrate(guest.id, other, MigrationMode.LIVE)
    assert task.operation == "migrate" and task.node == guest.node
    done(backend, task.id)
    inventory = backend.inventory()
    assert inventory.guest(guest.id).node == other
    assert guest.id in [g.id for g in inventory.guests_on(other)]
    assert guest.id not in [g.id for g in inventory.guests_on(guest.node)]
    assert any(e.kind == "migrated" and e.guest == guest.id for e in backend.events())

    with pytest.raises(InvalidInput):
        backend.migrate(guest.id, guest.node, MigrationMode.RESTART)


def test_host_in_maintenance_refuses_a_vmotion(backend: VCenterBackend) -> None:
    guest = vm(backend, 5)
    host = next(n.name for n in backend.inventory().nodes if n.name != guest.node)
    done(backend, backend.set_host_maintenance(host, True).id)
    try:
        assert backend.inventory().node(host).ha_state is NodeHAState.MAINTENANCE
        target = next(t for t in backend.migration_targets(guest.id) if t.node == host)
        assert not target.allowed and target.reason == "the host is in maintenance mode"
        with pytest.raises(Conflict, match="maintenance mode"):
            backend.migrate(guest.id, host, MigrationMode.LIVE)
        assert backend.inventory().guest(guest.id).node == guest.node
        with pytest.raises(Conflict, match="already"):
            backend.set_host_maintenance(host, True)
    finally:
        done(backend, backend.set_host_maintenance(host, False).id)
    assert backend.inventory().node(host).ha_state is None


def test_ha_restart_priority_set_changed_and_removed(backend: VCenterBackend) -> None:
    guest = vm(backend, 5)
    assert backend.ha_groups() == []  # vSphere HA has no groups
    done(backend, backend.ha_set(guest.id, HASettings(
        restart_priority=RestartPriority.HIGH)).id)
    ha = backend.inventory().guest(guest.id).ha
    # Read back from the cluster's dasVmConfig. vcsim does not report vSphere HA as on:
    # the priority is kept but not acted on.
    assert ha is not None and ha.vsphere == VSphereVmHA(RestartPriority.HIGH, own=True)
    assert ha.state is HAState.DISABLED and ha.group is None

    done(backend, backend.ha_set(guest.id, HASettings(
        restart_priority=RestartPriority.DISABLED)).id)
    ha = backend.inventory().guest(guest.id).ha
    assert ha is not None and ha.request is HARequest.DISABLED
    assert ha.vsphere == VSphereVmHA(RestartPriority.DISABLED, own=True)

    # Proxmox's settings have no meaning in vSphere HA: each refused by name.
    for settings, field in ((HASettings(request=HARequest.STOPPED), "request"),
                            (HASettings(group="web"), "group"),
                            (HASettings(nodes=("DC0_C0_H0",)), "nodes"),
                            (HASettings(max_restart=3), "max_restart")):
        with pytest.raises(InvalidInput) as refused:
            backend.ha_set(guest.id, settings)
        assert list(refused.value.fields) == [field]

    done(backend, backend.ha_remove(guest.id).id)  # back to the cluster's default
    assert backend.inventory().guest(guest.id).ha is None
    with pytest.raises(Conflict, match="no restart priority of its own"):
        backend.ha_remove(guest.id)
    with pytest.raises(Conflict, match="the cluster's default already"):
        backend.ha_set(guest.id, HASettings(restart_priority=None))


def test_tasks_are_listed_for_the_task_log(backend: VCenterBackend) -> None:
    guest = vm(backend, 0)
    task = backend.stop(guest.id)
    done(backend, task.id)
    done(backend, backend.start(guest.id).id)
    listed = backend.tasks()
    assert [t.operation for t in listed][-2:] == ["stop", "start"]
    assert backend.task(task.id).status is TaskStatus.OK
