"""The teaching panel as a student reads a placement: every candidate node with its
score in the CRS mode's terms, and the reason each other node is out."""

from __future__ import annotations

from tests.ui.test_teaching import select, settle, timeline
from vmconsole.ui.widgets.cluster_tree import TreeRef


async def test_a_recovery_shows_each_candidates_topsis_score_in_the_timeline(console_factory):
    """Static scheduler on the demo lab; pve2 (db1, HA) loses power: once fenced, the
    timeline's recovery line gives the surviving nodes' TOPSIS closeness with the CPU
    and memory weighed, and pve2 out as offline."""
    c = console_factory()
    c.backend.set_crs(mode="static")
    async with c.app.run_test(size=(160, 40)) as pilot:
        await settle(c, pilot)
        await select(c.app, pilot, TreeRef("lab", "node/pve2"))
        await pilot.press("f")
        await pilot.press("enter")  # the first choice: power off
        polls = 0
        while "recovered" not in timeline(c.app):
            assert polls < 60, "no recovery narrated within 300 simulated seconds"
            await settle(c, pilot, advance=5.0)
            polls += 1
        # the panel wraps at words: read its rows as one text
        text = " ".join(" ".join(timeline(c.app).split()).split(" recovered ", 1)[1:])
        line = text.split(" candidates: ", 1)[1] if " candidates: " in text else ""
        assert "pve2 out: offline" in line
        assert "(TOPSIS" in line and "% with it) chosen" in line
