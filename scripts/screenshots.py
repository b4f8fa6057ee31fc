"""Make the README's screenshots: SVGs of the demo cluster at a fixed seed and a frozen
clock, into screenshots/. Run: python scripts/screenshots.py"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vmconsole.session import Role, Session  # noqa: E402
from vmconsole.ui.frozen import FrozenConsole  # noqa: E402

OUT = ROOT / "screenshots"


async def main_screen(theme: str, name: str, size: tuple[int, int]) -> None:
    c = FrozenConsole(theme=theme, session=Session("student", Role.OPERATOR))
    async with c.app.run_test(size=size) as pilot:
        for _ in range(24):
            c.poll(advance=5.0)
            await pilot.pause()
        await pilot.press("j", "j")
        await pilot.pause()
        c.app.save_screenshot(str(OUT / f"{name}.svg"))


async def run() -> None:
    OUT.mkdir(exist_ok=True)
    await main_screen("vmconsole-dark", "main-dark", (120, 40))
    await main_screen("vmconsole-light", "main-light", (120, 40))
    await main_screen("vmconsole-dark", "main-80x24", (80, 24))
    for path in sorted(OUT.glob("*.svg")):
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    asyncio.run(run())
