"""The `fakepve` fixture: fakepve (PyPI, AGPL-3.0) in a separate process on 127.0.0.1.

One process serves the whole session; every test resets it to a fresh, seeded cluster
(a stop and a start on the same port, a few milliseconds), so tests do not share state.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from vmconsole.backends.proxmox import ProxmoxBackend, open_proxmox
from vmconsole.config import ProxmoxCluster

SERVER = Path(__file__).with_name("fakepve_server.py")
START_TIMEOUT = 30.0
REPLY_TIMEOUT = 15.0
TOKEN_USER = "vmconsole@pve!ci"
TOKEN_SECRET = "4f6d2c1e-0000-4000-8000-5ec2e7a11ce5"

# A three-node cluster with shared storage: a VM, a container, a template of each kind.
LAB = {
    "cluster": "lab",
    "nodes": ["pve1", "pve2", "pve3"],
    "storages": {"ceph": {"type": "rbd", "active": 1, "shared": 1, "content": "images,rootdir",
                          "pool": "rbd"}},
    "guests": [
        {"vmid": 100, "name": "web", "node": "pve1", "status": "running",
         "config": {"memory": 1024, "cores": 2, "scsi0": "ceph:vm-100-disk-0,size=8G",
                    "net0": "virtio=BC:24:11:00:01:00,bridge=vmbr0", "tags": "prod;web"}},
        {"vmid": 101, "name": "db", "node": "pve2", "status": "stopped",
         "config": {"memory": 2048, "scsi0": "local-lvm:vm-101-disk-0,size=16G"}},
        {"vmid": 9000, "name": "debian-tmpl", "node": "pve1", "template": True,
         "config": {"memory": 512, "scsi0": "ceph:base-9000-disk-0,size=4G", "template": 1,
                    "net0": "virtio=BC:24:11:00:90:00,bridge=vmbr0"}},
        {"vmid": 200, "type": "lxc", "name": "cache", "node": "pve1", "status": "running",
         "config": {"memory": 256, "rootfs": "ceph:vm-200-disk-0,size=4G"}},
        {"vmid": 201, "type": "lxc", "name": "dns", "node": "pve3", "status": "stopped",
         "config": {"memory": 128, "rootfs": "ceph:vm-201-disk-0,size=2G"}},
    ],
    "tokens": {TOKEN_USER: TOKEN_SECRET},
}


class FakePveProcess:
    """The fake in its child process, and the line protocol that steers it."""

    def __init__(self, pki: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(SERVER), "--pki", str(pki)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
        )
        hello = self._read(START_TIMEOUT)
        self.url: str = hello["url"]
        self.cafile: str = hello["cafile"]
        self.other_cafile: str = hello["other_cafile"]
        parts = urlsplit(self.url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 8006

    def _read(self, timeout: float) -> dict[str, Any]:
        # The child answers within milliseconds; a timer keeps a wedged one from hanging CI.
        assert self.proc.stdout is not None
        timer = threading.Timer(timeout, self.proc.kill)
        timer.start()
        try:
            line = self.proc.stdout.readline()
        finally:
            timer.cancel()
        if not line:
            raise RuntimeError(f"fakepve exited (code {self.proc.poll()})")
        data: dict[str, Any] = json.loads(line)
        return data

    def send(self, op: str, **fields: Any) -> Any:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op, **fields}) + "\n")
        self.proc.stdin.flush()
        reply = self._read(REPLY_TIMEOUT)
        if "error" in reply:
            raise RuntimeError(f"fakepve: {reply['error']}")
        return reply["ok"]

    # Shorthands for what the tests do most.
    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self.send("call", name=name, args=list(args), kwargs=kwargs)

    def set(self, guest: int | None = None, **attrs: Any) -> None:
        if guest is None:
            self.send("set", attrs=attrs)
        else:
            self.send("set", guest=guest, attrs=attrs)

    def guest(self, vmid: int) -> dict[str, Any] | None:
        result: dict[str, Any] | None = self.send("guest", vmid=vmid)
        return result

    def requests(self, method: str, suffix: str) -> list[dict[str, str]]:
        """Bodies of the recorded requests with this method whose path ends with suffix."""
        from urllib.parse import parse_qsl

        return [dict(parse_qsl(body)) for m, path, body in self.send("get", name="requests")
                if m == method and path.endswith(suffix)]

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="session")
def fakepve_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakePveProcess]:
    fake = FakePveProcess(tmp_path_factory.mktemp("fakepve-pki"))
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def fakepve(fakepve_process: FakePveProcess) -> FakePveProcess:
    """The fake, reset to the LAB cluster for this test."""
    fakepve_process.send("reset", seed=LAB)
    return fakepve_process


def cluster_config(fake: FakePveProcess, **overrides: Any) -> ProxmoxCluster:
    """A profile for the fake: token auth, verified against the fake's certificate."""
    settings: dict[str, Any] = dict(
        name="lab", host=fake.host, port=fake.port, user="vmconsole@pve", token_name="ci",
        token_secret=TOKEN_SECRET, ca_file=fake.cafile, timeout=3.0,
    )
    settings.update(overrides)
    return ProxmoxCluster(**settings)


@pytest.fixture
def connect(fakepve: FakePveProcess) -> Iterator[Callable[..., ProxmoxBackend]]:
    """Opens backends on the fake (profile overrides as keywords), closed after the test."""
    opened: list[ProxmoxBackend] = []

    def make(**overrides: Any) -> ProxmoxBackend:
        opened.append(open_proxmox(cluster_config(fakepve, **overrides)))
        return opened[-1]

    yield make
    for backend in opened:
        backend.close()


@pytest.fixture
def backend(connect: Callable[..., ProxmoxBackend]) -> ProxmoxBackend:
    return connect()
