"""A Proxmox cluster whose API is down says where, why, since when and when the next
try is, in the cluster's detail pane: one never reached (nothing listens on its port)
and one that stops answering (fakepve's network slowed past the timeout)."""

from __future__ import annotations

import re
import socket

from tests.ui_ops.helpers import detail_rows, live_console, wait_until
from vmconsole.backends.proxmox import open_proxmox
from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef

from .conftest import cluster_config

MOMENT = r"\d\d:\d\d:\d\d \((\d+(\.\d)?s|\d+m \d\ds) ago\)"
LATER = r"\d\d:\d\d:\d\d \(in .+\)"


def closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


async def show_cluster(pilot) -> None:
    tree = pilot.app.query_one(ClusterTree)
    await wait_until(pilot, lambda: tree.select_ref(TreeRef("lab")), 10, "the cluster")


async def test_an_api_never_reached_says_where_why_since_and_next_try(fakepve):
    port = closed_port()
    backend = open_proxmox(cluster_config(fakepve, port=port, timeout=1.0))
    async with live_console(backend) as pilot:
        await show_cluster(pilot)
        await wait_until(pilot, lambda: "Error" in detail_rows(pilot.app), 10, "why")
        rows = detail_rows(pilot.app)
        assert rows["Unreachable"] == "no poll has succeeded yet"
        assert rows["Address"] == f"https://127.0.0.1:{port}/api2/json"
        assert "Connection refused" in rows["Error"]
        assert re.fullmatch(MOMENT, rows["Since"]), rows["Since"]
        assert re.fullmatch(LATER, rows["Next try"]), rows["Next try"]


async def test_an_api_that_stops_answering_says_so_and_recovers(fakepve, connect):
    fakepve.set(time_scale=1.0)
    async with live_console(connect(timeout=0.5)) as pilot:
        app = pilot.app
        await show_cluster(pilot)
        await wait_until(pilot, lambda: "Quorum" in detail_rows(app), 10, "a first poll")
        assert "Error" not in detail_rows(app)
        fakepve.call("slow_network", 3.0)
        await wait_until(pilot, lambda: "Error" in detail_rows(app), 10, "the failure")
        rows = detail_rows(app)
        assert rows["Address"] == f"https://{fakepve.host}:{fakepve.port}/api2/json"
        assert "no answer within 0.5 s" in rows["Error"]
        assert re.fullmatch(MOMENT, rows["Since"]) and re.fullmatch(LATER, rows["Next try"])
        assert "Quorum" in rows  # the last inventory is still shown beside why
        fakepve.call("slow_network", 0.0)
        await wait_until(pilot, lambda: "Error" not in detail_rows(app), 40, "recovery")
