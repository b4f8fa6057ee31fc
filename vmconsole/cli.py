"""The `vmconsole` command: the console by default, and one subcommand per module in
`vmconsole/commands/` (each has `register(subparsers)`; heavy imports stay inside its
`run`, so `vmconsole --help` and start-up stay fast)."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from vmconsole import __version__, commands
from vmconsole.stdout import EXIT_PIPE_CLOSED, send_to_devnull


def command_names() -> list[str]:
    """The subcommands: one per module of `vmconsole/commands/`, found without importing
    any of them."""
    return sorted(info.name for info in pkgutil.iter_modules(commands.__path__))


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line, or with `only` one subcommand: its module alone is
    imported, not every command's (the console's start needs only `console`'s)."""
    parser = argparse.ArgumentParser(
        prog="vmconsole",
        description="A keyboard-driven console for libvirt, Proxmox VE and vCenter clusters. "
        "With no configuration it opens a simulated three-node cluster.",
    )
    parser.add_argument("--version", action="version", version=f"vmconsole {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in command_names() if only is None else [only]:
        module = importlib.import_module(f"{commands.__name__}.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    # No subcommand means the console: `vmconsole --profile lab` == `vmconsole console ...`
    if not args_list or (args_list[0].startswith("-") and args_list[0] not in (
        "-h", "--help", "--version"
    )):
        args_list.insert(0, "console")
    # A known command gets a parser of its own: the other commands' modules (serve's,
    # lab's, ...) are not imported before the console's first screen (issue 12). `-h`,
    # `--version` and a mistyped command get the whole parser and its list of commands.
    parser = build_parser(args_list[0] if args_list[0] in command_names() else None)
    args = parser.parse_args(args_list)
    try:
        result: int = args.func(args)
        sys.stdout.flush()  # what is still buffered meets a closed pipe here
    except BrokenPipeError:  # `vmconsole audit | head`: the reader has what it wanted
        send_to_devnull()
        return EXIT_PIPE_CLOSED
    return result
