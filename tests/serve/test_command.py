"""`vmconsole serve` as an administrator runs it: a process, its messages, its key file."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh
import pytest

from tests.serve.terminal import open_terminal
from vmconsole.serve.keys import load_or_create_host_key
from vmconsole.serve.run import parse_listen

pytestmark = pytest.mark.timeout(90)
ROOT = Path(__file__).parents[2]


class ServeProcess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.output = ""

    async def read_until(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        assert self.process.stderr is not None
        async with asyncio.timeout(timeout):
            while (match := re.search(pattern, self.output)) is None:
                line = await self.process.stderr.readline()
                if not line:
                    raise AssertionError(f"serve ended before {pattern!r}:\n{self.output}")
                self.output += line.decode()
        return match

    async def stop(self) -> int:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), 20)


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "XDG_STATE_HOME": str(tmp_path / "state"),
            "XDG_CONFIG_HOME": str(tmp_path / "config")}


@pytest.fixture
async def start(home: dict[str, str]) -> AsyncIterator:  # type: ignore[type-arg]
    started: list[ServeProcess] = []

    async def run(*args: str) -> ServeProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "vmconsole", "serve", "--listen", "127.0.0.1:0", *args,
            env=home, cwd=ROOT, stderr=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL)
        started.append(ServeProcess(process))
        return started[-1]

    yield run
    for serve in started:
        if serve.process.returncode is None:
            serve.process.kill()
            await serve.process.wait()


async def test_serve_keeps_its_host_key_and_serves_the_lab(start, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client = asyncssh.generate_private_key("ssh-ed25519")
    keys = tmp_path / "config" / "vmconsole" / "authorized_keys"
    keys.parent.mkdir(parents=True)
    keys.write_text(client.export_public_key().decode())

    serve = await start()
    port = int((await serve.read_until(r"listening on 127\.0\.0\.1:(\d+)"))[1])
    printed = (await serve.read_until(r"host key (SHA256:\S+)"))[1]
    host_key_file = tmp_path / "state" / "vmconsole" / "ssh_host_ed25519_key"
    assert host_key_file.stat().st_mode & 0o777 == 0o600
    assert printed == load_or_create_host_key(host_key_file).get_fingerprint()

    async with asyncssh.connect("127.0.0.1", port, username="student", client_keys=[client],
                                known_hosts=None, agent_path=None) as conn:
        term = await open_terminal(conn)
        await term.wait_for("pve1", timeout=30)
        assert "student (viewer)" in term.row(0)
        assert await serve.stop() == 0  # with a console open: it is ended cleanly
        await term.wait_closed()
    assert b"the server is stopping" in term.received

    again = await start()
    assert (await again.read_until(r"host key (SHA256:\S+)"))[1] == printed
    assert await again.stop() == 0


async def test_serve_whose_log_reader_has_left_still_tells_its_sessions_it_stops(
        home: dict[str, str], tmp_path: Path) -> None:
    """`vmconsole serve 2>&1 | tee serve.log`, then Ctrl+C: the SIGINT ends tee too, and
    serve's "stopping" line meets a pipe nobody reads."""
    client = asyncssh.generate_private_key("ssh-ed25519")
    keys = tmp_path / "config" / "vmconsole" / "authorized_keys"
    keys.parent.mkdir(parents=True)
    keys.write_text(client.export_public_key().decode())
    read_end, write_end = os.pipe()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "vmconsole", "serve", "--listen", "127.0.0.1:0",
        env=home, cwd=ROOT, stdout=write_end, stderr=write_end)
    os.close(write_end)
    try:
        output = b""
        with os.fdopen(read_end, "rb", buffering=0) as tee:
            async with asyncio.timeout(30):
                while (listening := re.search(rb"listening on 127\.0\.0\.1:(\d+)",
                                              output)) is None:
                    chunk = await asyncio.to_thread(tee.read, 4096)
                    assert chunk, f"serve ended before listening:\n{output.decode()}"
                    output += chunk
        terms = []
        for user in ("olga", "piet"):
            conn = await asyncssh.connect("127.0.0.1", int(listening[1]), username=user,
                                          client_keys=[client], known_hosts=None,
                                          agent_path=None)
            terms.append(await open_terminal(conn))
            await terms[-1].wait_for("pve1", timeout=30)
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 20) == 0
        for term in terms:
            await term.wait_closed()
            assert b"the server is stopping" in term.received
            # The terminal is given back: mouse reporting off, out of the alternate screen.
            assert term.received.rfind(b"\x1b[?1049l") > term.received.rfind(b"\x1b[?1049h")
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_serve_without_authorized_keys_says_where_they_go(start) -> None:  # type: ignore[no-untyped-def]
    serve = await start()
    assert await asyncio.wait_for(serve.process.wait(), 30) == 2
    await serve.read_until(r"no authorized keys at \S+/vmconsole/authorized_keys: put one "
                           r"public key per line there")


def test_a_host_key_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "key"
    load_or_create_host_key(path)
    path.chmod(0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        load_or_create_host_key(path)


def test_listen_addresses() -> None:
    assert parse_listen("127.0.0.1:2222") == parse_listen(":2222")
    assert parse_listen("[::1]:22").host == "::1"
    for wrong in ("2222", "host:", "host:port", "host:70000"):
        with pytest.raises(ValueError, match="HOST:PORT"):
            parse_listen(wrong)


def test_a_wrong_max_startups_is_said_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    from vmconsole.cli import main

    assert main(["serve", "--max-startups", "10:x:100"]) == 2
    assert "expected START or START:RATE:FULL, e.g. 64:30:256" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--idle-timeout", "--login-grace-time"])
@pytest.mark.parametrize("value", ["nan", "inf"])
def test_a_time_of_nan_or_inf_is_refused(option: str, value: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """A tester's finding: `--idle-timeout nan` and `--login-grace-time nan` were taken
    (`-1` was refused), and a time that is not a number never comes."""
    from vmconsole.cli import main

    assert main(["serve", option, value]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vmconsole serve: ") and "seconds" in err and err.count("\n") == 1


async def test_serve_never_imports_a_vmconsole_package_from_its_working_directory(
        home: dict[str, str], tmp_path: Path) -> None:
    """An admin starts `serve` (as root) in a directory someone else could write to."""
    client = asyncssh.generate_private_key("ssh-ed25519")
    keys = tmp_path / "config" / "vmconsole" / "authorized_keys"
    keys.parent.mkdir(parents=True)
    keys.write_text(client.export_public_key().decode())
    trap, marker = tmp_path / "shared" / "vmconsole", tmp_path / "imported"
    trap.mkdir(parents=True)
    (trap / "__init__.py").write_text(f"open({str(marker)!r}, 'w').write('imported')\n")
    env = {k: v for k, v in home.items() if k != "PYTHONPATH"}  # the installed package
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "vmconsole"), "serve", "--listen", "127.0.0.1:0",
        env=env, cwd=trap.parent, stderr=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL)
    serve = ServeProcess(process)
    try:
        await serve.read_until(r"listening on 127\.0\.0\.1:\d+")  # after the fork server
        assert not marker.exists(), "the fork server imported the working directory's package"
    finally:
        await serve.stop()


async def test_a_hubs_library_warning_reaches_the_administrator_made_visible(
        start, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """libvirt's test driver reads a `test:///PATH` host with libxml2, which names the
    file it cannot load on stderr, escapes and all, at every reconnection: on the
    terminal that runs `vmconsole serve`, raw, they retitled it and cleared it."""
    pytest.importorskip("libvirt", reason="libvirt-python is not installed")
    client = asyncssh.generate_private_key("ssh-ed25519")
    keys = tmp_path / "config" / "vmconsole" / "authorized_keys"
    keys.parent.mkdir(parents=True)
    keys.write_text(client.export_public_key().decode())
    config = tmp_path / "config.toml"
    config.write_text(
        '[[profiles.x.clusters]]\nkind = "libvirt"\nname = "kvm"\ntimeout = 2\n'
        'uris = ["test:///default", '
        '"test:///nonexistent/%1B%5D0;PWNED%07%1B%5B2J%1B%5B31mRED.xml"]\n')

    serve = await start("--config", str(config), "--profile", "x")
    await serve.read_until(r"listening on 127\.0\.0\.1:\d+")
    await serve.read_until("I/O warning")
    warning = next(line for line in serve.output.splitlines() if "I/O warning" in line)
    # stamped with the date and time; its repeats at each retry are counted
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
    assert re.fullmatch(f"{stamp} " + re.escape(
        'I/O warning : failed to load external entity '
        '"/nonexistent/\\x1b]0;PWNED\\x07\\x1b[2J\\x1b[31mRED.xml"'), warning)
    assert await serve.stop() == 0
    await serve.read_until(f"{stamp} vmconsole serve: stopping")  # its own, stamped
    assert serve.process.stderr is not None
    serve.output += (await serve.process.stderr.read()).decode()  # and the counts after it
    assert "\x1b" not in serve.output and "\x07" not in serve.output
    again = [line for line in serve.output.splitlines() if "I/O warning" in line][1:]
    assert all(re.match(rf"{stamp} repeated \d+x since {stamp}: ", line) for line in again)
