"""`C` in a served SSH session (`vmconsole serve`) on a Proxmox VM with `serial0: socket`:
the session's process opens the console itself (a stream does not fit the server's call
socket), and the user at the other end of SSH types into it and reads the guest's
output, drawn by the console; the detach key brings the tree back, and the server's
audit log has the start and the end."""

from __future__ import annotations

import re

import asyncssh
import pytest

from tests.serve.conftest import Keys, keys  # noqa: F401  (the fixture)
from tests.serve.terminal import open_terminal
from vmconsole.backends.proxmox import open_proxmox
from vmconsole.monitor.poller import Poller, PollLoop
from vmconsole.serve.server import ConsoleServer, ServeSettings

from .conftest import cluster_config
from .test_serial_console import serial_lab  # noqa: F401  (the fixture)

pytestmark = pytest.mark.timeout(120)


async def test_a_served_operator_types_into_the_console(serial_lab, keys: Keys):  # noqa: F811
    loop = PollLoop(Poller(open_proxmox(cluster_config(serial_lab)), interval=0.5))
    loop.start()
    server = ConsoleServer([loop], ServeSettings(keys.host, keys.authorized))
    try:
        host, port = await server.start("127.0.0.1", 0)
        async with asyncssh.connect(host, port, username="sam", agent_path=None,
                                    client_keys=[keys.clients["operator"]],
                                    known_hosts=None) as conn:
            term = await open_terminal(conn, 120, 30)
            await term.wait_for("100 web")
            term.press("jj")  # the cluster, pve1, then web
            await term.wait_until(lambda t: re.search(r"│ Name +web ", t.row(2)) is not None,
                                  what="web's details")
            term.press("C")
            await term.wait_until(lambda t: "Serial console: web" in t.text
                                  and "connected" in t.text, 20, "the console open")
            await term.wait_for("starting serial terminal on interface serial0")
            term.press("echo served\r")
            await term.wait_for("echo served")
            term.press("\x1d")  # Ctrl+]
            await term.wait_until(lambda t: "Serial console" not in t.text
                                  and "100 web" in t.text, 10, "the tree again")
        records = []
        for _ in range(100):
            records = [r for r in server.settings.audit.read() if r.operation == "console"]
            if len(records) == 2:
                break
            await term.settle(0.1)
        start, end = records
        assert (start.user, start.role, start.result) == ("sam", "operator", "started")
        assert start.source.startswith("ssh:127.0.0.1:")
        assert end.result == "ended: detached"
    finally:
        await server.stop(timeout=10.0)
        loop.stop(timeout=2.0)
        loop.backend.close()

