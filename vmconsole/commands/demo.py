"""`vmconsole demo`: the simulated cluster, at any size, seed or scenario."""

from __future__ import annotations

import argparse
import sys

from vmconsole.commands.console import add_console_options, load_or_exit, run_console
from vmconsole.config import SimCluster
from vmconsole.config.sim_limits import shape_refusals

# SimCluster's fields as this command's options name them
OPTION_OF_FIELD = {"nodes": "--nodes", "guests": "--guests", "time_scale": "--speed"}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("demo", help="a simulated cluster (larger ones for trying scale)")
    add_console_options(parser)
    parser.add_argument("--nodes", type=int, default=3, help="number of nodes (default 3)")
    parser.add_argument("--guests", type=int, default=0,
                        help="number of guests (default: the classic lab's guests)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the load model")
    parser.add_argument("--speed", type=float, default=1.0, help="time scale (10 = 10x)")
    parser.add_argument("--scenario", metavar="NAME|FILE",
                        help="a teaching scenario to run (--list-scenarios names them), a "
                        "lesson file (TOML) or a pve-ha-manager test directory")
    parser.add_argument("--list-scenarios", action="store_true",
                        help="print the scenarios with what each shows, and exit")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.list_scenarios:
        from vmconsole.backends.sim.scenarios import describe

        scenarios = describe()
        width = max(len(name) for name, _ in scenarios)
        for name, description in scenarios:
            print(f"{name:{width}}  {description}")
        return 0
    cluster = SimCluster(nodes=args.nodes, guests=args.guests, seed=args.seed,
                         time_scale=args.speed, scenario=args.scenario)
    problems = shape_refusals(cluster.nodes, cluster.guests, cluster.time_scale)
    if problems:
        # The user typed options, not the config file's keys: name what they typed.
        print("vmconsole demo: " + "; ".join(
            f"{OPTION_OF_FIELD[key]} must be {reason}" for key, reason in problems.items()),
            file=sys.stderr)
        return 2
    config = load_or_exit(args)
    return run_console(args, config, (cluster,), args.read_only)
