"""`vmconsole serve`: the console over SSH, one per session, with roles (docs/serve.md)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from vmconsole.commands.console import load_or_exit
from vmconsole.config import ConfigError
from vmconsole.text import visible_lines


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("serve", help="serve the console over SSH (public keys, roles)")
    parser.add_argument("--listen", default="127.0.0.1:2222", metavar="HOST:PORT",
                        help="address to listen on (default 127.0.0.1:2222)")
    parser.add_argument("--host-key", metavar="PATH", help="the server's key, made on first "
                        "use (default $XDG_STATE_HOME/vmconsole/ssh_host_ed25519_key)")
    parser.add_argument("--authorized-keys", metavar="PATH", help="client keys and their "
                        "roles (default $XDG_CONFIG_HOME/vmconsole/authorized_keys)")
    parser.add_argument("--config", metavar="PATH", help="config file")
    parser.add_argument("--profile", metavar="NAME", help="a profile from the config file")
    parser.add_argument("--theme", metavar="NAME", help="the consoles' theme")
    parser.add_argument("--read-only", action="store_true",
                        help="every console changes nothing, whatever its role (a profile "
                        "may say read_only = true)")
    parser.add_argument("--max-sessions", type=int, default=30, metavar="N",
                        help="consoles at once; the next is refused (default 30)")
    parser.add_argument("--idle-timeout", type=float, default=0, metavar="SECONDS",
                        help="end a console after this long without input (default: never)")
    parser.add_argument("--login-grace-time", type=float, default=10.0, metavar="SECONDS",
                        help="close a connection not logged in by then (default 10)")
    parser.add_argument("--max-startups", default="64:30:256", metavar="START:RATE:FULL",
                        help="random early drop of connections waiting to log in, as "
                        "sshd's MaxStartups (default 64:30:256)")
    parser.add_argument("--per-source-startups", type=int, default=32, metavar="N",
                        help="connections waiting to log in from one address; 0: no "
                        "limit (default 32)")
    parser.add_argument("--warm-sessions", type=int, default=8, metavar="N",
                        help="viewers' consoles kept drawn and waiting for a login; set it "
                        "to a class's size (default 8)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vmconsole.log_format import log_to_stderr
    from vmconsole.serve.keys import default_authorized_keys_path, default_host_key_path
    from vmconsole.serve.limits import Limits, Startups
    from vmconsole.serve.run import parse_listen, serve
    from vmconsole.stderr_pipe import stderr_through

    config = load_or_exit(args)
    try:
        clusters = config.clusters(args.profile)
        listen = parse_listen(args.listen)
        if args.warm_sessions < 0:
            raise ValueError("--warm-sessions must be 0 or more")
        limits = Limits(max_sessions=args.max_sessions, idle_timeout=args.idle_timeout,
                        login_grace_time=args.login_grace_time,
                        max_startups=Startups.parse(args.max_startups),
                        per_source_startups=args.per_source_startups)
    except (ConfigError, ValueError) as exc:
        print(f"vmconsole serve: {visible_lines(exc)}", file=sys.stderr)
        return 2
    log_to_stderr()
    logging.getLogger("asyncssh").setLevel(logging.WARNING)
    host_key = Path(args.host_key).expanduser() if args.host_key else default_host_key_path()
    keys = (Path(args.authorized_keys).expanduser() if args.authorized_keys
            else default_authorized_keys_path())
    # What the hubs' libraries and the session processes write to stderr reaches the
    # administrator's terminal made visible: libxml2 names a `test:///` URI's file raw.
    with stderr_through():
        return serve(config, clusters, listen, host_key, keys, limits, theme=args.theme,
                     read_only=args.read_only or config.read_only(args.profile),
                     warm_sessions=args.warm_sessions)
