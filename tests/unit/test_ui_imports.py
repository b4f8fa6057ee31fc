"""The UI's modules stand alone: each imports in a fresh interpreter by itself, and no
chain of imports (TYPE_CHECKING ones included) leads from one back to itself. A circle
makes a module's meaning depend on which of its members was imported first."""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys

import grimp

import vmconsole.ui

CHILD = """
import importlib, os, sys
import textual.app, textual.widgets  # the libraries are shared; vmconsole is not
names = sys.argv[1:]
failed = []
for name in names:
    pid = os.fork()
    if pid == 0:
        try:
            importlib.import_module(name)
        except BaseException as exc:
            print(f"{name}: {type(exc).__name__}: {exc}", flush=True)
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    if status:
        failed.append(name)
sys.exit(1 if failed else 0)
"""


def ui_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(vmconsole.ui.__path__, "vmconsole.ui."))


def test_each_ui_module_imports_alone() -> None:
    names = ui_modules()
    assert "vmconsole.ui.app" in names and "vmconsole.ui.flows" in names
    done = subprocess.run([sys.executable, "-c", CHILD, *names], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": ""})
    assert done.returncode == 0, done.stdout + done.stderr


def test_no_import_circle_in_the_ui() -> None:
    graph = grimp.build_graph("vmconsole")
    circles = []
    for module in sorted(m for m in graph.modules if m.startswith("vmconsole.ui")):
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.startswith("vmconsole.ui") and imported != module:
                back = graph.find_shortest_chain(importer=imported, imported=module)
                if back:
                    circles.append(" -> ".join((module, *back)))
    assert circles == []
