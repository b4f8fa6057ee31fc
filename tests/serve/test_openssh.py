"""The console through OpenSSH's own client in a real terminal (tmux): what most users run."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.serve.conftest import Running

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(not (shutil.which("ssh") and shutil.which("tmux")),
                       reason="needs OpenSSH's ssh and tmux"),
]


class Tmux:
    def __init__(self, socket: Path) -> None:
        self.base = ["tmux", "-S", str(socket)]

    def __call__(self, *args: str) -> str:
        return subprocess.run([*self.base, *args], check=True, capture_output=True,
                              text=True, timeout=10).stdout

    async def wait_until(self, condition: Callable[[list[str]], bool], what: str,
                         timeout: float = 20) -> str:
        deadline = asyncio.get_running_loop().time() + timeout
        while not condition((screen := self("capture-pane", "-p")).splitlines()):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {what}:\n{screen}")
            await asyncio.sleep(0.1)
        return screen

    async def wait_for(self, text: str) -> str:
        return await self.wait_until(lambda lines: text in "\n".join(lines), repr(text))


async def test_openssh_in_tmux_gets_a_console_that_follows_the_window(
        served: Running, tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    served.keys.clients["operator"].write_private_key(key)
    key.chmod(0o600)
    known = tmp_path / "known_hosts"
    known.write_text(f"[{served.host}]:{served.port} "
                     + served.keys.host.export_public_key().decode())
    ssh = (f"ssh -F none -p {served.port} -i {key} -o IdentitiesOnly=yes -o BatchMode=yes "
           f"-o UserKnownHostsFile={known} -o StrictHostKeyChecking=yes dana@{served.host}")
    tmux = Tmux(tmp_path / "tmux.sock")
    tmux("new-session", "-d", "-x", "100", "-y", "30", "-e", "TERM=xterm-256color",
         ssh)
    try:
        screen = await tmux.wait_for("pve1")
        assert "dana (operator)" in screen.splitlines()[0]
        tmux("send-keys", "?")
        await tmux.wait_for("Id (for")
        tmux("send-keys", "Escape")
        await tmux.wait_until(lambda lines: "Id (for" not in "\n".join(lines), "help closed")
        tmux("resize-window", "-x", "70", "-y", "20")
        await tmux.wait_until(lambda lines: len(lines) == 20
                              and lines[19].rstrip().endswith("palette"), "the footer on row 20")
        tmux("send-keys", "q")
        async with asyncio.timeout(10):
            while served.server.sessions:
                await asyncio.sleep(0.1)
    finally:
        subprocess.run([*tmux.base, "kill-server"], capture_output=True, timeout=10)
