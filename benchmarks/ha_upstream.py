"""pve-ha-manager's own regression scenarios (`src/test/test-*`: a cmdlist, the
hardware, the services and the `log.expect` the real manager writes) played in the
simulator and held against their logs, as `vmconsole.backends.sim.ha_testrun` does for
one directory: the key events (node state changes, fence, agent lock taken, recovery,
start) each within one harness round (20 s), and where every service runs at the end.

Upstream's files are AGPL: none is committed here, and the suite does not run this (it
has no network to fetch them). Give it a local checkout of the public repository
(proxmox/pve-ha-manager; the figures in docs/simulator.md are from commit
b71218f279d57417dbcdd957128499695fe55171) or its `src/test` directory:

    python benchmarks/ha_upstream.py PATH [--verbose]

Prints `scenarios: N` (all of them), `played: N` (those the importer can express),
`matched: M` (of those played), then why the others are not played, grouped by cause
(`unplayable: CAUSE: N`), and the families of scenarios whose logs differ
(`differs: FAMILY: N`). With --verbose, each differing scenario's missing and extra
events.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vmconsole.backends.sim.ha_testrun import Comparison, compare

# What the importer cannot express, by the first words of its reason.
_CAUSES = (
    (re.compile(r"file (static|dynamic)_service_stats|set-(static|dynamic)-stats"),
     "CRS static/dynamic service statistics (the balance work, not modelled here)"),
    (re.compile(r"manager_status"), "a manager status the simulator cannot start from"),
    (re.compile(r"cannot play 'pve-manager-version"), "pve-manager-version (mixed versions)"),
    (re.compile(r"cannot play 'service \S+ manual-migrate"), "manual-migrate of a service"),
    (re.compile(r"datacenter.cfg options"), "datacenter.cfg options beyond shutdown_policy"),
)


def tests_in(path: Path) -> list[Path]:
    """The scenario directories under a checkout, its src/test, or a list of them."""
    for root in (path / "src" / "test", path):
        found = sorted(p for p in root.glob("test-*") if (p / "cmdlist").is_file())
        if found:
            return found
    raise SystemExit(f"{path}: no pve-ha-manager test directories (test-*/cmdlist)")


def cause(reason: str) -> str:
    """The cause a scenario is not played, as the first matching entry of _CAUSES."""
    return next((text for pattern, text in _CAUSES if pattern.search(reason)),
                reason.split(";")[0])


def family(name: str) -> str:
    """test-resource-affinity-strict-mixed3 -> resource-affinity-strict-mixed."""
    return re.sub(r"\d+$", "", name.removeprefix("test-"))


def report(results: list[Comparison], verbose: bool) -> list[str]:
    played = [r for r in results if r.playable]
    lines = [f"scenarios: {len(results)}", f"played: {len(played)}",
             f"matched: {sum(r.matches for r in played)}"]
    unplayable = Counter(cause(r.reason) for r in results if not r.playable)
    lines += [f"unplayable: {text}: {n}" for text, n in unplayable.most_common()]
    differing = [r for r in played if not r.matches]
    families = Counter(family(r.name) for r in differing)
    lines += [f"differs: {name}: {n}" for name, n in sorted(families.items())]
    if verbose:
        lines += [r.describe() for r in differing]
    return lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path, help="a pve-ha-manager checkout or its src/test")
    parser.add_argument("--verbose", action="store_true",
                        help="each differing scenario's missing and extra events")
    args = parser.parse_args(argv)
    results = [compare(path) for path in tests_in(args.path)]
    print("\n".join(report(results, args.verbose)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
