"""The serial console against libvirt's test driver (whose domains have no console, and
which opens no console streams): the refusals a user reads. The round trip on a real QEMU guest is
tests/lab/test_serial_console.py's."""

import pytest

pytest.importorskip("libvirt", reason="libvirt-python is not installed")

from vmconsole.backends.base import Conflict, NotSupported

from .conftest import guest_named, wait


class Sink:
    def __init__(self) -> None:
        self.data, self.ends = bytearray(), []

    def received(self, data: bytes) -> None:
        self.data += data

    def ended(self, reason: str) -> None:
        self.ends.append(reason)


def test_a_guest_without_a_console_device_is_told_how_to_add_one(cluster):
    web = guest_named(cluster, "web1")
    sink = Sink()
    with pytest.raises(NotSupported, match="web1 has no serial console: add <serial "
                       "type='pty'/> and <console type='pty'/>"):
        cluster.open_console(web.id, sink)
    assert sink.ends == [] and not sink.data


def test_a_stopped_guest_has_no_console(cluster):
    web = guest_named(cluster, "web1")
    wait(cluster, cluster.stop(web.id))
    with pytest.raises(Conflict, match="web1 is not running"):
        cluster.open_console(web.id, Sink())
