"""One guest, one identity: a UUID defined on two hosts (db1 runs on pve1, a shut-off
copy is left on kvm3) is two rows, each flagged, each addressed on its own host."""

import pytest

pytest.importorskip("libvirt", reason="libvirt-python is not installed")

from vmconsole.backends.base import Conflict, MigrationMode, TaskStatus
from vmconsole.backends.libvirt.identity import Row, identify
from vmconsole.config import LibvirtCluster
from vmconsole.model import Guest, GuestKind, GuestStatus, Inventory, NodeStatus

from .conftest import FIXTURES, PVE1, wait

KVM3 = f"test://{FIXTURES / 'kvm3.xml'}"
DB1 = "11111111-0000-4000-8000-000000000002"


@pytest.fixture
def twice():
    from vmconsole.backends.libvirt import open_libvirt

    backend = open_libvirt(LibvirtCluster("kvm", (PVE1, KVM3), timeout=3.0))
    backend.inventory()
    yield backend
    backend.close()


def copies(backend):
    return {g.node: g for g in backend.inventory().guests if g.name == "db1"}


def test_both_copies_are_rows_of_their_own_flagged_with_the_reason(twice):
    inv = twice.inventory()
    assert len({g.id for g in inv.guests}) == len(inv.guests)  # unique in the cluster
    db = copies(twice)
    assert set(db) == {"pve1", "kvm3"}
    on1, on3 = db["pve1"], db["kvm3"]
    assert (on1.id, on3.id) == (f"vm/{DB1}@pve1", f"vm/{DB1}@kvm3")
    assert (on1.status, on3.status) == (GuestStatus.RUNNING, GuestStatus.STOPPED)
    assert on1.duplicate is not None and on3.duplicate is not None
    assert (on1.duplicate.shared, on1.duplicate.value) == ("UUID", DB1)
    assert on1.duplicate.nodes == ("kvm3",)
    assert on3.duplicate.copies == (on1.id,) and on3.duplicate.nodes == ("pve1",)
    assert "--undefinesource" in on1.duplicate.advice
    others = [g for g in inv.guests if g.name != "db1"]
    assert others and all(g.duplicate is None and "@" not in g.id for g in others)


def test_every_action_goes_to_the_copy_of_the_row(twice):
    db = copies(twice)
    host, dom = twice.locate(db["kvm3"].id)
    assert host.name == "kvm3" and not dom.isActive()
    host, dom = twice.locate(db["pve1"].id)
    assert host.name == "pve1" and dom.isActive()
    snap = wait(twice, twice.snapshot_create(db["kvm3"].id, "left-behind"))
    assert snap.status is TaskStatus.OK and snap.node == "kvm3"
    assert [s.name for s in twice.snapshots(db["kvm3"].id)] == ["left-behind"]
    assert twice.snapshots(db["pve1"].id) == []
    stop = wait(twice, twice.stop(db["pve1"].id))
    assert stop.status is TaskStatus.OK and stop.node == "pve1"
    after = copies(twice)
    assert (after["pve1"].status, after["kvm3"].status) == (GuestStatus.STOPPED,
                                                            GuestStatus.STOPPED)


def test_a_copy_is_not_started_while_another_runs_and_the_refusal_says_where(twice):
    db = copies(twice)
    with pytest.raises(Conflict) as refused:
        twice.start(db["kvm3"].id)
    assert str(refused.value) == (
        f"db1 already runs on pve1 (the same UUID {DB1} is defined there): starting its "
        "copy on kvm3 would run one guest twice on the same disks")
    assert copies(twice)["kvm3"].status is GuestStatus.STOPPED
    assert wait(twice, twice.stop(db["pve1"].id)).status is TaskStatus.OK
    started = wait(twice, twice.start(db["kvm3"].id))
    assert started.status is TaskStatus.OK and started.node == "kvm3"
    after = copies(twice)
    assert (after["pve1"].status, after["kvm3"].status) == (GuestStatus.STOPPED,
                                                            GuestStatus.RUNNING)
    with pytest.raises(Conflict, match="already runs on kvm3"):
        twice.start(db["pve1"].id)


def test_the_bare_uuid_no_longer_names_one_guest(twice):
    with pytest.raises(Conflict, match="defined on pve1 and kvm3: choose the copy"):
        twice.start(f"vm/{DB1}")


def test_no_migration_onto_the_host_of_another_copy(twice):
    target = {t.node: t for t in twice.migration_targets(copies(twice)["pve1"].id)}
    assert not target["kvm3"].allowed and "another copy of db1" in target["kvm3"].reason


def vm(node: str, status: GuestStatus = GuestStatus.RUNNING) -> Guest:
    return Guest(f"vm/{DB1}", "db1", GuestKind.VM, node, status)


def test_a_migration_under_way_is_one_guest_that_keeps_its_id():
    before = Inventory("kvm", (), (vm("pve1"),))
    during = [Row(vm("pve1")), Row(vm("kvm3", GuestStatus.PAUSED), migrating=True)]
    assert [(g.id, g.node) for g in identify(during, before, set())] == [
        (f"vm/{DB1}", "pve1")]
    # The console's own migration holds the guest: the same, whatever the states say.
    during = [Row(vm("pve1")), Row(vm("kvm3", GuestStatus.RUNNING))]
    assert [g.node for g in identify(during, before, {DB1})] == ["pve1"]
    # Once it ended, a copy left behind (no --undefinesource) is a duplicate.
    after = [Row(vm("pve1", GuestStatus.STOPPED)), Row(vm("kvm3"))]
    assert [g.id for g in identify(after, before, set())] == [
        f"vm/{DB1}@pve1", f"vm/{DB1}@kvm3"]


def test_a_copy_on_a_host_that_does_not_answer_may_run_there(twice):
    twice.host_named("pve1").mark_lost("connection closed by the host")
    inv = twice.inventory()  # pve1's copy: still a row of its own, its state unknown
    assert inv.guest(f"vm/{DB1}@pve1").status is GuestStatus.UNKNOWN
    with pytest.raises(Conflict) as refused:
        twice.start(f"vm/{DB1}@kvm3")
    assert str(refused.value) == (
        f"db1 is also defined on pve1 (the same UUID {DB1}), which does not answer: its "
        "copy may run there, and starting the one on kvm3 could run one guest twice on "
        "the same disks")


APP2 = "22222222-0000-4000-8000-000000000001"


@pytest.fixture
def losing(tmp_path):
    """pve1 and pve2 on copies of their files, and the way to lose pve2 for good: its
    file goes, and it is marked lost as a slow libvirtd is."""
    from vmconsole.backends.libvirt import open_libvirt

    for node in ("pve1", "pve2"):
        (tmp_path / f"{node}.xml").write_text((FIXTURES / f"{node}.xml").read_text())
    backend = open_libvirt(LibvirtCluster("kvm", tuple(
        f"test://{tmp_path / node}.xml" for node in ("pve1", "pve2")), timeout=3.0))

    def lose_pve2() -> None:
        (tmp_path / "pve2.xml").rename(tmp_path / "pve2.gone")  # it cannot come back
        backend.host_named("pve2").mark_lost("no answer within 3 s")

    yield backend, lose_pve2
    backend.close()


def test_a_guest_migrated_off_a_host_that_then_stops_answering_is_one_guest(
        losing, monkeypatch):
    # The lab's failure: a live migration pve2 -> pve1 succeeds, pve2's libvirtd (slow on
    # a loaded machine) is marked lost meanwhile, and its last reading, from before the
    # migration, still had the guest.
    import libvirt

    backend, lose_pve2 = losing

    def migrate3(dom, dconn, _params, _flags=0):
        # the test driver has no migration: what --live --persistent --undefinesource does
        moved = dconn.defineXML(dom.XMLDesc(0))
        moved.create()
        dom.destroy()
        dom.undefine()
        lose_pve2()
        return moved

    monkeypatch.setattr(libvirt.virDomain, "migrate3", migrate3)
    app = next(g for g in backend.inventory().guests if g.name == "app2")
    assert (app.id, app.node) == (f"vm/{APP2}", "pve2")
    task = wait(backend, backend.migrate(app.id, "pve1", MigrationMode.LIVE))
    assert task.status is TaskStatus.OK, task.error
    inv = backend.inventory()
    assert inv.node("pve2").status is NodeStatus.OFFLINE
    assert [(g.id, g.node, g.status, g.duplicate) for g in inv.guests
            if g.name == "app2"] == [(app.id, "pve1", GuestStatus.RUNNING, None)]


def test_a_guest_deleted_on_a_host_that_then_stops_answering_stays_gone(
        losing, monkeypatch):
    import libvirt

    backend, lose_pve2 = losing
    app_id = next(g.id for g in backend.inventory().guests if g.name == "app2")
    assert wait(backend, backend.stop(app_id)).status is TaskStatus.OK
    assert backend.inventory().guest(app_id).status is GuestStatus.STOPPED
    undefine = libvirt.virDomain.undefineFlags

    def undefine_then_lose(dom, flags=0):
        undefine(dom, flags)
        lose_pve2()
        return 0

    monkeypatch.setattr(libvirt.virDomain, "undefineFlags", undefine_then_lose)
    task = wait(backend, backend.undefine(app_id, remove_storage=False))
    assert task.status is TaskStatus.OK, task.error
    inv = backend.inventory()
    assert inv.node("pve2").status is NodeStatus.OFFLINE
    assert [g.id for g in inv.guests if g.name == "app2"] == []
