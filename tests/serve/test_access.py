"""Who gets in, and what a session may ask for: a PTY console and nothing else."""

from __future__ import annotations

from pathlib import Path

import asyncssh
import pytest

from tests.serve.conftest import Running
from tests.serve.terminal import open_terminal

pytestmark = pytest.mark.timeout(60)


async def test_unknown_key_is_refused(served: Running) -> None:
    with pytest.raises(asyncssh.PermissionDenied):
        await served.connect(key=served.keys.stranger)


async def test_password_is_refused(served: Running) -> None:
    with pytest.raises(asyncssh.PermissionDenied):
        await asyncssh.connect(served.host, served.port, username="alice", password="secret",
                               client_keys=None, agent_path=None, known_hosts=None,
                               preferred_auth="password,keyboard-interactive")


async def test_a_key_with_an_unknown_role_is_refused(served: Running) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    with served.keys.authorized.open("a") as handle:
        handle.write('environment="VMCONSOLE_ROLE=root" '
                     + key.export_public_key().decode())
    with pytest.raises(asyncssh.PermissionDenied):
        await served.connect(key=key)


async def test_keys_added_to_the_file_work_without_a_restart(served: Running) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    with served.keys.authorized.open("a") as handle:
        handle.write('environment="VMCONSOLE_ROLE=admin",environment="VMCONSOLE_USER=carol" '
                     + key.export_public_key().decode())
    async with await served.connect(key=key, username="student") as conn:
        term = await open_terminal(conn)
        await term.wait_for("carol (admin)")


async def test_from_limits_where_a_key_logs_in_from(served: Running) -> None:
    here, elsewhere = (asyncssh.generate_private_key("ssh-ed25519") for _ in range(2))
    with served.keys.authorized.open("a") as handle:
        handle.write('from="127.0.0.0/8" ' + here.export_public_key().decode())
        handle.write('from="192.0.2.0/24" ' + elsewhere.export_public_key().decode())
    conn = await served.connect(key=here)
    conn.close()
    with pytest.raises(asyncssh.PermissionDenied):
        await served.connect(key=elsewhere)


async def test_the_host_key_is_the_servers_own(served: Running, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(f"[{served.host}]:{served.port} "
                     + served.keys.host.export_public_key().decode())
    conn = await served.connect(known_hosts=str(known))
    conn.close()
    other = asyncssh.generate_private_key("ssh-ed25519")
    known.write_text(f"[{served.host}]:{served.port} " + other.export_public_key().decode())
    with pytest.raises(asyncssh.HostKeyNotVerifiable):
        await served.connect(known_hosts=str(known))


async def test_exec_is_refused(served: Running) -> None:
    async with await served.connect() as conn:
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.run("id", timeout=10)
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.create_process("id", term_type="xterm")


async def test_a_shell_without_a_terminal_is_refused(served: Running) -> None:
    async with await served.connect() as conn:
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.create_process()


async def test_sftp_is_refused(served: Running) -> None:
    async with await served.connect() as conn:
        with pytest.raises((asyncssh.ChannelOpenError, asyncssh.SFTPError)):
            await conn.start_sftp_client()


async def test_port_forwarding_is_refused(served: Running) -> None:
    async with await served.connect() as conn:
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.open_connection("127.0.0.1", served.port)
        with pytest.raises(asyncssh.ChannelListenError):
            await conn.forward_remote_port("127.0.0.1", 0, "127.0.0.1", served.port)
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.open_unix_connection("/run/anything.sock")
        # The refusals leave the connection usable for the console.
        term = await open_terminal(conn)
        await term.wait_for("pve1")
