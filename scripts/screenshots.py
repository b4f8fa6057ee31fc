"""Make the README's screenshots: SVGs of the demo cluster at a fixed seed and a frozen
clock, into screenshots/. Run: python scripts/screenshots.py"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.frozen import FrozenConsole  # noqa: E402
from vmconsole.actor import Actor, Role  # noqa: E402
from vmconsole.backends.abilities import FaultKind  # noqa: E402
from vmconsole.backends.sim.clock import RealClock  # noqa: E402
from vmconsole.config import SimCluster  # noqa: E402
from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef  # noqa: E402

OUT = ROOT / "screenshots"


async def main_screen(theme: str, name: str, size: tuple[int, int]) -> None:
    c = FrozenConsole(theme=theme, actor=Actor("student", Role.OPERATOR))
    async with c.app.run_test(size=size) as pilot:
        for _ in range(24):
            c.poll(advance=5.0)
            await pilot.pause()
        await pilot.press("j", "j")
        await pilot.pause()
        c.app.save_screenshot(str(OUT / f"{name}.svg"))


async def failover(name: str) -> None:
    """An HA failover at 60x: power off pve2 and shoot once db1 answers again elsewhere,
    with the ping monitor (started by the failover itself) showing the whole outage from
    the power-off: the outage takes two and a half minutes, which the chart keeps whole
    (`chart_window`), and each real second here is a simulated minute."""
    c = FrozenConsole(SimCluster(), clock=RealClock(60.0), theme="vmconsole-dark",
                      actor=Actor("teacher", Role.ADMIN))
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        c.backend.inject_fault("pve2", FaultKind.POWER_OFF)
        watches = c.app.ping_watches  # the panel is made once a measurement starts
        for _ in range(200):
            c.poll()
            await pilot.pause(0.05)
            watch = watches.running_on("lab", "qemu/101")
            snap = watch.measurement.snapshot() if watch and watch.measurement else None
            back = snap.outages[0].end if snap is not None and snap.outages else None
            if back is not None:
                break
        c.app.query_one(ClusterTree).select_ref(TreeRef("lab", "qemu/101"))
        await pilot.pause(0.25)
        c.app.save_screenshot(str(OUT / f"{name}.svg"))


async def run() -> None:
    OUT.mkdir(exist_ok=True)
    await failover("teaching-failover")
    await main_screen("vmconsole-dark", "main-dark", (120, 40))
    await main_screen("vmconsole-light", "main-light", (120, 40))
    await main_screen("vmconsole-dark", "main-80x24", (80, 24))
    for path in sorted(OUT.glob("*.svg")):
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    asyncio.run(run())
