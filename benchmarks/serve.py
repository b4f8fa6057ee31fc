"""SSH server figures, as `name: value` lines, each next to a baseline from the same run.

    python benchmarks/serve.py [--viewers 60] [--presses 40] [--steady 5] [--warm N]

Runs `vmconsole serve` on the demo lab as a process of its own, on a free loopback
port, and measures from SSH clients here (asyncssh, a pyte screen for the operator):

- the first screen of `--viewers` viewers connecting at once (each from an address of
  its own, 127.0.1.x: a class's machines), against one viewer alone, with `--warm`
  consoles drawn ahead (`vmconsole serve --warm-sessions`); and an operator's, whose
  console is always started at login;
- an operator's keypress-to-screen time (a cursor key until the detail pane shows the
  other row), alone (the baseline), with the viewers idle, and while one viewer sends
  1 MiB of keys and another asks for a 10000x10000 terminal;
- CPU of the server and its session processes, in all, with no session (baseline) and
  with the viewers idle; memory per session process (unique and proportional set);
- CPU time, which the machine's load changes little (wall-clock figures on a shared
  machine are its load's): the session processes' per login until the first screen,
  the operator's process per key, and the idle viewers' per second;
- 1,000 connections from 127.0.0.2 that never log in, opened at once: how long a real
  login then takes (against one without them) and how many lines the server logs.

Each figure issue 13 sets a target for is followed by a `_target` line (the targets
are for a quiet machine: check `uptime` first). About 3-4 minutes at 60 viewers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import asyncssh
import pyte

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


# --- the server and its processes -------------------------------------------------------

def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (the fork server and the sessions)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat[1])
    found, frontier = [pid], [pid]
    while frontier:
        frontier = [p for p, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime
    return total


def memory_mb(pid: int) -> tuple[float, float, float]:
    """(RSS, PSS, USS) of one process in MB, from /proc/PID/smaps_rollup."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        values[name] = int(rest.split()[0])  # kB
    uss = values["Private_Clean"] + values["Private_Dirty"]
    return values["Rss"] / 1024, values["Pss"] / 1024, uss / 1024


async def cpu_pct(pid: int, seconds: float) -> float:
    """Percent of one core used by the server and its processes over `seconds`."""
    pids = descendants(pid)
    before = cpu_seconds(pids)
    await asyncio.sleep(seconds)
    return 100 * (cpu_seconds(descendants(pid)) - before) / seconds


class Server:
    def __init__(self, process: asyncio.subprocess.Process, port: int) -> None:
        self.process, self.port = process, port
        self.log: list[str] = []
        self._drain = asyncio.get_running_loop().create_task(self._read_log())

    async def _read_log(self) -> None:
        assert self.process.stderr is not None
        while line := await self.process.stderr.readline():
            self.log.append(line.decode(errors="replace"))

    @property
    def pid(self) -> int:
        return self.process.pid

    def session_pid(self, user: str) -> int:
        """The session process of `user`'s console, as the server logged it."""
        for line in reversed(self.log):
            if match := re.search(rf"console for {user} \(\w+\), process (\d+)", line):
                return int(match[1])
        raise SystemExit(f"no session process for {user} in the server's log")

    def sessions(self) -> list[int]:
        """The session processes: the fork server's children."""
        for pid in descendants(self.pid)[1:]:
            if b"forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return descendants(pid)[1:]
        return []


async def start_server(tmp: Path, keys: dict[str, asyncssh.SSHKey], max_sessions: int,
                       warm: int = 0) -> Server:
    """The server, listening, with `warm` viewers' consoles drawn and waiting."""
    lines = [('environment="VMCONSOLE_ROLE=operator" ' if role == "operator" else "")
             + key.export_public_key().decode().strip() for role, key in keys.items()]
    (tmp / "authorized_keys").write_text("\n".join(lines) + "\n")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "vmconsole", "serve", "--listen", "127.0.0.1:0",
        "--authorized-keys", str(tmp / "authorized_keys"), "--max-sessions",
        str(max_sessions), "--warm-sessions", str(warm), cwd=ROOT, stderr=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT), "XDG_STATE_HOME": str(tmp),
             "XDG_CONFIG_HOME": str(tmp)})
    assert process.stderr is not None
    port = 0
    try:
        async with asyncio.timeout(60 + warm * 5):
            while True:
                line = (await process.stderr.readline()).decode()
                if not line:
                    raise SystemExit("vmconsole serve ended before listening")
                if match := re.search(r"listening on 127\.0\.0\.1:(\d+)", line):
                    port = int(match[1])
                if (not warm and port) or "waiting for viewers" in line:
                    return Server(process, port)
    except BaseException:
        process.terminate()
        await process.wait()
        raise


# --- clients ------------------------------------------------------------------------------

async def connect(port: int, key: asyncssh.SSHKey, user: str,
                  source: str = "127.0.0.1") -> asyncssh.SSHClientConnection:
    return await asyncssh.connect("127.0.0.1", port, username=user, client_keys=[key],
                                  known_hosts=None, agent_path=None, local_addr=(source, 0))


class Viewer:
    """One session that reads everything the console sends, noting the first screen."""

    def __init__(self) -> None:
        self.first_screen: float | None = None
        self.conn: asyncssh.SSHClientConnection | None = None
        self.process: asyncssh.SSHClientProcess[bytes] | None = None
        self.reader: asyncio.Task[None] | None = None

    async def open(self, port: int, key: asyncssh.SSHKey, user: str, source: str,
                   size: tuple[int, int] = (80, 24), wait: bool = True) -> None:
        started = time.perf_counter()
        self.conn = await connect(port, key, user, source)
        self.process = process = await self.conn.create_process(
            term_type="xterm-256color", term_size=size, encoding=None)
        seen = asyncio.Event()

        async def read() -> None:
            tail = b""
            while data := await process.stdout.read(65536):
                if self.first_screen is None and b"pve1" in tail + data:
                    self.first_screen = time.perf_counter() - started
                    seen.set()
                tail = data[-8:]

        self.reader = asyncio.get_running_loop().create_task(read())
        if wait:
            await asyncio.wait_for(seen.wait(), 120)

    async def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            await self.conn.wait_closed()
        if self.reader is not None:
            self.reader.cancel()


class Operator:
    """A session on a pyte screen, read all the time as a terminal does, that moves the
    cursor between pve1 and web1 and times each key until the detail pane names the
    row it moved to."""

    def __init__(self, process: asyncssh.SSHClientProcess[bytes]) -> None:
        self.process = process
        self.screen = pyte.Screen(100, 30)
        self.stream = pyte.ByteStream(self.screen)
        self.changed = asyncio.Condition()
        self.closed = False
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        while data := await self.process.stdout.read(65536):
            self.stream.feed(data)
            async with self.changed:
                self.changed.notify_all()
        self.closed = True
        async with self.changed:
            self.changed.notify_all()

    async def until(self, pattern: str, timeout: float = 120.0) -> None:
        regex = re.compile(pattern)

        def top() -> bool:  # the detail pane's first row, below its title (and hint)
            return any(regex.search(line) for line in self.screen.display[1:3])

        try:
            async with asyncio.timeout(timeout), self.changed:
                await self.changed.wait_for(lambda: self.closed or top())
        except TimeoutError:
            pass
        if self.closed or not top():
            raise SystemExit(f"operator: no {pattern!r} on screen"
                             f"{' (the session ended)' if self.closed else ''}:\n"
                             + "\n".join(self.screen.display))

    async def presses(self, count: int) -> list[float]:
        """Milliseconds from each key to its screen, alternating up and down."""
        times = []
        for i in range(count):
            key, name = ("k", r"Node +pve1") if i % 2 == 0 else ("j", r"Name +web1")
            started = time.perf_counter()
            self.process.stdin.write(key.encode())
            await self.until(rf"│ {name} ")
            times.append(1000 * (time.perf_counter() - started))
            await asyncio.sleep(0.05)
        return times


async def open_operator(port: int, key: asyncssh.SSHKey,
                        ) -> tuple[asyncssh.SSHClientConnection, Operator, float]:
    """The operator's session on web1, and the seconds to its first screen (an
    operator's console is started at login, never taken from the warm ones)."""
    started = time.perf_counter()
    conn = await connect(port, key, "operator")
    process = await conn.create_process(term_type="xterm-256color", term_size=(100, 30),
                                        encoding=None)
    operator = Operator(process)
    await operator.until(r"Cluster +lab")
    first_screen = time.perf_counter() - started
    process.stdin.write(b"jj")
    await operator.until(r"│ Name +web1 ")
    return conn, operator, first_screen


async def key_cpu(operator: Operator, pid: int, count: int) -> tuple[list[float], float]:
    """`count` presses: their times (ms), and the CPU milliseconds the operator's
    session process spent per key, which the machine's load changes little."""
    before = cpu_seconds([pid])
    times = await operator.presses(count)
    return times, 1000 * (cpu_seconds([pid]) - before) / count


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def pair(name: str, value: float, baseline: float, unit: str, target: str = "") -> None:
    """A figure, its baseline from the same run and, where issue 13 sets one, its
    target (for a quiet machine)."""
    print(f"{name}: {value:.3f}{unit}")
    print(f"{name}_baseline: {baseline:.3f}{unit}")
    if target:
        print(f"{name}_target: {target}")


# --- the measurements ---------------------------------------------------------------------

async def measure(viewers: int, presses: int, steady: float, warm: int) -> None:
    keys = {"viewer": asyncssh.generate_private_key("ssh-ed25519"),
            "operator": asyncssh.generate_private_key("ssh-ed25519")}
    with tempfile.TemporaryDirectory() as tmp:
        # Room for the class, the operator and the giant terminal: the pool refills no
        # more than the server may still admit, so it is not refilling while measured.
        server = await start_server(Path(tmp), keys, viewers + 2, warm)
        print(f"warm_sessions: {warm}")
        try:
            await asyncio.sleep(2.0)  # a few polls in
            idle_cpu = await cpu_pct(server.pid, steady)
            print(f"server_rss_idle_mb: {memory_mb(server.pid)[0]:.1f}")

            # one viewer alone, then the operator alone: the baselines
            alone = Viewer()
            await alone.open(server.port, keys["viewer"], "alone", "127.0.1.1")
            await alone.close()
            before = set(server.sessions())
            conn, operator, cold = await open_operator(server.port, keys["operator"])
            # CPU seconds, load aside: the operator's console from its start to web1
            cold_cpu = cpu_seconds(list(set(server.sessions()) - before))
            operator_pid = server.session_pid("operator")
            quiet, quiet_key_cpu = await key_cpu(operator, operator_pid, presses)

            # the class
            class_ = [Viewer() for _ in range(viewers)]
            cpu_before = cpu_seconds(descendants(server.pid)) + time.process_time()
            sessions_before = {pid: cpu_seconds([pid]) for pid in server.sessions()}
            started = time.perf_counter()
            await asyncio.gather(*(v.open(server.port, keys["viewer"], f"s{i}",
                                          f"127.0.1.{10 + i}")
                                   for i, v in enumerate(class_)))
            all_up = time.perf_counter() - started
            # Server, sessions and these clients (SSH and key exchange included).
            class_cpu = (cpu_seconds(descendants(server.pid)) + time.process_time()
                         - cpu_before) / viewers
            # The class's session processes alone, from the login to the first screen.
            class_session_cpu = sum(
                cpu_seconds([pid]) - sessions_before.get(pid, 0.0)
                for pid in server.sessions() if pid != operator_pid) / viewers
            firsts = [v.first_screen for v in class_ if v.first_screen is not None]
            await asyncio.sleep(5.0)  # the pool's one refill (2 s after the logins) done
            busy_cpu = await cpu_pct(server.pid, steady)
            with_class, class_key_cpu = await key_cpu(operator, operator_pid, presses)
            sessions = server.sessions()
            memory = [memory_mb(pid) for pid in sessions]
            pair(f"first_screen_max_s_{viewers}_viewers", max(firsts),
                 alone.first_screen or 0.0, " s", "<= 3 s")
            print(f"first_screen_median_s_{viewers}_viewers: {statistics.median(firsts):.3f} s")
            print(f"first_screen_s_operator_started_at_login: {cold:.3f} s")
            pair(f"login_cpu_ms_per_viewer_{viewers}_viewers", 1000 * class_cpu,
                 1000 * cold_cpu, " ms (baseline: an operator's console started at login, "
                 "its process alone, to web1's detail)")
            pair(f"login_session_cpu_ms_per_viewer_{viewers}_viewers",
                 1000 * class_session_cpu, 1000 * cold_cpu,
                 " ms (the session processes alone; baseline as above)")
            print(f"all_{viewers}_connected_s: {all_up:.3f} s")
            pair(f"cpu_pct_{viewers}_idle_viewers", busy_cpu, idle_cpu, " %", "<= 100 %")
            pair(f"cpu_ms_per_s_{viewers}_idle_viewers", 10 * busy_cpu, 10 * idle_cpu,
                 " ms/s (baseline: no session, the consoles waiting)")
            pair(f"operator_key_cpu_ms_{viewers}_viewers", class_key_cpu, quiet_key_cpu,
                 " ms (the operator's process per key; baseline: alone)")
            pair(f"operator_keypress_p95_ms_{viewers}_viewers", p95(with_class), p95(quiet),
                 " ms", "<= 150 ms")
            print(f"operator_keypress_median_ms_{viewers}_viewers: "
                  f"{statistics.median(with_class):.1f} ms "
                  f"(alone {statistics.median(quiet):.1f} ms)")
            print(f"session_processes: {len(sessions)}")
            print(f"session_uss_mb_mean: {statistics.mean(m[2] for m in memory):.1f} MB")
            print(f"session_pss_mb_mean: {statistics.mean(m[1] for m in memory):.1f} MB")
            print(f"session_rss_mb_mean: {statistics.mean(m[0] for m in memory):.1f} MB")
            print(f"server_rss_mb_{viewers}_viewers: {memory_mb(server.pid)[0]:.1f} MB")

            # an attack from two viewers while the operator works
            flooder, huge = class_[0], class_[1]
            assert flooder.process is not None and huge.process is not None
            flooder.process.stdin.write(b"j" * (1 << 20))
            huge.process.change_terminal_size(10000, 10000)
            giant = Viewer()
            await giant.open(server.port, keys["viewer"], "giant", "127.0.1.250",
                             size=(10000, 10000), wait=False)
            attacked = await operator.presses(presses)
            pair("operator_keypress_p95_ms_under_attack", p95(attacked), p95(with_class),
                 " ms", f"<= {2 * p95(with_class):.0f} ms (2x the baseline)")
            print(f"server_rss_mb_under_attack: {memory_mb(server.pid)[0]:.1f} MB")
            await giant.close()
            await asyncio.gather(*(v.close() for v in class_))
            conn.close()
            await asyncio.sleep(2.0)

            # logins under a flood of connections that never log in
            started = time.perf_counter()
            async with await connect(server.port, keys["viewer"], "quiet"):
                quiet_login = time.perf_counter() - started
            log_before = len(server.log)
            flood = await asyncio.gather(*(asyncio.open_connection(
                "127.0.0.1", server.port, local_addr=("127.0.0.2", 0)) for _ in range(1000)),
                return_exceptions=True)
            opened = [f for f in flood if not isinstance(f, BaseException)]
            started = time.perf_counter()
            async with await connect(server.port, keys["viewer"], "real"):
                flooded_login = time.perf_counter() - started
            await asyncio.sleep(12.0)  # past the login grace time: every flood line is in
            pair("login_s_under_1000_unauthenticated", flooded_login, quiet_login, " s",
                 "<= 2 s")
            print(f"unauthenticated_opened: {len(opened)}")
            print(f"log_lines_during_flood: {len(server.log) - log_before}")
            print("log_lines_during_flood_target: < 100")
            for _, writer in opened:
                writer.close()
        finally:
            server.process.terminate()
            await asyncio.wait_for(server.process.wait(), 30)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--viewers", type=int, default=60)
    parser.add_argument("--presses", type=int, default=40)
    parser.add_argument("--steady", type=float, default=5.0,
                        help="seconds of CPU measurement")
    parser.add_argument("--warm", type=int, default=None,
                        help="the server's --warm-sessions (default: one per viewer, and "
                        "one for the viewer alone); 0 starts every console at login")
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # 1,000 sockets here too
    warm = args.viewers + 1 if args.warm is None else args.warm
    asyncio.run(measure(args.viewers, args.presses, args.steady, warm))


if __name__ == "__main__":
    main()
