"""`vmconsole ping ADDRESS`: probe at up to 100 Hz and report every outage as it ends."""

from __future__ import annotations

import argparse
import sys
import threading

from vmconsole.stdout import print_line
from vmconsole.text import visible


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "ping", help="measure outages of an address (e.g. during a migration)",
        description="Probe ADDRESS at a fixed rate; print each outage as it ends and a "
        "summary at the end (Ctrl+C ends early). Exit 0, or 2 when the address cannot "
        "be probed.")
    parser.add_argument("address", metavar="ADDRESS", help="IP address or host name")
    parser.add_argument("--interval", type=float, default=0.01, metavar="S",
                        help="seconds between probes, down to 0.01 (default 0.01)")
    bound = parser.add_mutually_exclusive_group()
    bound.add_argument("--count", "-c", type=int, metavar="N", help="stop after N probes")
    bound.add_argument("--duration", "-w", type=float, metavar="S",
                       help="stop after S seconds (default: one hour, or Ctrl+C)")
    parser.add_argument("--tcp", type=int, metavar="PORT",
                        help="TCP connect to PORT instead of ICMP echo (no root needed)")
    parser.add_argument("--netns", metavar="NAME",
                        help="probe from inside network namespace NAME (ip netns; root)")
    parser.add_argument("--timeout", type=float, metavar="S",
                        help="a reply later than this counts as lost "
                        "(default: twice the interval, at least 0.1)")
    parser.add_argument("--min-lost", type=int, default=1, metavar="N",
                        help="consecutive lost probes that make an outage (default 1)")
    parser.set_defaults(func=run)


ERROR_LIMIT = 300  # characters: an error names the address, not all of a hostile one


def _fail(message: str) -> int:
    """One line on stderr, exit 2: the message may quote the user's address, so its
    line breaks are escaped too, and a huge address is cut."""
    print(f"vmconsole ping: {visible(message, ERROR_LIMIT)}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    from vmconsole.monitor.ping import NetnsError, Outage, PingMonitor, ProbeError, ProbeTarget
    from vmconsole.monitor.ping.report import format_duration, outage_line, summary_lines

    if args.min_lost < 1:
        return _fail("--min-lost must be at least 1")
    reader_left = threading.Event()

    def report(outage: Outage) -> None:  # on the probe engine's thread
        try:
            print_line(outage_line(outage))
        except BrokenPipeError:
            reader_left.set()  # the main thread stops the session and ends

    try:
        if args.tcp is None:
            target = ProbeTarget.icmp(args.address, netns=args.netns)
        else:
            target = ProbeTarget.tcp(args.address, args.tcp, netns=args.netns)
        monitor = PingMonitor()
        session = monitor.start(
            target, interval=args.interval, timeout=args.timeout, count=args.count,
            duration=args.duration, min_lost=args.min_lost,
            on_outage=report)
    except (ProbeError, NetnsError, ValueError) as exc:
        return _fail(str(exc))
    try:
        print_line(f"PING {target.label}: every {format_duration(session.interval)}, "
                   f"timeout {format_duration(session.timeout)}")
        while not session.wait(0.2) and not reader_left.is_set():
            pass
    except KeyboardInterrupt:
        pass
    finally:  # Ctrl+C, or the reader left: no probe goes on behind the exit
        session.stop()
        session.wait(2.0)
    if reader_left.is_set():
        raise BrokenPipeError("the reader of the outage lines left")
    print_line("\n".join(summary_lines(session.snapshot())))
    return 0
