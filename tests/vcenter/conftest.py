"""Fixtures for the vCenter tests: vcsim in its own process, one per test module (a fresh
inventory), and backends that pin its certificate's fingerprint.

Every test here is marked `vcenter`: it skips, with the reason, where Go or govmomi's
sources are missing; run as root in CI (scripts/test.sh installs both), a skip is a
failure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.vcenter.vcsim import PASSWORD, USER, Vcsim, build, missing
from vmconsole.backends.vcenter import VCenterBackend, open_vcenter
from vmconsole.config import VCenterCluster

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.vcenter)


@pytest.fixture(scope="session")
def vcsim_binary() -> Path:
    reason = missing()
    if reason is not None:
        pytest.skip(f"vcsim cannot be built: {reason}")
    return build()


@pytest.fixture(scope="module")
def vcsim(vcsim_binary: Path, request: pytest.FixtureRequest) -> Iterator[Vcsim]:
    """The simulator's default vCenter: datacenter DC0, cluster DC0_C0 of three hosts,
    two VMs (or a module's `VCSIM_ARGS`, e.g. ("-vm", "4")), a datastore LocalDS_0."""
    sim = Vcsim(vcsim_binary, *getattr(request.module, "VCSIM_ARGS", ()))
    try:
        yield sim
    finally:
        if sim.proc is not None and sim.proc.poll() is not None:
            print(f"vcsim died (code {sim.proc.returncode}):\n{sim.log_tail()}")
        sim.stop()
        sim.log.close()


def cluster_config(sim: Vcsim, **overrides: Any) -> VCenterCluster:
    """A profile for the simulator, its certificate pinned by fingerprint."""
    settings: dict[str, Any] = dict(name="vc", host=sim.host, port=sim.port, user=USER,
                                    password=PASSWORD, fingerprint=sim.fingerprint,
                                    timeout=5.0)
    settings.update(overrides)
    return VCenterCluster(**settings)


@pytest.fixture
def connect(vcsim: Vcsim) -> Iterator[Callable[..., VCenterBackend]]:
    """Opens backends on the simulator (profile overrides as keywords), closed after."""
    opened: list[VCenterBackend] = []

    def make(**overrides: Any) -> VCenterBackend:
        opened.append(open_vcenter(cluster_config(vcsim, **overrides)))
        return opened[-1]

    yield make
    for backend in opened:
        backend.close()


@pytest.fixture
def backend(connect: Callable[..., VCenterBackend]) -> VCenterBackend:
    return connect()
