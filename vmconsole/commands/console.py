"""`vmconsole [console]`: open the console on a profile (none: the demo cluster)."""

from __future__ import annotations

import argparse
import sys

from vmconsole.config import ClusterConfig, Config, ConfigError, load_config
from vmconsole.text import visible_lines


def add_console_options(parser: argparse._ActionsContainer) -> None:
    """The options of the console, which `demo` takes too and `vmconsole --help` shows
    (`cli.build_parser`)."""
    parser.add_argument("--config", metavar="PATH", help="config file (default: "
                        "$VMCONSOLE_CONFIG or $XDG_CONFIG_HOME/vmconsole/config.toml)")
    parser.add_argument("--profile", metavar="NAME", help="a profile from the config file")
    parser.add_argument("--theme", metavar="NAME", help="a built-in or user theme")
    parser.add_argument("--ascii", action="store_true", default=None,
                        help="plain ASCII symbols, for terminals without Unicode")
    parser.add_argument("--read-only", action="store_true",
                        help="change nothing: every operation is refused, whatever the "
                        "role (a profile may say read_only = true)")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("console", help="open the console (the default command)")
    add_console_options(parser)
    parser.set_defaults(func=run)


def load_or_exit(args: argparse.Namespace) -> Config:
    """The config of a command that opens the console (`console`, `demo`, `serve`), its
    [keys] checked against Textual's key names; exits 2 with the reason otherwise."""
    try:
        config = load_config(args.config)
        if config.keys:  # Textual's key names: imported only when a key is remapped
            from vmconsole.ui.keymap import check_key_names

            check_key_names(config)
        return config
    except ConfigError as exc:
        print(f"vmconsole: {visible_lines(exc)}", file=sys.stderr)
        raise SystemExit(2) from None


def run_console(args: argparse.Namespace, config: Config,
                clusters: tuple[ClusterConfig, ...], read_only: bool) -> int:
    from vmconsole.ui.launch import launch

    return launch(config, clusters, theme=args.theme, ascii=args.ascii, read_only=read_only)


def run(args: argparse.Namespace) -> int:
    config = load_or_exit(args)
    try:
        clusters = config.clusters(args.profile)
    except ConfigError as exc:
        print(f"vmconsole: {visible_lines(exc)}", file=sys.stderr)
        return 2
    return run_console(args, config, clusters,
                       args.read_only or config.read_only(args.profile))
