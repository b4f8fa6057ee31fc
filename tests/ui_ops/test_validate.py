"""The checks forms make before they submit, with the reasons a user reads."""

from __future__ import annotations

import pytest

from vmconsole.backends.sim import open_sim
from vmconsole.config import SimCluster
from vmconsole.ui.modals import validate


@pytest.fixture(scope="module")
def inventory():
    return open_sim(SimCluster()).inventory()


@pytest.mark.parametrize(("name", "reason"), [
    ("web2", None),
    ("a", None),
    ("Web-2", None),
    ("", "a name is required"),
    ("-web", "no hyphen at either end"),
    ("web-", "no hyphen at either end"),
    ("web_2", "letters, digits and hyphens only"),
    ("web.example", "letters, digits and hyphens only"),
    ("x" * 64, "at most 63 characters"),
    ("web1", "a guest named 'web1' exists already"),
])
def test_guest_names_follow_dns_label_rules(inventory, name, reason):
    got = validate.guest_name(name, inventory)
    assert got == reason if reason is None else reason in (got or "")


@pytest.mark.parametrize(("text", "reason"), [
    ("104", None), ("999999999", None), ("99", "between 100 and 999999999"),
    ("1000000000", "between 100 and 999999999"), ("1e3", "a whole number"),
    ("", "a whole number"), ("100", "id 100 is taken"),
])
def test_vmids_are_whole_numbers_in_range_and_free(inventory, text, reason):
    got = validate.vmid(text, inventory)
    assert got == reason if reason is None else reason in (got or "")


@pytest.mark.parametrize(("name", "reason"), [
    ("before-upgrade", None), ("s1", None), ("1st", "starting with a letter"),
    ("a", "2-40"), ("current", "reserved"), ("pre", "exists already"),
])
def test_snapshot_names(name, reason):
    got = validate.snapshot_name(name, ["pre"])
    assert got == reason if reason is None else reason in (got or "")


def test_node_lists_must_name_cluster_nodes():
    assert validate.node_names("pve1, pve2", ["pve1", "pve2"]) is None
    assert validate.node_names("", ["pve1"]) is None
    assert validate.node_names("pve1,pve9", ["pve1"]) == "no node pve9 in this cluster"
    assert validate.split_names(" pve1, ,pve2 ") == ("pve1", "pve2")


def test_actions_hide_what_the_backend_cannot_do():
    from dataclasses import replace

    from vmconsole.backends.base import Capabilities
    from vmconsole.model import GuestStatus
    from vmconsole.ui.actions import Selection, applicable

    backend = open_sim(SimCluster())
    inventory = backend.inventory()
    web1 = next(g for g in inventory.guests if g.name == "web1")
    full = {a.name for a, _ in applicable(Selection("lab", web1, inventory,
                                                    backend.capabilities))}
    assert {"snapshots", "ha", "ha_remove", "template", "migrate"} <= full
    bare = Capabilities(templates=False, snapshots=False, ha=False, live_migration=False)
    offered = dict((a.name, why) for a, why in applicable(Selection("lab", web1, inventory,
                                                                    bare)))
    assert not {"snapshots", "ha", "ha_remove", "template", "create"} & set(offered)
    assert offered["migrate"] == "this backend cannot migrate a running VM live: shut it " \
                                 "down first"
    stopped = replace(web1, status=GuestStatus.STOPPED)
    offered = dict((a.name, why) for a, why in applicable(Selection("lab", stopped,
                                                                    inventory, bare)))
    assert offered["migrate"] is None and offered["start"] is None


def test_a_full_copy_must_fit_on_thick_storage():
    from vmconsole.model import Storage

    gib = 2**30
    san = Storage("storage/san", "san", "lvm", True, total=100 * gib, used=95 * gib)
    thin = Storage("storage/pve1/local-lvm", "local-lvm", "lvmthin", False,
                   total=100 * gib, used=95 * gib, node="pve1")
    assert validate.room_for(10 * gib, san) == \
        "not enough space on san: needs 10.0 GiB, 5.0 GiB free"
    assert validate.room_for(5 * gib, san) is None
    assert validate.room_for(10 * gib, thin) is None  # thin pools grow as written


async def test_keys_typed_in_one_burst_land_in_the_order_typed(console):
    """A paste or a fast typist over SSH: Backspace, Tab and the text after them arrive
    together, and each must act before the next (tests/serve/test_roles.py does the
    same over SSH)."""
    from textual import events

    from tests.ui_ops.helpers import act, on_guest, settle
    from vmconsole.ui.modals.snapshot_create import SnapshotCreateForm

    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        await act(pilot, "S")
        await act(pilot, "n")
        form = c.app.screen
        assert isinstance(form, SnapshotCreateForm)
        name, description = form.query_one("#name"), form.query_one("#description")
        burst = [*"pre-upgradx", "backspace", "e", "tab", *"ok"]
        for key in burst:
            c.app.post_message(events.Key(key, key if len(key) == 1 else None))
        await settle(pilot)
        assert (name.value, description.value) == ("pre-upgrade", "ok")
