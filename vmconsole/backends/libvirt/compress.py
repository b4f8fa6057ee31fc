"""Compressing a backup's qcow2 files after the push backup: `qemu-img convert -c -O
qcow2 -o compression_type=zstd` (qemu-img(1), "convert"; qcow2's zstd clusters since
QEMU 5.1). libvirt's backup XML has no compression of its own (formatbackup.html: a push
target has a file and a driver type only), and its storage API none either, so the
file is rewritten by qemu-img, which must run where the file is: on a host the console
reaches by a local URI (no host part: `qemu:///system`, the lab's sockets).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from vmconsole.backends.base import BackendError

QEMU_IMG = "qemu-img"
_PROGRESS = re.compile(rb"\((\d+(?:\.\d+)?)/100%\)")


def can_compress(uri: str) -> str:
    """Why a backup on the host of `uri` cannot be compressed here ("" when it can)."""
    if urlsplit(uri).hostname:
        return ("the host is remote: qemu-img must run where the backup file is, and "
                "libvirt's API has no compression")
    if shutil.which(QEMU_IMG) is None:
        return "qemu-img is not installed here (Debian: qemu-utils)"
    return ""


def compress(source: str, target: str, progress: Callable[[float], None],
             timeout: float) -> None:
    """Write `source` (a qcow2 file) to `target` as qcow2 with zstd-compressed clusters,
    calling `progress(fraction)` as qemu-img reports it (`-p`: "(12.50/100%)"). Raises
    BackendError with qemu-img's words when it fails or runs past `timeout` seconds
    (then it is killed); `target` may then be left partial: the caller removes it."""
    command = [QEMU_IMG, "convert", "-p", "-c", "-O", "qcow2", "-o", "compression_type=zstd",
               source, target]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    out = proc.stdout.fileno() if proc.stdout else -1
    started = time.monotonic()
    try:
        # qemu-img ends each progress figure with "\r", not a line: read what comes.
        while chunk := os.read(out, 256):
            if found := _PROGRESS.findall(chunk):
                progress(float(found[-1]) / 100)
        errors = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
        code = proc.wait()
    finally:
        timer.cancel()
    if code != 0:
        if time.monotonic() - started >= timeout:
            raise BackendError(f"compressing {source}: not done within {timeout:g} s")
        raise BackendError(f"compressing {source}: {errors or f'qemu-img exited {code}'}")
