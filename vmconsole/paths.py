"""Where vmconsole keeps the user's files: the XDG base directories, through
platformdirs (https://specifications.freedesktop.org/basedir-spec/): the config file
and the SSH server's authorized keys in the config directory, user themes in the data
directory, the audit log, the console's log and the server's host key in the state
directory. Read at each call, so an environment changed at run time (a test's) counts.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_config_path, user_data_path, user_state_path

APP = "vmconsole"


def config_dir() -> Path:
    """`$XDG_CONFIG_HOME/vmconsole` (`~/.config/vmconsole`)."""
    return user_config_path(APP)


def data_dir() -> Path:
    """`$XDG_DATA_HOME/vmconsole` (`~/.local/share/vmconsole`)."""
    return user_data_path(APP)


def state_dir() -> Path:
    """`$XDG_STATE_HOME/vmconsole` (`~/.local/state/vmconsole`)."""
    return user_state_path(APP)


def console_log_path() -> Path:
    """The local console's log of warnings and errors (`ui.launch.log_to_file`)."""
    return state_dir() / "console.log"


def create_private(path: Path) -> None:
    """Make the file `path` (and its folders) if missing, and leave it readable and
    writable by its owner alone (mode 0600): a log holds what backends and libraries
    said, which may name hosts, users or worse. A file an older version made 0644 is
    made 0600 too. Raises OSError when it cannot be made or changed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
