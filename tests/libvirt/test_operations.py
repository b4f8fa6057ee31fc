import pytest

pytest.importorskip("libvirt", reason="libvirt-python is not installed")

from vmconsole.backends.base import (
    Conflict,
    InvalidInput,
    MigrationMode,
    NotFound,
    NotSupported,
    TaskStatus,
)
from vmconsole.backends.clones import CloneSpec
from vmconsole.backends.ha_config import HASettings
from vmconsole.backends.libvirt.metadata import NAMESPACE
from vmconsole.model import GuestStatus, HARequest, HAState

from .conftest import guest_named, wait


def test_power_stop_and_start(cluster):
    web = guest_named(cluster, "web1")
    task = wait(cluster, cluster.stop(web.id))
    assert task.status is TaskStatus.OK and task.node == "pve1"
    assert guest_named(cluster, "web1").status is GuestStatus.STOPPED
    assert wait(cluster, cluster.start(web.id)).status is TaskStatus.OK
    assert guest_named(cluster, "web1").status is GuestStatus.RUNNING


def test_starting_a_running_guest_fails_in_libvirts_words(cluster):
    task = wait(cluster, cluster.start(guest_named(cluster, "web1").id))
    assert task.status is TaskStatus.ERROR
    assert task.error == "starting web1: internal error: Domain 'web1' is already running"


def test_snapshot_tree_rollback_and_delete(cluster):
    web = guest_named(cluster, "web1")
    assert wait(cluster, cluster.snapshot_create(web.id, "before", "clean", vmstate=True)
                ).status is TaskStatus.OK
    assert wait(cluster, cluster.snapshot_create(web.id, "after")).status is TaskStatus.OK
    tree = {s.name: s for s in cluster.snapshots(web.id)}
    assert tree["before"].parent is None and tree["after"].parent == "before"
    assert tree["before"].description == "clean" and tree["before"].vmstate
    assert tree["after"].current and not tree["before"].current
    assert wait(cluster, cluster.snapshot_rollback(web.id, "before")).status is TaskStatus.OK
    assert [s.name for s in cluster.snapshots(web.id) if s.current] == ["before"]
    assert wait(cluster, cluster.snapshot_delete(web.id, "after")).status is TaskStatus.OK
    assert [s.name for s in cluster.snapshots(web.id)] == ["before"]


def test_snapshot_refusals(cluster):
    web = guest_named(cluster, "web1")
    wait(cluster, cluster.snapshot_create(web.id, "s1"))
    with pytest.raises(Conflict, match="already has a snapshot named 's1'"):
        cluster.snapshot_create(web.id, "s1")
    with pytest.raises(InvalidInput) as bad:
        cluster.snapshot_create(web.id, "no spaces")
    assert "name" in bad.value.fields
    with pytest.raises(NotFound, match="web1 has no snapshot 'nope'"):
        cluster.snapshot_rollback(web.id, "nope")


def test_clone_gets_a_new_identity_and_its_own_disk(cluster):
    idle = guest_named(cluster, "idle1")
    web = guest_named(cluster, "web1")
    wait(cluster, cluster.stop(web.id))
    task = wait(cluster, cluster.clone(web.id, CloneSpec(name="web2", node="pve1")))
    assert task.status is TaskStatus.OK, task.error
    new = cluster.inventory().guest(str(task.result["new_id"]))
    assert new is not None and new.name == "web2" and new.node == "pve1"
    assert new.id != web.id and new.id != idle.id
    conn = cluster.host_named("pve1").connection()
    old_xml = conn.lookupByName("web1").XMLDesc(0)
    new_xml = conn.lookupByName("web2").XMLDesc(0)
    assert "52:54:00:00:01:01" in old_xml and "52:54:00:00:01:01" not in new_xml
    assert "/pool1/web2-vda.qcow2" in new_xml
    assert new.storages == ("pool1",)


def test_clone_name_taken_is_a_conflict(cluster):
    idle = guest_named(cluster, "idle1")
    with pytest.raises(Conflict, match="a guest named 'app2' already exists"):
        cluster.clone(idle.id, CloneSpec(name="app2", node="pve1"))


def test_clone_of_a_running_guest_with_disks_is_refused(cluster):
    with pytest.raises(InvalidInput, match="web1 is running: stop it"):
        cluster.clone(guest_named(cluster, "web1").id, CloneSpec(name="x", node="pve1"))


def test_create_from_template_as_a_linked_clone_is_a_qcow2_overlay(cluster):
    template = guest_named(cluster, "tmpl-debian")
    task = wait(cluster, cluster.clone(template.id, CloneSpec(name="deb1", node="pve1",
                                                              full=False)))
    assert task.status is TaskStatus.OK, task.error
    new = cluster.inventory().guest(str(task.result["new_id"]))
    assert new is not None and not new.template
    conn = cluster.host_named("pve1").connection()
    volume = conn.storageVolLookupByPath("/pool1/deb1-vda.qcow2")
    assert "<path>/pool1/tmpl-debian.qcow2</path>" in volume.XMLDesc(0)


def test_a_linked_clone_needs_a_template(cluster):
    web = guest_named(cluster, "web1")
    wait(cluster, cluster.stop(web.id))
    with pytest.raises(InvalidInput, match="needs a template"):
        cluster.clone(web.id, CloneSpec(name="w", node="pve1", full=False))


def test_a_diskless_guest_clones_onto_another_host(cluster):
    task = wait(cluster, cluster.clone(guest_named(cluster, "db1").id,
                                       CloneSpec(name="db2", node="pve2")))
    assert task.status is TaskStatus.OK, task.error
    assert guest_named(cluster, "db2").node == "pve2"


def test_templates_refuse_to_start(cluster):
    template = guest_named(cluster, "tmpl-debian")
    with pytest.raises(NotSupported, match="tmpl-debian is a template"):
        cluster.start(template.id)


def test_convert_to_template_only_when_stopped(cluster):
    with pytest.raises(InvalidInput, match="db1 is running"):
        cluster.convert_to_template(guest_named(cluster, "db1").id)
    idle = guest_named(cluster, "idle1")
    assert wait(cluster, cluster.convert_to_template(idle.id)).status is TaskStatus.OK
    assert guest_named(cluster, "idle1").template
    with pytest.raises(NotSupported):
        cluster.start(idle.id)


def test_ha_marking_lives_in_the_domain_metadata(cluster):
    web = guest_named(cluster, "web1")
    settings = HASettings(HARequest.STARTED, nodes=("pve1", "pve2"), max_restart=2,
                          max_relocate=3)
    assert wait(cluster, cluster.ha_set(web.id, settings)).status is TaskStatus.OK
    ha = guest_named(cluster, "web1").ha
    assert ha is not None
    assert (ha.request, ha.state, ha.nodes, ha.max_restart, ha.max_relocate) == (
        HARequest.STARTED, HAState.STARTED, ("pve1", "pve2"), 2, 3)
    xml = cluster.host_named("pve1").connection().lookupByName("web1").XMLDesc(0)
    assert NAMESPACE in xml and 'max_relocate="3"' in xml
    wait(cluster, cluster.ha_set(web.id, HASettings(HARequest.DISABLED, group="db")))
    assert guest_named(cluster, "web1").ha.state is HAState.DISABLED
    assert cluster.ha_groups() == ["db"]
    assert wait(cluster, cluster.ha_remove(web.id)).status is TaskStatus.OK
    assert guest_named(cluster, "web1").ha is None
    with pytest.raises(InvalidInput, match="no node pve9"):
        cluster.ha_set(web.id, HASettings(nodes=("pve9",)))
    # Proxmox's priorities, as the HA form's hint writes them
    assert wait(cluster, cluster.ha_set(web.id, HASettings(nodes=("pve1:2", "pve2:1")))
                ).status is TaskStatus.OK
    assert guest_named(cluster, "web1").ha.nodes == ("pve1:2", "pve2:1")
    with pytest.raises(InvalidInput, match="no node pve9"):
        cluster.ha_set(web.id, HASettings(nodes=("pve1:2", "pve9:1")))


def test_migration_targets_say_why_not(cluster):
    targets = {t.node: t for t in cluster.migration_targets(guest_named(cluster, "db1").id)}
    assert not targets["pve1"].allowed and targets["pve1"].reason == "db1 is on pve1"
    assert not targets["pve2"].allowed
    assert targets["pve2"].reason == ("not enough memory: db1 needs 2048 MiB, pve2 has "
                                      "512 MiB unassigned")
    app = {t.node: t for t in cluster.migration_targets(guest_named(cluster, "app2").id)}
    assert app["pve1"].allowed and app["pve1"].local_disks == ()


def test_local_disks_are_named(cluster):
    web = guest_named(cluster, "web1")
    wait(cluster, cluster.stop(guest_named(cluster, "app2").id))
    target = {t.node: t for t in cluster.migration_targets(web.id)}["pve2"]
    assert target.local_disks == ("vda (/pool1/web1.qcow2)",)
    assert "not on storage libvirt knows to be shared" in target.reason
    with pytest.raises(InvalidInput, match="with local disks"):
        cluster.migrate(web.id, "pve2", MigrationMode.LIVE)


def test_migration_on_the_test_driver_fails_in_libvirts_words(cluster):
    app = guest_named(cluster, "app2")
    task = wait(cluster, cluster.migrate(app.id, "pve1", MigrationMode.LIVE))
    assert task.status is TaskStatus.ERROR
    assert task.error == ("migrating app2 to pve1: this function is not supported by the "
                          "connection driver: virDomainMigrate3; app2 stays on pve2")
    assert guest_named(cluster, "app2").node == "pve2"
    assert any(e.kind == "migration_failed" for e in cluster.events())


def test_migration_mode_must_fit_the_guest(cluster):
    with pytest.raises(InvalidInput, match="idle1 is stopped: migrate it offline"):
        cluster.migrate(guest_named(cluster, "idle1").id, "pve2", MigrationMode.LIVE)
    with pytest.raises(NotSupported, match="restart mode is for containers"):
        cluster.migrate(guest_named(cluster, "app2").id, "pve1", MigrationMode.RESTART)


def test_unknown_guest_is_not_found(cluster):
    with pytest.raises(NotFound):
        cluster.start("vm/00000000-0000-0000-0000-000000000000")
    with pytest.raises(NotFound, match="not a libvirt guest id"):
        cluster.start("qemu/100")


def test_a_container_shutdown_asked_before_libvirt_knows_its_init_waits_for_it(
        cluster, monkeypatch):
    """libvirt's LXC driver refuses a shutdown until the container's controller has told
    it its init's PID, a moment after the start (the lab's CI run: "Init process ID is
    not yet known"). The task asks again until libvirt can; another refusal ends it."""
    import libvirt

    from vmconsole.backends.libvirt.connection import Host

    answers = iter(["Requested operation is not valid: Init process ID is not yet known"] * 2)
    real = libvirt.virDomain.shutdownFlags

    def shutdown_flags(dom, flags=0):
        if (refusal := next(answers, None)) is not None:
            raise libvirt.libvirtError(refusal)
        return real(dom, 0)  # the test driver knows no signal flag

    monkeypatch.setattr(libvirt.virDomain, "shutdownFlags", shutdown_flags)
    monkeypatch.setattr(Host, "containers", property(lambda host: True))
    web = guest_named(cluster, "web1")
    task = wait(cluster, cluster.shutdown(web.id, timeout=10.0))
    assert task.status is TaskStatus.OK, task.error
    assert guest_named(cluster, "web1").status is GuestStatus.STOPPED

    answers = iter(["Requested operation is not valid: domain is not running"])
    task = wait(cluster, cluster.shutdown(web.id, timeout=10.0), timeout=5.0)
    assert task.status is TaskStatus.ERROR
    assert task.error == ("shutting down web1: Requested operation is not valid: domain is "
                          "not running")
