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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vmconsole",
        description="A keyboard-driven console for libvirt, Proxmox VE and vCenter clusters. "
        "With no configuration it opens a simulated three-node cluster.",
    )
    parser.add_argument("--version", action="version", version=f"vmconsole {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # No subcommand means the console: `vmconsole --profile lab` == `vmconsole console ...`
    if not args_list or (args_list[0].startswith("-") and args_list[0] not in (
        "-h", "--help", "--version"
    )):
        args_list.insert(0, "console")
    args = parser.parse_args(args_list)
    try:
        result: int = args.func(args)
        sys.stdout.flush()  # what is still buffered meets a closed pipe here
    except BrokenPipeError:  # `vmconsole audit | head`: the reader has what it wanted
        send_to_devnull()
        return EXIT_PIPE_CLOSED
    return result
