"""Each operation on a VM and a container, against fakepve: the task the console gets,
and what the fake cluster did (or, where fakepve only checks and records a request,
exactly what was asked of it)."""

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
from vmconsole.model import GuestStatus, HARequest


def done(backend, task):
    finished = backend.wait(task.id, timeout=10)
    assert finished.status is TaskStatus.OK, finished.error
    return finished


@pytest.mark.parametrize("guest_id", ["qemu/101", "lxc/201"])
def test_power_cycle(backend, guest_id):
    done(backend, backend.start(guest_id))
    assert backend.inventory().guest(guest_id).status is GuestStatus.RUNNING
    done(backend, backend.reboot(guest_id))
    done(backend, backend.shutdown(guest_id, timeout=30))
    assert backend.inventory().guest(guest_id).status is GuestStatus.STOPPED
    done(backend, backend.start(guest_id))
    task = done(backend, backend.stop(guest_id))
    assert (task.operation, task.target) == ("stop", guest_id)
    assert backend.inventory().guest(guest_id).status is GuestStatus.STOPPED


def test_shutdown_sends_its_timeout(backend, fakepve):
    done(backend, backend.shutdown("qemu/100", timeout=45))
    assert fakepve.requests("POST", "/qemu/100/status/shutdown") == [{"timeout": "45"}]


def test_linked_clone_of_a_vm_template_takes_the_next_id(backend, fakepve):
    assert backend.next_vmid() == 102
    task = done(backend, backend.clone("qemu/9000", CloneSpec(name="web2", node="pve2",
                                                              full=False)))
    assert task.result["new_id"] == "qemu/102"
    clone = backend.inventory().guest("qemu/102")
    assert (clone.name, clone.node, clone.template) == ("web2", "pve2", False)
    assert fakepve.requests("POST", "/qemu/9000/clone") == [
        {"newid": "102", "name": "web2", "full": "0", "target": "pve2"}]
    # A new identity: its own MAC address and SMBIOS UUID.
    config = fakepve.guest(102)["config"]
    assert "BC:24:11:00:90:00" not in config["net0"] and "uuid=" in config["smbios1"]


def test_full_clone_of_a_container_to_other_storage(backend, fakepve):
    task = done(backend, backend.clone("lxc/201", CloneSpec(name="dns2", node="pve3",
                                                            storage="local-lvm", vmid=250)))
    assert task.result["new_id"] == "lxc/250"
    assert fakepve.requests("POST", "/lxc/201/clone") == [
        {"newid": "250", "hostname": "dns2", "full": "1", "storage": "local-lvm"}]
    clone = backend.inventory().guest("lxc/250")
    assert (clone.name, clone.node) == ("dns2", "pve3")


def test_clone_onto_a_taken_id_is_refused_in_pves_words(backend):
    with pytest.raises(Conflict, match="already exists"):
        backend.clone("qemu/101", CloneSpec(name="again", node="pve2", vmid=200))


def test_a_locked_guest_is_a_conflict_in_pves_words(backend, fakepve):
    fakepve.call("snapshot_lock", 100, "backup")
    with pytest.raises(Conflict, match=r"VM is locked \(backup\)"):
        backend.reboot("qemu/100")
    assert backend.inventory().guest("qemu/100").lock == "backup"


@pytest.mark.parametrize("guest_id", ["qemu/101", "lxc/201"])
def test_convert_to_template(backend, guest_id):
    done(backend, backend.convert_to_template(guest_id))
    assert backend.inventory().guest(guest_id).template


def test_vm_snapshots_with_ram_rollback_and_delete(backend, fakepve):
    done(backend, backend.snapshot_create("qemu/100", "before", "pre-upgrade", vmstate=True))
    done(backend, backend.snapshot_create("qemu/100", "after"))
    snaps = {s.name: s for s in backend.snapshots("qemu/100")}
    assert set(snaps) == {"before", "after"}
    assert snaps["before"].vmstate and not snaps["after"].vmstate
    assert snaps["before"].description == "pre-upgrade" and snaps["before"].created
    assert snaps["after"].parent == "before" and snaps["after"].current
    assert fakepve.requests("POST", "/qemu/100/snapshot")[0] == {
        "snapname": "before", "description": "pre-upgrade", "vmstate": "1"}
    done(backend, backend.snapshot_rollback("qemu/100", "before"))
    assert [s.name for s in backend.snapshots("qemu/100") if s.current] == ["before"]
    done(backend, backend.snapshot_delete("qemu/100", "after"))
    assert [s.name for s in backend.snapshots("qemu/100")] == ["before"]


def test_container_snapshots_have_no_ram(backend, fakepve):
    with pytest.raises(NotSupported):
        backend.snapshot_create("lxc/200", "s1", vmstate=True)
    done(backend, backend.snapshot_create("lxc/200", "s1", "first"))
    assert [(s.name, s.vmstate) for s in backend.snapshots("lxc/200")] == [("s1", False)]
    assert fakepve.requests("POST", "/lxc/200/snapshot") == [
        {"snapname": "s1", "description": "first"}]
    done(backend, backend.snapshot_rollback("lxc/200", "s1"))
    done(backend, backend.snapshot_delete("lxc/200", "s1"))
    assert backend.snapshots("lxc/200") == []


def test_a_bad_snapshot_name_comes_back_per_field(backend):
    with pytest.raises(InvalidInput) as refused:
        backend.snapshot_create("qemu/100", "not a name!")
    assert "snapname" in refused.value.fields


def test_container_migration_precheck_and_restart_mode(backend, fakepve):
    fakepve.call("set_node_offline", "pve3")
    targets = {t.node: t for t in backend.migration_targets("lxc/200")}
    assert targets["pve2"].allowed
    assert (targets["pve1"].allowed, targets["pve1"].reason) == (False,
                                                                 "the guest is on this node")
    assert (targets["pve3"].allowed, targets["pve3"].reason) == (False, "node offline")
    with pytest.raises(NotSupported, match="restart mode"):
        backend.migrate("lxc/200", "pve2", MigrationMode.LIVE)
    task = done(backend, backend.migrate("lxc/200", "pve2", MigrationMode.RESTART))
    assert "migration finished successfully" in task.log
    moved = backend.inventory().guest("lxc/200")
    assert (moved.node, moved.status) == ("pve2", GuestStatus.RUNNING)
    assert [(e.kind, e.guest, e.message) for e in backend.events()] == [
        ("migrated", "lxc/200", "lxc/200 migrated to pve2")]


def test_vm_live_migration_asks_pve_first_then_migrates_online(backend, fakepve):
    targets = {t.node: t for t in backend.migration_targets("qemu/100")}
    assert not targets["pve1"].allowed
    assert targets["pve2"].allowed
    assert fakepve.requests("GET", "/qemu/100/migrate") == [{}]
    task = done(backend, backend.migrate("qemu/100", "pve2", MigrationMode.LIVE,
                                         with_local_disks=True))
    assert task.result["target"] == "pve2"
    # fakepve checks the parameters against PVE's schema and runs the task, but does
    # not move a VM on POST .../qemu/{vmid}/migrate: what was asked is the proof here.
    assert fakepve.requests("POST", "/qemu/100/migrate") == [
        {"target": "pve2", "online": "1", "with-local-disks": "1"}]
    with pytest.raises(InvalidInput):
        backend.migrate("qemu/100", "pve2", MigrationMode.RESTART)


def test_ha_add_update_remove_for_a_vm_and_a_container(backend, fakepve):
    assert backend.version() >= (9, 0)
    add = backend.ha_set("qemu/100", HASettings(max_restart=2, nodes=("pve1", "pve2")))
    assert add.status is TaskStatus.OK
    assert fakepve.requests("POST", "/cluster/ha/resources") == [
        {"sid": "vm:100", "state": "started", "max_restart": "2", "max_relocate": "1"}]
    # PVE 9: placement is a node-affinity rule, not a group.
    assert fakepve.requests("PUT", "/cluster/ha/rules/vmconsole-vm-100") == [
        {"type": "node-affinity", "nodes": "pve1,pve2", "resources": "vm:100"}]
    fakepve.set(guest=100, ha_state="started")  # the HA manager's part: fakepve stores nothing
    backend.ha_set("qemu/100", HASettings(request=HARequest.STOPPED))
    assert fakepve.requests("PUT", "/cluster/ha/resources/vm:100") == [
        {"state": "stopped", "max_restart": "1", "max_relocate": "1"}]
    # Settings without nodes drop the console's own node-affinity rule.
    assert fakepve.requests("DELETE", "/cluster/ha/rules/vmconsole-vm-100") == [{}]
    backend.ha_set("lxc/200", HASettings(request=HARequest.IGNORED, max_relocate=0))
    assert fakepve.requests("POST", "/cluster/ha/resources")[-1]["sid"] == "ct:200"
    removed = backend.ha_remove("lxc/200")
    assert (removed.operation, removed.target) == ("ha_remove", "lxc/200")
    assert fakepve.requests("DELETE", "/cluster/ha/resources/ct:200") == [{}]
    assert {t.operation for t in backend.tasks()} >= {"ha_set", "ha_remove"}


def test_ha_settings_pve_refuses_come_back_per_field(backend):
    with pytest.raises(InvalidInput) as refused:
        backend.ha_set("qemu/100", HASettings(max_restart=-1))
    assert set(refused.value.fields) == {"max_restart"}


def test_ha_placement_choices_are_node_affinity_rules_on_pve9(backend, fakepve):
    # fakepve lists one placeholder rule, "fake": the names PVE lists are the choices.
    assert backend.ha_groups() == ["fake"]
    assert len(fakepve.requests("GET", "/cluster/ha/rules")) == 1
    assert fakepve.requests("GET", "/cluster/ha/groups") == []
