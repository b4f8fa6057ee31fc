"""`vmconsole ha run|status --profile NAME`: the HA manager for a profile's libvirt
clusters (a foreground daemon), and what it sees."""

from __future__ import annotations

import argparse
import sys

from vmconsole.commands import config_after_action
from vmconsole.stdout import print_line, print_line_or_drop
from vmconsole.text import visible_lines


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("ha", help="the HA manager for libvirt clusters: fence lost "
                            "nodes and recover their HA guests (quorum required)")
    parser.add_argument("--config", metavar="PATH", help="config file")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, text in (("run", "run the manager in the foreground (SIGTERM or Ctrl+C "
                                "stops it)"),
                       ("status", "print the manager's view: quorum, nodes, services, "
                                  "its last decisions")):
        action = actions.add_parser(name, help=text)
        action.add_argument("--profile", required=True, help="the profile whose libvirt "
                            "clusters (each with an `ha` table) the manager watches")
        config_after_action(action, "config file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vmconsole.config import ConfigError, load_config

    try:
        profile = load_config(args.config).clusters(args.profile)
    except ConfigError as exc:
        print(f"vmconsole ha: {visible_lines(exc)}", file=sys.stderr)
        return 2
    try:
        from vmconsole.ha import daemon
    except ImportError as exc:  # the manager reads its hosts through libvirt-python
        from vmconsole.backends import install_hint

        print(f"vmconsole ha: {install_hint(exc.name, 'libvirt')}", file=sys.stderr)
        return 2
    try:
        clusters = daemon.ha_clusters(profile)
    except daemon.HAError as exc:
        print(f"vmconsole ha: {visible_lines(exc)}", file=sys.stderr)
        return 2
    if args.action == "status":
        from vmconsole.ha.report import status_lines
        from vmconsole.ha.status import read_status

        for cluster in clusters:
            path = daemon.status_path(cluster)
            print_line(visible_lines("\n".join(status_lines(read_status(path), str(path)))))
        return 0
    from vmconsole.stderr_pipe import stderr_through

    try:
        # a manager whose reader left (`ha run | head`) goes on fencing and recovering:
        # its decisions are still in the audit log and the status file. What libvirt's
        # libraries write to stderr reaches the terminal made visible.
        with stderr_through():
            daemon.run(clusters, lambda line: print_line_or_drop(visible_lines(line)))
    except daemon.HAError as exc:
        print(f"vmconsole ha: {visible_lines(exc)}", file=sys.stderr)
        return 1
    return 0
