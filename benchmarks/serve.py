"""SSH server figures: time to first screen, memory and CPU per session, at 1, 10 and 30
concurrent sessions, as `name: value` lines.

    python benchmarks/serve.py [--sessions 1,10,30] [--steady 5]

Runs `vmconsole serve` on the demo lab as a process of its own (so its CPU and memory
are the server's alone) on a free loopback port, and connects the sessions from here
with asyncssh, each on an 80x24 PTY.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import asyncssh

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_mb(pid: int) -> float:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 2**20


async def start_server(tmp: Path, key: asyncssh.SSHKey,
                       max_sessions: int) -> tuple[asyncio.subprocess.Process, int]:
    keys = tmp / "authorized_keys"
    keys.write_text(key.export_public_key().decode())
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "vmconsole", "serve", "--listen", "127.0.0.1:0",
        "--authorized-keys", str(keys), "--max-sessions", str(max_sessions),
        cwd=ROOT, stderr=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT), "XDG_STATE_HOME": str(tmp),
             "XDG_CONFIG_HOME": str(tmp)})
    assert process.stderr is not None
    async with asyncio.timeout(60):
        while True:
            line = (await process.stderr.readline()).decode()
            if not line:
                raise SystemExit("vmconsole serve ended before listening")
            if match := re.search(r"listening on 127\.0\.0\.1:(\d+)", line):
                return process, int(match[1])


class Viewer:
    """One session that reads everything the console sends, noting the first screen."""

    def __init__(self) -> None:
        self.first_screen: float | None = None
        self.conn: asyncssh.SSHClientConnection | None = None
        self.reader: asyncio.Task[None] | None = None

    async def open(self, port: int, key: asyncssh.SSHKey, user: str) -> None:
        started = time.perf_counter()
        self.conn = await asyncssh.connect("127.0.0.1", port, username=user,
                                           client_keys=[key], known_hosts=None,
                                           agent_path=None)
        process = await self.conn.create_process(term_type="xterm-256color",
                                                 term_size=(80, 24), encoding=None)
        seen = asyncio.Event()

        async def read() -> None:
            tail = b""
            while data := await process.stdout.read(65536):
                if self.first_screen is None and b"pve1" in tail + data:
                    self.first_screen = time.perf_counter() - started
                    seen.set()
                tail = data[-8:]

        self.reader = asyncio.get_running_loop().create_task(read())
        await asyncio.wait_for(seen.wait(), 120)

    async def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            await self.conn.wait_closed()
        if self.reader is not None:
            await asyncio.wait_for(self.reader, 10)


async def measure(sessions: list[int], steady: float) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    with tempfile.TemporaryDirectory() as tmp:
        server, port = await start_server(Path(tmp), key, max(sessions))
        try:
            await asyncio.sleep(2.0)  # imports done, a few polls in
            idle_cpu = cpu_seconds(server.pid)
            await asyncio.sleep(steady)
            idle_cpu_pct = 100 * (cpu_seconds(server.pid) - idle_cpu) / steady
            idle_rss = rss_mb(server.pid)
            print(f"server_rss_idle_mb: {idle_rss:.1f}")
            print(f"server_cpu_idle_pct: {idle_cpu_pct:.1f}")
            for count in sessions:
                viewers = [Viewer() for _ in range(count)]
                started = time.perf_counter()
                await asyncio.gather(*(v.open(port, key, f"s{i}")
                                       for i, v in enumerate(viewers)))
                all_up = time.perf_counter() - started
                firsts = [v.first_screen for v in viewers if v.first_screen is not None]
                await asyncio.sleep(1.0)
                cpu0 = cpu_seconds(server.pid)
                await asyncio.sleep(steady)
                cpu_pct = 100 * (cpu_seconds(server.pid) - cpu0) / steady
                rss = rss_mb(server.pid)
                print(f"sessions_{count}_first_screen_median_s: {statistics.median(firsts):.3f}")
                print(f"sessions_{count}_first_screen_max_s: {max(firsts):.3f}")
                print(f"sessions_{count}_all_connected_s: {all_up:.3f}")
                print(f"sessions_{count}_server_rss_mb: {rss:.1f}")
                print(f"sessions_{count}_rss_per_session_mb: {(rss - idle_rss) / count:.2f}")
                print(f"sessions_{count}_server_cpu_pct: {cpu_pct:.1f}")
                print(f"sessions_{count}_cpu_per_session_pct: "
                      f"{(cpu_pct - idle_cpu_pct) / count:.2f}")
                await asyncio.gather(*(v.close() for v in viewers))
                await asyncio.sleep(2.0)  # the server ends the consoles
        finally:
            server.terminate()
            await asyncio.wait_for(server.wait(), 30)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sessions", default="1,10,30",
                        help="comma-separated session counts (default 1,10,30)")
    parser.add_argument("--steady", type=float, default=5.0,
                        help="seconds of CPU measurement with the sessions open")
    args = parser.parse_args()
    asyncio.run(measure([int(n) for n in args.sessions.split(",")], args.steady))


if __name__ == "__main__":
    main()
