"""In the console: the healthy host shows at once beside a hung one, and the detail
pane of a down host shows its URI, libvirt's own error, since when and the next try."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("libvirt", reason="libvirt-python is not installed")

from textual.widgets import Static

from tests.ui_ops.helpers import detail_rows, live_console, tree_label, wait_until
from vmconsole.backends.libvirt import open_libvirt
from vmconsole.config import LibvirtCluster
from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef

from .conftest import PVE1

TIMEOUT = 5.0


async def test_a_down_host_says_where_why_since_and_next_try(refusing, silent):
    backend = open_libvirt(LibvirtCluster("kvm", (PVE1, refusing, silent), timeout=TIMEOUT))
    down, hung = refusing.split("/")[2], silent.split("/")[2]
    async with live_console(backend) as pilot:
        app = pilot.app
        tree = app.query_one(ClusterTree)
        first = await wait_until(pilot, lambda: tree.select_ref(TreeRef("kvm", "node/pve1")),
                                 TIMEOUT, "the healthy host in the tree")
        assert first < TIMEOUT / 2, "the healthy host waited for the hung one"
        assert tree.select_ref(TreeRef("kvm", f"node/{hung}"))
        await wait_until(pilot, lambda: "Connecting" in detail_rows(app), 2,
                         "hung: connecting")
        assert detail_rows(app)["Address"] == silent
        assert tree_label(app, hung) == f"○ {hung} connecting…"
        assert tree.select_ref(TreeRef("kvm", f"node/{down}"))
        await wait_until(pilot, lambda: "Connection refused" in detail_rows(app).get(
            "Error", ""), 2, "down: why")
        shown = detail_rows(app)
        assert tree_label(app, down) == f"○ {down} unreachable"
        assert shown["Status"] == "unreachable" and shown["Address"] == refusing
        assert "CPU" not in shown and "Memory" not in shown  # unknown, not zero
        assert shown["Error"].startswith("unable to connect to server at '127.0.0.1:")
        assert re.fullmatch(r"\d\d:\d\d:\d\d \((\d+(\.\d)?s|\d+m \d\ds) ago\)",
                            shown["Since"])
        assert re.fullmatch(r"\d\d:\d\d:\d\d \(in .+\)|at the next poll",
                            shown["Next try"])
        assert tree.select_ref(TreeRef("kvm", f"node/{hung}"))
        await wait_until(pilot, lambda: detail_rows(app).get("Error") == "no answer within "
                         "5 s", TIMEOUT * 3, "hung: unreachable after its timeout")
        assert detail_rows(app)["Next try"] == "when the attempt under way ends"
        assert tree_label(app, hung) == f"○ {hung} unreachable"
        assert tree.select_ref(TreeRef("kvm"))  # the cluster: each down host and why
        await wait_until(pilot, lambda: f"Node {hung}" in detail_rows(app), 2, "cluster")
        shown = detail_rows(app)
        assert shown[f"Node {hung}"] == "unreachable: no answer within 5 s"
        assert shown[f"Node {down}"].startswith("unreachable: unable to connect to server")
        assert shown["Nodes"] == "1 online of 3"


async def test_a_long_host_name_leaves_the_cluster_facts_in_two_columns():
    """At 80x24 a down host of a 60-character name gets its own lines in the cluster's
    facts, and every other fact stays a key and its value on one line."""
    name = "rack42-" + "h" * 53
    backend = open_libvirt(LibvirtCluster(
        "kvm", (PVE1, f"test:///nonexistent/{name}.xml"), timeout=TIMEOUT))
    async with live_console(backend, size=(80, 24)) as pilot:
        app = pilot.app
        tree = app.query_one(ClusterTree)
        await wait_until(pilot, lambda: tree.select_ref(TreeRef("kvm", "node/pve1")),
                         TIMEOUT, "the healthy host in the tree")
        assert tree.select_ref(TreeRef("kvm"))

        def facts() -> list[str]:
            return app.query_one("#facts", Static).content.plain.splitlines()

        await wait_until(pilot, lambda: any(line.startswith("rack42-")
                                            for line in facts()),
                         TIMEOUT * 2, "the down host in the cluster's facts")
        lines = facts()
        assert re.fullmatch(r"Cluster\s{2,}kvm", lines[0])
        assert any(re.fullmatch(r"Nodes\s{2,}1 online of 2", line) for line in lines)
        # "Node" and the name, wrapped at the pane's width between words
        at = next(i for i, line in enumerate(lines) if line.startswith("rack42-")) - 1
        value = next(i for i in range(at, len(lines)) if lines[i].startswith(" "))
        assert lines[at] == "Node" and "".join(lines[at + 1:value]) == name
        assert lines[value].lstrip().startswith("unreachable: ")
