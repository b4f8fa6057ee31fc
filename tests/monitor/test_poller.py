"""The poll step and loop, against a small in-test backend whose answers we control
(the simulator's own behaviour is tested in tests/sim)."""

import threading
import time
from dataclasses import replace

import pytest

from vmconsole.backends.abilities import ClusterEvent
from vmconsole.backends.base import Capabilities, Unreachable
from vmconsole.model import Guest, GuestKind, GuestStatus, Inventory, Metrics, Node, NodeStatus
from vmconsole.monitor.history import MetricHistory
from vmconsole.monitor.poller import Poller, PollLoop
from vmconsole.ui.labels import label_key


class ScriptedBackend:
    """Answers inventory() from a list; an exception in the list is raised."""

    name = "c1"
    capabilities = Capabilities()

    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = 0
        self._events = [ClusterEvent(1, 0.0, "x", "first"), ClusterEvent(2, 1.0, "y", "second")]

    def inventory(self):
        self.calls += 1
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def tasks(self):
        return []

    def events(self, since=0):
        return [e for e in self._events if e.seq > since]


def inv(t: float, cpu: float = 0.1, status=GuestStatus.RUNNING) -> Inventory:
    node = Node("pve1", NodeStatus.ONLINE, 4, 1 << 30, Metrics(cpu=cpu))
    guest = Guest("qemu/100", "web", GuestKind.VM, "pve1", status, vmid=100, maxmem=1 << 30,
                  metrics=Metrics(cpu=cpu, mem=1 << 29))
    return Inventory("c1", (node,), (guest,), taken_at=t)


def test_first_poll_adds_everything_then_diffs():
    poller = Poller(ScriptedBackend([inv(1), inv(2, cpu=0.5), inv(3, status=GuestStatus.STOPPED)]),
                    label_key=label_key)
    first = poller.poll()
    assert set(first.diff.added) == {"node/pve1", "qemu/100"}
    assert [e.message for e in first.events] == ["first", "second"]
    second = poller.poll()
    assert second.diff.changed and not second.diff.relabelled and second.events == ()
    third = poller.poll()
    assert third.diff.relabelled == ("qemu/100",)
    assert [s.cpu for s in poller.samples("qemu/100")] == pytest.approx([0.1, 0.5, 0.1])


def test_failure_keeps_last_inventory_and_backs_off():
    backend = ScriptedBackend([inv(1), Unreachable("pve1: timed out"), Unreachable("again"),
                               inv(4)])
    poller = Poller(backend, interval=2.0, max_interval=30.0)
    good = poller.poll()
    bad = poller.poll()
    assert not bad.ok and bad.error == "pve1: timed out" and bad.inventory is good.inventory
    assert bad.next_delay == 4.0
    assert poller.poll().next_delay == 8.0
    recovered = poller.poll()
    assert recovered.ok and recovered.next_delay == 2.0


def test_a_poll_that_hits_a_bug_says_since_when_and_when_the_next_try_is(caplog):
    backend = ScriptedBackend([KeyError("name")])
    loop = PollLoop(Poller(backend, interval=2.0, max_interval=30.0))
    results = []
    got_one = threading.Event()

    def on_result(result):
        results.append(result)
        got_one.set()

    loop.subscribe(on_result)
    before = time.time()
    loop.start()
    try:
        assert got_one.wait(5), "no poll result"
    finally:
        loop.stop()
    failed = results[0]
    assert failed.error == "internal error while polling (see the log)"
    # The detail pane's "Next try" is this moment: the loop waits max_interval.
    assert failed.next_delay == 30.0 and failed.failing_since >= before
    assert failed.next_try == pytest.approx(time.time() + 30.0, abs=5.0)
    assert "KeyError" in caplog.text


def history_of(answers: list[Inventory], capacity: int) -> tuple[Poller, MetricHistory]:
    """A poller of `answers` and the history it records: the history is written from
    the poll's diff, as it only ever is."""
    history = MetricHistory(capacity)
    return Poller(ScriptedBackend(answers), history=history), history


def polled(poller: Poller, times: int) -> None:
    for _ in range(times):
        assert poller.poll().ok


def test_history_ring_keeps_the_last_polls_and_blanks_missed_ones():
    gone = Inventory("c1", inv(0).nodes, (), taken_at=6)
    poller, history = history_of([*(inv(t, cpu=t / 10) for t in range(6)), gone,
                                  inv(7, cpu=0.7)], capacity=4)
    polled(poller, 6)
    assert [s.time for s in history.samples("qemu/100")] == [2, 3, 4, 5]
    polled(poller, 2)
    assert [s.time for s in history.samples("qemu/100")] == [4, 5, 7]
    assert history.samples("nope") == []


def test_history_of_a_reused_entry_and_of_a_row_given_to_a_new_guest():
    first = inv(1, cpu=0.2)
    nodes_only = inv(0).nodes
    newcomer = replace(inv(7, cpu=0.9).guests[0], id="qemu/200", metrics=Metrics(cpu=0.9))
    poller, history = history_of([
        first,
        # The simulator reuses an unchanged guest's entry: the very object, a new moment.
        Inventory("c1", inv(2, cpu=0.3).nodes, first.guests, taken_at=2),
        # the guest gone long enough to be forgotten
        *(Inventory("c1", nodes_only, (), taken_at=t) for t in range(3, 7)),
        Inventory("c1", nodes_only, (newcomer,), taken_at=7)], capacity=3)
    polled(poller, 2)
    assert [(s.time, round(s.cpu, 3)) for s in history.samples("qemu/100")] == [
        (1, 0.2), (2, 0.2)]
    assert [s.cpu for s in history.samples("node/pve1")] == pytest.approx([0.2, 0.3])
    polled(poller, 4)
    assert "qemu/100" not in history
    polled(poller, 1)
    # Its row held qemu/100's figures in older slots: none of them is the newcomer's.
    assert [(s.time, round(s.cpu, 3)) for s in history.samples("qemu/200")] == [(7, 0.9)]


@pytest.mark.parametrize("mem", [10**40, 10**400, -10**40], ids=["1e40", "1e400", "-1e40"])
def test_history_leaves_out_a_poll_whose_figure_it_cannot_hold(mem):
    # float32 holds up to ~3.4e38 (beyond is inf) and a double ~1.8e308: the reader
    # turned inf into an int and died when the cursor reached the guest.
    answers = []
    for t, figure in ((1, 1 << 29), (2, mem), (3, 1 << 28)):
        poll = inv(t, cpu=0.2)
        guest = replace(poll.guests[0], metrics=Metrics(cpu=0.2, mem=figure))
        answers.append(Inventory("c1", poll.nodes, (guest,), taken_at=t))
    poller, history = history_of(answers, capacity=4)
    polled(poller, 3)
    assert [(s.time, s.mem) for s in history.samples("qemu/100")] == [
        (1, 1 << 29), (3, 1 << 28)]
    assert [s.time for s in history.samples("node/pve1")] == [1, 2, 3]


def test_history_of_the_first_poll_gives_each_object_its_own_figures():
    # The first poll's slot is built in one go; a guest of the second poll gets a row
    # after them. Each must read back its own figures, memory and maxmem.
    node = inv(0).nodes[0]
    guests = tuple(Guest(f"qemu/{100 + i}", f"vm{i}", GuestKind.VM, "pve1",
                         GuestStatus.RUNNING, maxmem=(i + 1) * 2**30,
                         metrics=Metrics(cpu=i / 10, mem=i * 2**20, net_in=i))
                   for i in range(5))
    poller, history = history_of([Inventory("c1", (node,), guests[:4], taken_at=1),
                                  Inventory("c1", (node,), guests, taken_at=2)], capacity=3)
    polled(poller, 2)
    for i, guest in enumerate(guests):
        samples = history.samples(guest.id)
        assert [s.time for s in samples] == ([1, 2] if i < 4 else [2])
        assert all((round(s.cpu, 3), s.mem, s.maxmem, s.net_in) == (
            i / 10, i * 2**20, (i + 1) * 2**30, i) for s in samples)


def test_history_written_from_the_polls_diff_holds_every_polls_figures():
    # The poller writes only the rows its diff names; every poll's figures must read
    # back all the same, through a change, an equal copy (not the very object), a guest
    # gone and back, and a newcomer.
    first = inv(1, cpu=0.2)
    node = first.nodes[0]
    other = replace(first.guests[0], id="qemu/200", metrics=Metrics(cpu=0.6))
    answers = [
        first,
        Inventory("c1", (node,), first.guests, taken_at=2),  # the very objects
        Inventory("c1", (node,), (replace(first.guests[0]),), taken_at=3),  # equal copy
        inv(4, cpu=0.4),  # its figures change
        Inventory("c1", (node,), (), taken_at=5),  # gone
        Inventory("c1", (node,), (inv(6, cpu=0.5).guests[0], other), taken_at=6),
        Inventory("c1", (node,), (other,), taken_at=7),
    ]
    poller, _ = history_of(answers, capacity=5)
    polled(poller, len(answers))

    def figures(object_id: str) -> list[tuple[float, float]]:
        return [(s.time, round(s.cpu, 3)) for s in poller.samples(object_id)]

    assert figures("qemu/100") == [(3, 0.2), (4, 0.4), (6, 0.5)]
    assert figures("qemu/200") == [(6, 0.6), (7, 0.6)]
    assert figures("node/pve1") == [(3, 0.2), (4, 0.4), (5, 0.2), (6, 0.2), (7, 0.2)]


def test_loop_notifies_subscribers_and_refreshes_on_demand():
    backend = ScriptedBackend([inv(1)])
    loop = PollLoop(Poller(backend, interval=60.0))
    seen = []
    got_two = threading.Event()

    def on_result(result):
        seen.append(result.seq)
        if len(seen) >= 2:
            got_two.set()

    loop.subscribe(on_result)
    loop.start()
    try:
        loop.refresh_soon()
        assert got_two.wait(5), "refresh_soon did not cut the 60 s interval short"
    finally:
        loop.stop()
    assert seen[:2] == [1, 2]
    late = []
    loop.subscribe(late.append)
    assert late and late[0].seq == loop.latest.seq


def test_a_backend_that_hears_of_changes_triggers_a_poll():
    backend = ScriptedBackend([inv(1)])
    hooks = []
    backend.set_change_callback = hooks.append
    loop = PollLoop(Poller(backend, interval=60.0))
    polled = threading.Event()
    loop.subscribe(lambda r: polled.set() if r.seq >= 2 else None)
    loop.start()
    try:
        assert hooks and hooks[0] == loop.refresh_soon
        hooks[0]()  # what the libvirt event thread does on a lifecycle event
        assert polled.wait(5), "an event did not cut the 60 s interval short"
    finally:
        loop.stop()
    assert hooks[-1] is None


def test_a_first_poll_made_before_start_is_there_at_once_and_the_loop_waits_its_interval():
    backend = ScriptedBackend([inv(1)])
    loop = PollLoop(Poller(backend, interval=60.0))
    first = loop.poll_first()
    assert (first.seq, first.ok, backend.calls) == (1, True, 1)
    seen = []
    loop.subscribe(seen.append)  # a console's subscription gets it at once
    assert [r.seq for r in seen] == [1]
    loop.start()
    try:
        # The thread's first poll waits out the interval: a second poll now is asked for.
        time.sleep(0.2)
        assert backend.calls == 1
        polled = threading.Event()
        loop.subscribe(lambda r: polled.set() if r.seq >= 2 else None)
        loop.refresh_soon()
        assert polled.wait(5), "refresh_soon did not cut the first wait short"
    finally:
        started = time.monotonic()
        loop.stop()
    assert time.monotonic() - started < 5


def test_a_first_poll_that_hits_a_bug_is_a_failed_result_not_a_crash(caplog):
    backend = ScriptedBackend([ZeroDivisionError("a bug")])
    loop = PollLoop(Poller(backend, interval=60.0))
    first = loop.poll_first()
    assert not first.ok and first.error == "internal error while polling (see the log)"
    assert "poll of c1 failed" in caplog.text


def test_the_demo_is_polled_before_the_console_starts():
    from vmconsole.config import SimCluster
    from vmconsole.ui.launch import open_loops

    (loop,) = open_loops((SimCluster(),))
    try:
        assert loop.latest is not None and loop.latest.inventory is not None
        assert len(loop.latest.inventory.guests) == len(loop.backend.inventory().guests) > 0
    finally:
        loop.backend.close()
