"""A user's theme file is data: its name shows in Textual's theme picker (Ctrl+P, Theme)
as is, so a name with controls, escapes or markup, or one too long for a line, gets the
file skipped with a warning, like any other bad theme; the console keeps its own themes."""

from __future__ import annotations

from pathlib import Path

import pytest
import vmconsole.themes
from rich.style import Style
from textual.color import Color
from textual.theme import Theme

from tests.ui_ops.helpers import wait_until
from vmconsole.ui import theme_values
from vmconsole.ui.themes import DEFAULT_THEME, NAME_LIMIT, load_themes, theme_from_toml
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
        await wait_until(pilot, tree.guest_count, 10, "the poll's guests in the tree")
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


ISO = 'name = "iso"\nprimary = "#3b82c4"\nbackground = "#141a22"\nforeground = "#d8dee9"\n'


@pytest.mark.parametrize(("extra", "said"), [
    # A tester's findings: each was loaded, and ended the console with "CSS parsing
    # failed" (or a NaN colour) at start or when picked from the palette.
    ('variables = { "footer-key-foreground" = "notacolour" }',
     "variables: 'footer-key-foreground' is not a colour Textual takes: 'notacolour'"),
    ('variables = { "block-cursor-text-style" = "[bold]" }',
     "variables: 'block-cursor-text-style' is not a text style Textual takes: '[bold]'"),
    ('variables = { "footer-key-foreground" = "red; } Tree { display: none; } X {" }',
     "variables: 'footer-key-foreground' is not a colour Textual takes: "
     "'red; } Tree { display: none; } X {'"),
    ("luminosity_spread = 1e308",
     "'luminosity_spread' must be a number from 0 to 1, not 1e+308"),
    ("text_alpha = nan", "'text_alpha' must be a number from 0 to 1, not nan"),
    ('text_alpha = "0.5"', "'text_alpha' must be a number from 0 to 1, not '0.5'"),
    ('dark = "yes"', "'dark' must be true or false, not 'yes'"),
    ('variables = "red"', "'variables' must be a table, not 'red'"),
    # a colour where Textual takes one for the text only ("auto": its contrast colour)
    ('variables = { "block-cursor-background" = "auto 50%" }',
     "variables: 'block-cursor-background' is not a colour Textual takes: 'auto 50%'"),
    # taken alone, not with the alpha Textual's CSS adds to some ("$text 60%")
    ('variables = { "text" = "red !important" }',
     "variables: 'text' is not a colour Textual takes: 'red !important'"),
    # Textual's colour system reads this one back as a plain colour itself
    ('variables = { "background-darken-1" = "red 50%" }',
     "variables: 'background-darken-1' is not a plain colour: 'red 50%'"),
    ('variables = { "footer-key-foregound" = "#ff0000" }',
     "variables: 'footer-key-foregound' is not a variable of Textual's themes"),
    ('variables = { "text" = 1 }', "variables: 'text' must be a string, not 1"),
    ('variables = { "border" = "\\u001b[2J" }',
     "variables: 'border' is not a colour Textual takes: '\\x1b[2J'"),
])
def test_a_theme_with_a_value_textual_would_fail_on_is_skipped_naming_it(tmp_path, extra,
                                                                          said):
    (tmp_path / "iso.toml").write_text(ISO + extra + "\n")
    loaded = load_themes(tmp_path)
    assert "iso" not in [t.name for t in loaded.themes]
    assert loaded.problems == [f"{tmp_path / 'iso.toml'}: {said}"]


async def test_a_theme_with_variables_textual_takes_loads_and_applies(tmp_path,
                                                                      console_factory):
    (tmp_path / "iso.toml").write_text(
        ISO + "luminosity_spread = 1\ntext_alpha = 0\n[variables]\n"
        '"footer-key-foreground" = "#ff0000"\n"block-cursor-text-style" = "bold underline"\n'
        '"text" = "auto 50%"\n"border" = "red 50%"\n')
    loaded = load_themes(tmp_path)
    assert loaded.problems == []
    [iso] = [t for t in loaded.themes if t.name == "iso"]
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.app.register_theme(iso)
        c.app.theme = "iso"  # as the palette's Theme picks it
        await pilot.pause()
        assert c.app.theme_variables["footer-key-foreground"] == "#ff0000"
        assert c.app.is_running


@pytest.mark.parametrize("value", ["red 50%", "initial", "not underline"])
async def test_every_variable_set_to_a_value_the_checks_take_is_one_the_console_runs_with(
        console_factory, value):
    """The checks try a value where Textual's default for the variable is taken; this
    holds them to Textual's stylesheets: a theme setting every variable that takes
    `value` to it is applied, and the console, its help and its palette still run."""
    variables = {name: value for name in theme_values.textual_variables()
                 if theme_values.variable_problem(name, value) is None}
    assert variables  # some variable takes each of these
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.app.register_theme(Theme(name="every", primary="#3b82c4", variables=variables))
        c.app.theme = "every"
        await pilot.pause()
        for key in ("question_mark", "escape", "ctrl+p", "escape"):
            await pilot.press(key)
            await pilot.pause()
        assert c.app.theme_variables["primary"] and c.app.is_running
        assert c.app.return_code is None


def test_the_built_in_themes_pass_the_checks_a_user_theme_gets():
    # load_themes skips the value checks for the package's own files (a cost at every
    # start): they are held to them here
    for path in sorted(Path(vmconsole.themes.__file__).parent.glob("*.toml")):
        theme_from_toml(path.read_text(encoding="utf-8"), path.name, check_values=True)


@pytest.mark.parametrize("name", [DEFAULT_THEME, "vmconsole-light", "nord", "textual-dark",
                                  # a second tester's: they read as built-ins in the picker
                                  "nord ", "Nord", "textual-dar\u1e31", "\uff4e\uff4f\uff52\uff44"])
def test_a_user_theme_may_not_take_a_built_in_theme_s_name(tmp_path, name):
    # A tester's finding: a user theme named vmconsole-dark replaced the default silently
    (tmp_path / "mine.toml").write_text(f'name = "{name}"\nprimary = "#ff0000"\n',
                                        encoding="utf-8")
    loaded = load_themes(tmp_path)
    assert loaded.problems == [f"{tmp_path / 'mine.toml'}: 'name' {name!r} is taken by a "
                               "built-in theme: give yours a name of its own"]
    assert all(t.primary != "#ff0000" for t in loaded.themes)


def test_a_second_user_theme_of_a_name_is_skipped_naming_the_first(tmp_path):
    for file, colour in (("a.toml", "#ff0000"), ("b.toml", "#00ff00")):
        (tmp_path / file).write_text(f'name = "mine"\nprimary = "{colour}"\n')
    loaded = load_themes(tmp_path)
    assert [t.primary for t in loaded.themes if t.name == "mine"] == ["#ff0000"]
    assert loaded.problems == [f"{tmp_path / 'b.toml'}: 'name' 'mine' is taken by "
                               f"{tmp_path / 'a.toml'}: give yours a name of its own"]
