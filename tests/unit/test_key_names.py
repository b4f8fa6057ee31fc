"""[keys] values are checked against the keys Textual reports (a tester's finding: `F3`,
`Down` and `f99` were taken, and their action had no key), and the console's own
bindings pass the same check."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from textual.binding import Binding

import vmconsole.ui
from vmconsole.config import ConfigError, parse_config
from vmconsole.ui.keymap import check_key_names


def _config(value: str):
    text = f'[keys]\n"tree.down" = "{value}"\n'
    return parse_config({"keys": {"tree.down": value}}, None, text)


@pytest.mark.parametrize("value", [
    "j", "J", "1", "down", "f1", "f24", "enter", "escape", "space", "tab", "pagedown",
    "question_mark", "slash", "asterisk", "full_stop", "circumflex_accent", "ctrl+p",
    "shift+f3", "ctrl+shift+up", "alt+j", "j,down"])
def test_a_textual_key_name_is_taken(value):
    check_key_names(_config(value))


@pytest.mark.parametrize(("value", "why"), [
    ("notakey", "'notakey' is no key Textual reports"),
    ("Down", "'Down' is no key"), ("f99", "'f99' is no key"), ("F3", "'F3' is no key"),
    ("ctrl+notakey", "'notakey' is no key"), ("shift+F3", "'F3' is no key"),
    ("j,F3", "F3: 'F3' is no key"), ("control+j", "'control' is not a modifier"),
    ("ctrl+ctrl+j", "a modifier is given twice"),
])
def test_a_name_textual_never_reports_is_refused_with_its_line_and_why(value, why):
    with pytest.raises(ConfigError) as caught:
        check_key_names(_config(value))
    assert caught.value.line == 2
    assert caught.value.key == 'keys."tree.down"'
    assert why in str(caught.value)


def _own_keys() -> set[str]:
    """Every key of every BINDINGS a class of vmconsole.ui declares."""
    keys: set[str] = set()
    for info in pkgutil.walk_packages(vmconsole.ui.__path__, "vmconsole.ui."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            for binding in vars(cls).get("BINDINGS", ()):
                key = binding.key if isinstance(binding, Binding) else binding[0]
                keys.update(key.split(","))
    return keys


def test_every_key_of_the_console_s_own_bindings_is_a_textual_key_name():
    keys = _own_keys()
    assert {"q", "question_mark", "tab"} <= keys  # the walk found the bindings
    # as the config reads them too: its check of their form first
    check_key_names(parse_config({"keys": {f"id{n}": key for n, key in enumerate(keys)}}))
