"""`model.records.fast_constructor`: a record made as a draft is the frozen record itself."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import FrozenInstanceError, dataclass

import pytest

from vmconsole.model import Guest, GuestKind, GuestStatus, Metrics, Node, NodeStatus
from vmconsole.model.records import fast_constructor

ARGS = ("qemu/100", "web1", GuestKind.VM, "pve1", GuestStatus.RUNNING, 100, False, 2,
        2 << 30, 10 << 30, 3 << 30, Metrics(0.25, 1 << 30, 1.0, 2.0, 3.0, 4.0), 3600.0)


def test_a_guest_made_as_a_draft_is_a_guest_equal_to_the_same_guest() -> None:
    made, plain = fast_constructor(Guest)(*ARGS, tags=("web",)), Guest(*ARGS, tags=("web",))
    assert type(made) is Guest and made == plain and hash(made) == hash(plain)
    assert repr(made) == repr(plain)
    assert pickle.loads(pickle.dumps(made)) == plain
    assert dataclasses.replace(made, name="web2") == Guest(*ARGS[:1], "web2", *ARGS[2:],
                                                           tags=("web",))
    assert made != fast_constructor(Guest)(*ARGS, tags=("db",))


def test_a_draft_made_record_refuses_changes_as_any_frozen_record() -> None:
    made = fast_constructor(Guest)(*ARGS)
    with pytest.raises(FrozenInstanceError):
        made.name = "other"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del made.node  # type: ignore[misc]
    assert made.name == "web1"


def test_defaults_and_default_factories_are_the_records_own() -> None:
    guest = fast_constructor(Guest)("lxc/200", "dns1", GuestKind.CT, "pve2",
                                    GuestStatus.STOPPED)
    assert guest == Guest("lxc/200", "dns1", GuestKind.CT, "pve2", GuestStatus.STOPPED)
    assert guest.metrics == Metrics() and guest.addresses == () and guest.vmid is None
    node = fast_constructor(Node)("pve1", NodeStatus.ONLINE, 8, 32 << 30)
    assert node == Node("pve1", NodeStatus.ONLINE, 8, 32 << 30)
    with pytest.raises(TypeError):
        fast_constructor(Guest)()  # type: ignore[call-arg]


def test_only_a_frozen_slots_dataclass_without_post_init_is_taken() -> None:
    @dataclass(slots=True)
    class Mutable:
        x: int

    @dataclass(frozen=True)
    class Unslotted:
        x: int

    @dataclass(frozen=True, slots=True)
    class Checked:
        x: int

        def __post_init__(self) -> None:
            if self.x < 0:
                raise ValueError(self.x)

    for cls in (Mutable, Unslotted, Checked):
        with pytest.raises(TypeError):
            fast_constructor(cls)
