"""A user's theme file is data: its name shows in Textual's theme picker (Ctrl+P, Theme)
as is, so a name with controls, escapes or markup, or one too long for a line, gets the
file skipped with a warning, like any other bad theme; the console keeps its own themes."""

from __future__ import annotations

import pytest
from rich.style import Style
from textual.color import Color

from vmconsole.ui.themes import DEFAULT_THEME, NAME_LIMIT, load_themes
from vmconsole.ui.widgets.cluster_tree import ClusterTree


def load(tmp_path, name: str):
    (tmp_path / "mine.toml").write_text(f'name = "{name}"\nprimary = "#ff0000"\n')
    return load_themes(tmp_path)


@pytest.mark.parametrize("name", ["evil\\u001b]0;X\\u0007[bold]", "evil[bold]", "a]b",
                                  "tab\\there", "bidi\\u202e", "\\u009b2J", "",
                                  "x" * (NAME_LIMIT + 1), "x" * 5000])
def test_a_theme_whose_name_is_not_plain_text_is_skipped(tmp_path, name):
    loaded = load(tmp_path, name)
    names = [t.name for t in loaded.themes]
    assert DEFAULT_THEME in names and all(n.isprintable() and len(n) <= NAME_LIMIT
                                          for n in names)
    [problem] = loaded.problems
    assert problem == (f"{tmp_path / 'mine.toml'}: 'name' must be 1 to {NAME_LIMIT} "
                       "printable characters without [ or ]")


@pytest.mark.parametrize("name", ["my-theme", "Solarized (mine) é", "x" * NAME_LIMIT])
def test_a_theme_with_a_plain_name_loads(tmp_path, name):
    loaded = load(tmp_path, name)
    assert loaded.problems == [] and name in [t.name for t in loaded.themes]


@pytest.mark.parametrize("theme", ["vmconsole-light", "vmconsole-high-contrast"])
async def test_the_tree_is_first_drawn_in_the_chosen_theme_s_colours(console_factory, theme):
    # Chosen in on_mount, the tree was first styled with textual-dark's variables: a
    # running guest's mark had textual-dark's success colour until the theme changed.
    c = console_factory(theme=theme)
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        tree = c.app.query_one(ClusterTree)
        while tree.guest_count() == 0:
            await pilot.pause(0.01)
        success = c.app.get_theme(theme).success
        assert success is not None
        assert tree.styles_.ok.color == Style(color=Color.parse(success).hex).color


async def test_the_chosen_theme_s_css_at_start_and_a_theme_chosen_later(console_factory):
    """The stylesheet is parsed once at start, with the chosen theme's variables (Textual's
    second parse, queued by the theme's watcher, is skipped); a theme chosen later, from
    the palette, still restyles every pane."""
    c = console_factory(theme="vmconsole-light")
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        app = c.app
        for name in ("vmconsole-light", "vmconsole-dark"):
            app.theme = name  # the first: as chosen at start, nothing to redo
            await pilot.pause()
            theme = app.get_theme(name)
            assert theme is not None and theme.background is not None
            assert app.screen.styles.background == Color.parse(theme.background)
            assert app.query_one("#detail").styles.border_top[1] == Color.parse(
                app.theme_variables["panel-lighten-2"])
