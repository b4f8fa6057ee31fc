"""Moving one thread into a network namespace made with `ip netns add NAME`.

Linux keeps the network namespace per thread: after `setns` on /run/netns/NAME, the
sockets that thread opens belong to NAME while the rest of the process stays where it
was. Python 3.11 has no `os.setns`, so libc's is called through ctypes. Only a thread
that will do nothing else may enter: there is no way back short of entering the
original namespace again, which the probe engines never need.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re

CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class NetnsError(Exception):
    """The namespace cannot be entered, with the reason for the user."""


def netns_path(name: str) -> str:
    """The bind-mount that `ip netns` keeps for NAME; refuses names that are paths."""
    if not _NAME.match(name) or name in (".", ".."):
        raise NetnsError(f"'{name}' is not a network namespace name")
    return os.path.join(NETNS_DIR, name)


def check_netns(name: str) -> None:
    """Raise NetnsError unless NAME exists and this process may enter it."""
    path = netns_path(name)
    if not os.path.exists(path):
        raise NetnsError(f"no network namespace '{name}' ({path} does not exist; "
                         "see `ip netns list`)")
    if os.geteuid() != 0:
        raise NetnsError(f"entering network namespace '{name}' needs root (CAP_SYS_ADMIN)")


def enter_netns(name: str) -> None:
    """Move the calling thread into network namespace NAME."""
    check_netns(name)
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    fd = os.open(netns_path(name), os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise NetnsError(f"cannot enter network namespace '{name}': "
                             f"{os.strerror(errno)}")
    finally:
        os.close(fd)
