"""The record of nodes in maintenance, read at every start: a file that cannot be read
counts as empty and is logged, whatever is wrong with it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from vmconsole.maintenance import MaintenanceRecord


def test_a_record_nested_too_deeply_counts_as_empty_and_is_logged(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """100,000 `[` raised RecursionError out of the console's start."""
    path = tmp_path / "maintenance.json"
    path.write_text("[" * 100_000)
    with caplog.at_level(logging.WARNING, logger="vmconsole.maintenance"):
        record = MaintenanceRecord(path)
    assert record.nodes("pve") == frozenset()
    assert [r.getMessage() for r in caplog.records] == [
        f"maintenance record {path} not read: arrays or objects nested too deeply"]
