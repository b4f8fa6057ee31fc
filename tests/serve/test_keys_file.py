"""The authorized keys file as sshd's StrictModes treats it, and why each key is refused."""

from __future__ import annotations

import logging
from pathlib import Path

import asyncssh
import pytest

from tests.serve.conftest import Running
from tests.serve.terminal import open_terminal
from vmconsole.config import ConfigError, load_config
from vmconsole.strictmodes import UnsafeFile, check_private

pytestmark = pytest.mark.timeout(60)


async def test_a_keys_file_others_may_write_refuses_every_login_with_the_fix(
        served: Running, caplog: pytest.LogCaptureFixture) -> None:
    path = served.keys.authorized
    async with await served.connect("admin"):
        pass  # fine while the file is the owner's alone
    path.chmod(0o666)
    with caplog.at_level(logging.WARNING), pytest.raises(asyncssh.PermissionDenied):
        await served.connect("admin")
    assert f"chmod go-w {path}" in caplog.text
    path.chmod(0o644)
    async with await served.connect("admin"):
        pass


async def test_a_folder_others_may_write_refuses_too(served: Running,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    folder = served.keys.authorized.parent
    folder.chmod(0o777)
    try:
        with caplog.at_level(logging.WARNING), pytest.raises(asyncssh.PermissionDenied):
            await served.connect("admin")
    finally:
        folder.chmod(0o700)
    assert f"folder {folder} is writable by others (mode 777): chmod go-w {folder}" \
        in caplog.text


async def test_a_malformed_line_added_while_running_is_skipped(
        served: Running, caplog: pytest.LogCaptureFixture) -> None:
    with served.keys.authorized.open("a") as handle:
        handle.write("ssh-ed25519 AAAAthis-is-not-a-key\n")
    with caplog.at_level(logging.WARNING):
        async with await served.connect("operator") as conn:
            term = await open_terminal(conn)
            await term.wait_for("(operator)")
    assert "line 4: Invalid public key: skipped" in caplog.text


async def test_the_log_says_why_each_key_was_refused(served: Running, tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    elsewhere = asyncssh.generate_private_key("ssh-ed25519")
    bad_role = asyncssh.generate_private_key("ssh-ed25519")
    with served.keys.authorized.open("a") as handle:
        handle.write('from="192.0.2.0/24" ' + elsewhere.export_public_key().decode())
        handle.write('environment="VMCONSOLE_ROLE=root" ' + bad_role.export_public_key().decode())
    with caplog.at_level(logging.INFO):
        for key in (elsewhere, bad_role, served.keys.stranger):
            with pytest.raises(asyncssh.PermissionDenied):
                await served.connect(key=key)
        await _until_logged(caplog, 3)
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert "from= does not allow 127.0.0.1 (line 4)" in refusals[0]
    assert "unknown VMCONSOLE_ROLE='root' (roles: viewer, operator, admin) (line 5)" \
        in refusals[1]
    assert refusals[2].endswith(": unknown key")


async def _until_logged(caplog: pytest.LogCaptureFixture, count: int) -> None:
    import asyncio
    for _ in range(100):
        if sum("login of" in r.getMessage() for r in caplog.records) >= count:
            return
        await asyncio.sleep(0.05)


def test_a_secret_file_others_may_read_is_refused_with_the_chmod(tmp_path: Path) -> None:
    secret = tmp_path / "pve-token"
    secret.write_text("s3cret\n")
    secret.chmod(0o644)
    config = tmp_path / "config.toml"
    config.write_text(f'[[profiles.p.clusters]]\nkind = "proxmox"\nname = "pve"\n'
                      f'host = "pve1"\nuser = "u@pve"\ntoken_name = "t"\n'
                      f'token_secret_file = "{secret}"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert f"{secret} is open to others (mode 644): chmod 600 {secret}" in str(caught.value)
    assert "token_secret_file" in str(caught.value)
    secret.chmod(0o600)
    load_config(config)
    check_private(secret)
    secret.chmod(0o640)
    with pytest.raises(UnsafeFile):
        check_private(secret)
