"""The package list, the one thing pyproject.toml cannot say: every package under
vmconsole/ plus vmconsole.themes, whose files live in the top-level themes/ (mapped by
[tool.setuptools] package-dir in pyproject.toml)."""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["vmconsole*"]), "vmconsole.themes"])
