"""Tasks run in the background, lock their guest, and end with libvirt's words."""

import threading
import time

import pytest

pytest.importorskip("libvirt", reason="libvirt-python is not installed")

from vmconsole.backends.base import BackendError, Conflict, TaskStatus
from vmconsole.backends.libvirt.tasks import TaskBook


def finished(book, task_id, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (task := book.get(task_id)).status.done:
            return task
        time.sleep(0.01)
    raise AssertionError("task did not finish")


def test_a_running_task_locks_its_guest_until_it_ends():
    book = TaskBook()
    release = threading.Event()

    def slow(ctx):
        ctx.log("copying")
        ctx.progress(0.5)
        release.wait(5)
        ctx.result["new_id"] = "vm/x"

    first = book.run("clone", "vm/a", "pve1", slow, lock=("vm/a",))
    assert book.locks().get("vm/a") == "clone"
    with pytest.raises(Conflict, match=rf"vm/a is locked by a running clone task \({first.id}"):
        book.run("start", "vm/a", "pve1", lambda ctx: None, lock=("vm/a",))
    assert book.get(first.id).progress == 0.5 and book.get(first.id).log == ("copying",)
    release.set()
    done = finished(book, first.id)
    assert (done.status, done.result, done.progress) == (TaskStatus.OK, {"new_id": "vm/x"}, 1.0)
    assert done.duration is not None and "vm/a" not in book.locks()
    assert [t.id for t in book.all()] == [first.id]


def test_a_failing_task_keeps_the_backends_words():
    book = TaskBook()

    def fails(ctx):
        raise BackendError("migrating vm1 to pve2: Unsafe migration: Migration without shared "
                           "storage is unsafe; vm1 stays on pve1")

    task = finished(book, book.run("migrate", "vm/a", "pve1", fails, lock=("vm/a",)).id)
    assert task.status is TaskStatus.ERROR
    assert task.error.endswith("Migration without shared storage is unsafe; vm1 stays on pve1")
    assert task.log[-1] == f"ERROR: {task.error}"
