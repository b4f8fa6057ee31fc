"""The palette's "Screenshot" says where it saved the file, and why when it could not."""

from __future__ import annotations

from tests.ui_ops.helpers import notes, wait_until


async def test_a_screenshot_says_where_it_went_with_the_path_as_it_is(console_factory,
                                                                        tmp_path):
    folder = tmp_path / "[b]shots"  # a folder name that markup would eat
    folder.mkdir()
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.app.action_screenshot("x.svg", str(folder))
        await wait_until(pilot, lambda: any("screenshot" in n for n in notes(c.app)), 10,
                         "the screenshot's notice")
        assert (folder / "x.svg").is_file()
        assert notes(c.app) == [f"Saved screenshot to {folder / 'x.svg'}"]


async def test_a_screenshot_that_cannot_be_saved_says_why(console_factory, tmp_path):
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.app.action_screenshot("x.svg", str(tmp_path / "no such folder"))
        await wait_until(pilot, lambda: any("screenshot" in n for n in notes(c.app)), 10,
                         "the screenshot's notice")
        [note] = notes(c.app)
        assert note.startswith("Failed to save screenshot: ")
        assert "No such file or directory" in note and "no such folder" in note
