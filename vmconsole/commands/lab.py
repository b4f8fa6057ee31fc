"""`vmconsole lab up|down|status|fail|restore`: a real libvirt cluster on this machine
(root only)."""

from __future__ import annotations

import argparse
import sys

from vmconsole.commands import config_after_action
from vmconsole.config import config_path
from vmconsole.stdout import print_line, print_line_or_drop
from vmconsole.text import visible_lines


def _say(line: str) -> None:
    """Print a line of the lab's progress: it quotes libvirt, ip and QEMU, whose words
    are data (made visible, never terminal control). A lab half built or half torn
    down because the reader left (`lab up | head`) would be worse than lines lost."""
    print_line_or_drop(visible_lines(line))


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("lab", help="build a real libvirt cluster on this machine "
                            "(network namespaces, one libvirtd per node, TCG guests)")
    parser.add_argument("--config", metavar="PATH", help="config file of the 'lab' profile "
                        "(up writes it, down removes it, status says whether it is there)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    build = actions.add_parser("up", help="build the lab (idempotent) and write the 'lab' "
                               "profile")
    build.add_argument("--nodes", type=int, default=3, help="number of nodes (default 3)")
    build.add_argument("--guests", type=int, default=2,
                       help="number of running guests (default 2)")
    build.add_argument("--containers", type=int, default=1,
                       help="number of running containers (default 1)")
    build.add_argument("--ha-guests", type=int, default=0, metavar="N",
                       help="make the first N new guests HA services on the shared san "
                       "(default 0); the lab's HA manager recovers them")
    build.add_argument("--ha-fence-delay", type=float, metavar="S",
                       help="the HA manager's fence delay (default Proxmox's 60 s)")
    build.add_argument("--ha-round", type=float, metavar="S",
                       help="the HA manager's round (default Proxmox's 10 s)")
    actions.add_parser("down", help="remove everything the lab made, and its profile")
    fail = actions.add_parser("fail", help="make a node fail: its power, network or storage")
    fail.add_argument("node", help="the node, e.g. pve2")
    how = fail.add_mutually_exclusive_group(required=True)
    for fault, text in (("power", "kill its libvirtd and guests at once (a pulled plug)"),
                        ("network", "cut its link to the LAN and the console's way in"),
                        ("storage", "cut its path to the iSCSI target")):
        how.add_argument(f"--{fault}", dest="fault", action="store_const", const=fault,
                         help=text)
    restore = actions.add_parser("restore", help="undo a node's failure")
    restore.add_argument("node", help="the node, e.g. pve2")
    actions.add_parser("status", help="what of the lab is up")
    # What each action does with the config file (fail and restore find the lab's nodes
    # in its own directory, yet take --config as every action does).
    for name, config_help in (
            ("up", "config file that receives the 'lab' profile"),
            ("down", "config file whose 'lab' profile is removed"),
            ("status", "config file in which to look for the 'lab' profile"),
            ("fail", "config file (not read: the lab is found in its directory)"),
            ("restore", "config file (not read: the lab is found in its directory)")):
        config_after_action(actions.choices[name], config_help)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Imported here: `vmconsole --help` must not need libvirt-python.
    from vmconsole.lab import checks
    from vmconsole.lab.shell import LabError, LabRefused

    if problems := checks.problems(reading=args.action == "status"):
        for problem in problems:
            print(f"vmconsole lab: {visible_lines(problem)}", file=sys.stderr)
        return 2
    from vmconsole.lab import builder

    config = config_path(args.config)
    try:
        if args.action == "up":
            times = {key: value for key, value in (("fence_delay", args.ha_fence_delay),
                                                   ("round", args.ha_round)) if value is not None}
            builder.up(args.nodes, args.guests, config, _say, args.containers,
                       args.ha_guests, times)
            _say("open it with: vmconsole --profile lab")
        elif args.action == "down":
            return 1 if builder.down(config, _say) else 0
        elif args.action == "fail":
            from vmconsole.lab.faults import LabFault

            builder.fail(args.node, LabFault(args.fault), _say)
        elif args.action == "restore":
            builder.restore(args.node, _say)
        else:
            print_line(visible_lines("\n".join(builder.status(config))))
    except LabError as exc:
        print(f"vmconsole lab: {visible_lines(exc)}", file=sys.stderr)
        if isinstance(exc, LabRefused):
            return 2  # as for any other bad argument: nothing was made
        if args.action == "up":
            print("vmconsole lab: `vmconsole lab down` removes what was made so far",
                  file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # Ctrl+C halfway: what was made stays (a node's namespace, its libvirtd), and the
        # way to finish or undo it is said instead of a traceback from inside libvirt.
        print(f"vmconsole lab {args.action}: interrupted; `vmconsole lab up` completes "
              "the lab, `vmconsole lab down` removes what was made so far", file=sys.stderr)
        return 130  # a shell's status for a command ended by SIGINT
    return 0
