"""The `vmconsole` command: the console by default, and one subcommand per module in
`vmconsole/commands/` (each has `register(subparsers)`; heavy imports stay inside its
`run`, so `vmconsole --help` and start-up stay fast)."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from typing import NoReturn

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
    if only is None:  # the whole parser, the one `vmconsole --help` shows
        from vmconsole.commands.console import add_console_options

        # Shown here, taken by the commands: `command_first` moves them after the
        # command's name before any parser reads them. SUPPRESS: no value of theirs
        # is set here over a command's.
        add_console_options(parser.add_argument_group(
            "the console's options", "with no COMMAND they open the console; they may "
            "also go before a COMMAND that takes them (vmconsole --config F demo); "
            "one that does not take an option says which of them it takes",
            argument_default=argparse.SUPPRESS))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in command_names() if only is None else [only]:
        module = importlib.import_module(f"{commands.__name__}.{name}")
        module.register(sub)
    return parser


def leading_options() -> dict[str, int]:
    """The options a user may give before the command as after it (`vmconsole --config F
    demo`): the console's, each with the number of values it takes (0 or 1)."""
    from vmconsole.commands.console import add_console_options

    parser = argparse.ArgumentParser(add_help=False)
    add_console_options(parser)
    return {option: 0 if action.nargs == 0 else 1
            for action in parser._actions for option in action.option_strings}


def _options_end(args: list[str], start: int) -> int:
    """The index of the first word from `start` on that is neither one of the console's
    options nor the value of one."""
    if start >= len(args) or not args[start].startswith("-"):
        return start  # `vmconsole audit`: the console's module and config not imported
    arity = leading_options()
    end = start
    while end < len(args) and args[end].split("=", 1)[0] in arity:
        end += 1 + ("=" not in args[end] and arity[args[end]])
    return end


def command_first(args: list[str]) -> list[str]:
    """`args` with the command first, as its parser reads them: the console's options
    given before the command, or between it and its action, moved after its first word
    (`vmconsole --config F ha status --profile P` and `vmconsole ha --profile P status`
    are `vmconsole ha status --config F --profile P`); no command means the console
    (`vmconsole --profile lab` is `vmconsole console --profile lab`). A command that
    does not take a moved option refuses it as it would after its name."""
    if not args:
        return ["console"]
    if args[0] in ("-h", "--help", "--version"):
        return args
    if args[0].startswith("-"):
        end = _options_end(args, 0)
        if end >= len(args) or args[end].startswith("-"):
            return ["console", *args]
        # A word after the options names the command (or is a mistyped one, which the
        # whole parser then lists the commands for).
        command, before, rest = args[end], args[:end], args[end + 1:]
    else:
        end = _options_end(args, 1)
        command, before, rest = args[0], args[1:end], args[end:]
    # Put after the command's first word too, the options reach `ha`'s and `lab`'s
    # actions, which take them there: before it, argparse reads the option as `ha`'s,
    # which has none, and its value as the action.
    split = 1 if rest and not rest[0].startswith("-") else 0
    return [command, *rest[:split], *before, *rest[split:]]


def _options_of(parser: argparse.ArgumentParser) -> set[str]:
    """Every option string `parser` takes, its commands' and their actions' included
    (`ha status --profile`)."""
    taken: set[str] = set()
    for action in parser._actions:
        taken.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                taken |= _options_of(sub)
    return taken


def refuse_unknown(parser: argparse.ArgumentParser, command: str,
                   unknown: list[str]) -> NoReturn:
    """Exit 2 for the words of `unknown` that `command`'s parser did not take. One of the
    console's options, before the command or after it, is named with the ones the
    command does take, so `vmconsole --config F audit` says that audit reads no config
    file rather than argparse's bare "unrecognized arguments"; any other word gets
    argparse's refusal."""
    console = leading_options()
    given = next((word.split("=", 1)[0] for word in unknown
                  if word.split("=", 1)[0] in console), None)
    if given is None:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    taken = [option for option in console if option in _options_of(parser)]
    # `command` is one of command_names(): a mistyped one fails parsing before this.
    why = (f"of the console's options it takes {', '.join(taken)}" if taken else
           "it reads no config file and takes none of the console's options")
    print(f"vmconsole {command}: {given} is not an option of {command}: {why} "
          f"(`vmconsole {command} --help` lists its own)", file=sys.stderr)
    raise SystemExit(2)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = command_first(list(sys.argv[1:] if argv is None else argv))
    # A known command gets a parser of its own: the other commands' modules (serve's,
    # lab's, ...) are not imported before the console's first screen (issue 12). `-h`,
    # `--version` and a mistyped command get the whole parser and its list of commands.
    parser = build_parser(args_list[0] if args_list[0] in command_names() else None)
    args, unknown = parser.parse_known_args(args_list)
    if unknown:
        refuse_unknown(parser, args_list[0], unknown)
    try:
        result: int = args.func(args)
        sys.stdout.flush()  # what is still buffered meets a closed pipe here
    except BrokenPipeError:  # `vmconsole audit | head`: the reader has what it wanted
        send_to_devnull()
        return EXIT_PIPE_CLOSED
    return result
