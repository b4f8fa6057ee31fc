"""The `vmconsole` subcommands, one module each (see vmconsole/cli.py)."""

from __future__ import annotations

import argparse


def config_after_action(action: argparse.ArgumentParser, text: str) -> None:
    """Let an action's parser take `--config PATH` too (`vmconsole lab up --config F`),
    as its command's parser takes it before the action: the user need not remember
    where it goes. argparse.SUPPRESS keeps a --config given before the action when
    none follows it; one given after wins."""
    action.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help=text)
