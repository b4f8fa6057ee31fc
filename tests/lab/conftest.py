"""The one lab fixture: each module's lab, built from its `LAB` (tests/lab/built.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.lab.built import BuiltLab, LabShape


@pytest.fixture(scope="module")
def built_lab(request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltLab]:
    """The module's lab (its `LAB`, else one node with one guest), up for the module's
    tests; `VMCONSOLE_LAB_DIR` (and `VMCONSOLE_AUDIT_LOG` when asked for) point into
    its own directory meanwhile."""
    from vmconsole.config import LibvirtCluster, load_config
    from vmconsole.lab import builder

    shape: LabShape = getattr(request.module, "LAB", LabShape())
    root = tmp_path_factory.mktemp("lab")
    config, audit = root / "config.toml", root / "audit.jsonl"
    config.write_text(shape.config)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VMCONSOLE_LAB_DIR", str(root / "state"))
        if shape.audit:
            mp.setenv("VMCONSOLE_AUDIT_LOG", str(audit))  # the lab's HA manager's
        try:  # a lab that fails half-way is removed too
            started = time.monotonic()
            layout = builder.up(shape.nodes, shape.guests, config, lambda _line: None,
                                containers=shape.containers, ha_guests=shape.ha_guests,
                                ha_times=shape.ha_times or None)
            up_s = time.monotonic() - started
            (cluster,) = load_config(config).clusters("lab")
            assert isinstance(cluster, LibvirtCluster)
            yield BuiltLab(root, config, layout, cluster, audit, started, up_s)
        finally:
            builder.down(config, lambda _line: None)
