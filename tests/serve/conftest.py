"""A server on a free loopback port, over the simulated lab, with keys made in tmp dirs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import pytest

from vmconsole.backends.sim import open_sim
from vmconsole.config import SimCluster
from vmconsole.monitor.poller import Poller, PollLoop
from vmconsole.serve.keys import load_or_create_host_key
from vmconsole.serve.limits import Limits
from vmconsole.serve.server import ConsoleServer, ServeSettings

ROLES = {"viewer": None, "operator": "operator", "admin": "admin"}


@dataclass
class Keys:
    host: asyncssh.SSHKey
    authorized: Path
    clients: dict[str, asyncssh.SSHKey]  # by role name
    stranger: asyncssh.SSHKey  # not in the authorized keys


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    host = load_or_create_host_key(tmp_path / "host_key")
    clients = {role: asyncssh.generate_private_key("ssh-ed25519") for role in ROLES}
    lines = []
    for role, key in clients.items():
        option = f'environment="VMCONSOLE_ROLE={ROLES[role]}" ' if ROLES[role] else ""
        lines.append(option + key.export_public_key().decode().strip())
    authorized = tmp_path / "authorized_keys"
    authorized.write_text("\n".join(lines) + "\n")
    return Keys(host, authorized, clients, asyncssh.generate_private_key("ssh-ed25519"))


@pytest.fixture
def lab_loop() -> Iterator[PollLoop]:
    loop = PollLoop(Poller(open_sim(SimCluster()), interval=0.5))
    loop.start()
    yield loop
    loop.stop(timeout=2.0)
    loop.backend.close()


@pytest.fixture
def limits() -> Limits:
    return Limits()


@dataclass
class Running:
    server: ConsoleServer
    host: str
    port: int
    keys: Keys

    async def connect(self, role: str = "viewer", username: str = "alice",
                      key: asyncssh.SSHKey | None = None,
                      **options: object) -> asyncssh.SSHClientConnection:
        options.setdefault("known_hosts", None)
        return await asyncssh.connect(
            self.host, self.port, username=username,
            client_keys=[key or self.keys.clients[role]], agent_path=None, **options)


@pytest.fixture
def warm_sessions() -> int:
    """Viewers' consoles the server keeps drawn ahead of logins (serve/pool.py)."""
    return 0


@pytest.fixture
async def served(keys: Keys, lab_loop: PollLoop, limits: Limits,
                 warm_sessions: int) -> AsyncIterator[Running]:
    server = ConsoleServer([lab_loop], ServeSettings(keys.host, keys.authorized,
                                                     limits=limits,
                                                     warm_sessions=warm_sessions))
    host, port = await server.start("127.0.0.1", 0)
    yield Running(server, host, port, keys)
    await server.stop(timeout=10.0)
