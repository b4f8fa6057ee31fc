"""OpenSSH's `StrictModes` for the files the console trusts: who else may change or read
them. A file others may write (or replace, through a folder they may write) could let
them in; a secret others may read is no longer a secret. Each refusal says the chmod
that fixes it.

The rules follow sshd's `secure_filename()` (OpenSSH `auth.c`): the file and every
folder above it, up to the user's home or `/`, must belong to the user or root and be
writable by no one else. A root-owned folder with the sticky bit (`/tmp`) passes: others
may write in it, but not rename or remove what is not theirs.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


def _quoted(path: Path) -> str:
    """`path` as a shell reads it, for the fix a refusal suggests."""
    import shlex  # with the first refusal: checking a file needs none (issue 12)

    return shlex.quote(str(path))


class UnsafeFile(PermissionError):
    """A file or folder others may change or read; the message says how to fix it."""


def _owner_ok(st: os.stat_result) -> bool:
    return st.st_uid in (os.getuid(), 0)


def check_not_writable_by_others(path: Path) -> None:
    """Refuse `path` if others could change it: raises UnsafeFile for the file or the
    first folder above it (up to the home folder or `/`) that is group- or
    world-writable or owned by someone other than this user or root. Through symbolic
    links, the file they lead to and its folders are the ones checked, as sshd resolves
    the real path first (`realpath()` before `secure_filename()`); the message then
    names `path` too. OSError (the file is missing, a symbolic link loop: ELOOP) is the
    caller's."""
    given = path.absolute()
    path = Path(os.path.realpath(given, strict=True))
    home = Path(os.path.realpath(Path.home()))
    linked = f"; {given} links to {path}" if path != given else ""
    target = path
    while True:
        st = target.stat()
        mode = stat.S_IMODE(st.st_mode)
        sticky_root_dir = (target != path and st.st_uid == 0 and mode & stat.S_ISVTX)
        if not _owner_ok(st):
            raise UnsafeFile(f"{target} belongs to uid {st.st_uid}, not to this user or "
                             f"root{linked}: chown {os.getuid()} {_quoted(target)}")
        if mode & 0o022 and not sticky_root_dir:
            what = "folder" if target != path else "file"
            raise UnsafeFile(f"{what} {target} is writable by others (mode {mode & 0o777:o}"
                             f"{linked}): chmod go-w {_quoted(target)}")
        if target == home or target.parent == target:
            return
        target = target.parent


def check_private(path: Path) -> None:
    """Refuse a secret (a key, a token) that others may read or change: raises
    UnsafeFile with the chmod (600) that fixes it. Through a symbolic link the message
    names the file linked to and suggests no chmod or chown: run on the link's name,
    they change that file (a link to /etc/shadow: /etc/shadow). OSError is the
    caller's."""
    st = path.stat()
    mode = stat.S_IMODE(st.st_mode)
    target = path.resolve()
    if target != path.absolute():
        what = f"{path} links to {target}, which"
        fix = "name a secret file that is yours alone, not a link to one that is not"
    else:
        what, fix = str(path), ""
    if not _owner_ok(st):
        raise UnsafeFile(f"{what} belongs to uid {st.st_uid}, not to this user or root: "
                         f"{fix or f'chown {os.getuid()} {_quoted(path)}'}")
    if mode & 0o077:
        raise UnsafeFile(f"{what} is open to others (mode {mode & 0o777:o}): "
                         f"{fix or f'chmod 600 {_quoted(path)}'}")
