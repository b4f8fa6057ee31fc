"""Names libvirt accepts are data in the console: a domain called `api [env=prod:eu]`
or `[bold]db` (markup to Rich and Textual) is shown as written in the tree, the detail
pane, the stop question, the migrate form and the snapshot panel, and the console keeps
running. (libvirt's XML cannot carry control characters; the simulator's test covers
those.)"""

from __future__ import annotations

import pytest

pytest.importorskip("libvirt", reason="libvirt-python is not installed")

from textual.widgets import Static

from tests.ui_ops.helpers import act, plain, show_guest, shown_text
from vmconsole.actor import Actor, Role
from vmconsole.config import LibvirtCluster
from vmconsole.monitor.poller import Poller, PollLoop
from vmconsole.ui.app import VMConsoleApp
from vmconsole.ui.modals.confirm import ConfirmScreen
from vmconsole.ui.modals.migrate import MigrateForm
from vmconsole.ui.modals.snapshots import SnapshotPanel
from vmconsole.ui.widgets.detail_pane import DetailPane

from .conftest import FIXTURES

# libvirt refuses a "/" in a name ("[/]db" is Proxmox's), so no unbalanced close here.
RENAMED = {"web1": "api [env=prod:eu]", "idle1": "[bold]db"}


@pytest.fixture
def hostile_cluster(tmp_path):
    from vmconsole.backends.libvirt import open_libvirt

    uris = []
    for host in ("pve1", "pve2"):
        xml = (FIXTURES / f"{host}.xml").read_text()
        for old, new in RENAMED.items():
            xml = xml.replace(f"<name>{old}</name>", f"<name>{new}</name>")
        path = tmp_path / f"{host}.xml"
        path.write_text(xml)
        uris.append(f"test://{path}")
    backend = open_libvirt(LibvirtCluster("kvm", tuple(uris), timeout=3.0))
    yield backend
    backend.close()


@pytest.mark.parametrize("name", list(RENAMED.values()))
async def test_a_domain_named_with_markup_is_shown_as_written(hostile_cluster, name,
                                                              tmp_path):
    from vmconsole.audit import AuditLog

    loop = PollLoop(Poller(hostile_cluster, interval=1.0))
    app = VMConsoleApp([loop], actor=Actor("alice", Role.ADMIN, "local"),
                       audit=AuditLog(tmp_path / "audit.jsonl"))
    async with app.run_test(size=(80, 24)) as pilot:
        guest = await show_guest(pilot, loop, name)
        facts = app.query_one(DetailPane).query_one("#facts", Static).visual
        assert name in plain(facts)
        assert name in shown_text(app)
        if guest.running:
            await act(pilot, "X")
            assert isinstance(app.screen, ConfirmScreen)
            assert name in shown_text(app) and app.is_running
            await act(pilot, "escape")
        await act(pilot, "m")
        assert isinstance(app.screen, MigrateForm)
        assert name in shown_text(app) and app.is_running
        await act(pilot, "escape")
        await act(pilot, "S")
        assert isinstance(app.screen, SnapshotPanel)
        assert name in shown_text(app) and app.is_running
        await act(pilot, "escape")
        assert app.is_running


@pytest.fixture
def wide_named_cluster(tmp_path):
    from vmconsole.backends.libvirt import open_libvirt

    xml = (FIXTURES / "pve1.xml").read_text()
    for old, new in WIDE.items():
        xml = xml.replace(f"<name>{old}</name>", f"<name>{new}</name>")
    path = tmp_path / "pve1.xml"
    path.write_text(xml)
    backend = open_libvirt(LibvirtCluster("kvm", (f"test://{path}",), timeout=3.0))
    yield backend
    backend.close()


# 18 CJK characters (36 cells), and 12 letters each with a combining acute (12 cells)
WIDE = {"web1": "宽字符" * 6, "db1": "combining " + "e\u0301" * 12}


async def test_wide_and_combining_names_wrap_under_their_value_column(wide_named_cluster):
    """The node's guest list is wrapped by cells, not characters: CJK names ran past the
    pane's edge and broke back to column 0, under the keys (a tester's finding)."""
    from rich.cells import cell_len

    from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef

    loop = PollLoop(Poller(wide_named_cluster, interval=1.0))
    app = VMConsoleApp([loop])
    async with app.run_test(size=(80, 24)) as pilot:
        await show_guest(pilot, loop, WIDE["web1"])
        assert app.query_one(ClusterTree).select_ref(TreeRef("kvm", "node/pve1"))
        await pilot.pause()
        facts = app.query_one(DetailPane).query_one("#facts", Static)
        lines = plain(facts.visual).splitlines()
        at = next(i for i, line in enumerate(lines) if line.startswith("Guests"))
        value_column = len(lines[at]) - len(lines[at].split("  ")[-1].lstrip())
        listed = lines[at + 1:]
        assert listed and all(line[:value_column].isspace() for line in listed), listed
        assert all(cell_len(line) <= facts.content_size.width for line in lines), lines
        joined = "".join(line.strip() for line in listed)
        assert WIDE["web1"] in joined and "e\u0301" * 12 in joined
