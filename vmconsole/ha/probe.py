"""The probe of a node's address, besides its libvirtd (`probe` in the `ha` table): a
node is lost when its libvirtd stops answering or, where a probe is configured, when
its address does not answer one either, as corosync loses a node whose totem token it
no longer gets although its other services may still run.

Each round probes every node at once, each at most `PROBE_ATTEMPTS` times of `timeout`
seconds, stopping at the first answer: a live node costs one round trip, a dead one
adds at most `PROBE_ATTEMPTS * timeout` to the round.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

import icmplib

from vmconsole.config import HAManagerConfig

#: Probes per node and round before it counts as not answering (a lost datagram or a
#: busy node is not a lost node).
PROBE_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class NodeProbe:
    """How nodes are probed: `kind` "icmp" (echo request) or "tcp" (a connect to
    `port`, which must be accepted: a refusal says the node's service is down);
    `timeout` in seconds per attempt; `addresses` gives a node's address where it is
    not the host of its libvirt URI."""

    kind: str
    port: int | None = None
    timeout: float = 1.0
    addresses: Mapping[str, str] | None = None

    @property
    def label(self) -> str:
        """"TCP port 22" or "ICMP echo", for the manager's decisions."""
        return f"TCP port {self.port}" if self.kind == "tcp" else "ICMP echo"

    def address(self, node: str, uri: str) -> str | None:
        """The address to probe for `node` (libvirt URI `uri`): the configured one, else
        the URI's host; None for a local URI with none configured."""
        return (self.addresses or {}).get(node) or urlsplit(uri).hostname

    def answers(self, address: str) -> str | None:
        """None if `address` answered one of PROBE_ATTEMPTS probes, else why not (the
        last attempt's error)."""
        why = "no answer"
        for _ in range(PROBE_ATTEMPTS):
            try:
                if self.kind == "tcp":
                    with socket.create_connection((address, self.port or 0), self.timeout):
                        return None
                host = icmplib.ping(address, count=1, timeout=self.timeout,
                                    privileged=os.geteuid() == 0)
                if host.is_alive:
                    return None
                why = f"no echo reply within {self.timeout:g} s"
            except TimeoutError:
                why = f"no answer within {self.timeout:g} s"
            except (OSError, icmplib.ICMPLibError) as exc:
                why = str(getattr(exc, "strerror", None) or exc)
        return why


def from_config(cfg: HAManagerConfig) -> NodeProbe | None:
    """The `ha` table's probe (None: nodes are judged by their libvirtd only)."""
    if cfg.probe is None:
        return None
    kind, _, port = cfg.probe.partition(":")
    return NodeProbe(kind, int(port) if port else None, cfg.probe_timeout,
                     dict(cfg.probe_addresses))


def probe_nodes(probe: NodeProbe, nodes: Mapping[str, str]) -> dict[str, str | None]:
    """node -> None if it answered, else why not ("its address 10.0.0.1 does not answer
    TCP port 22: Connection refused"); `nodes` maps each node to probe to its libvirt
    URI. All are probed at once. A node without an address is left out: a gap in the
    configuration must not fence a node (`unaddressed` names them)."""
    targets = {name: address for name, uri in nodes.items()
               if (address := probe.address(name, uri))}
    if not targets:
        return {}
    with ThreadPoolExecutor(len(targets), thread_name_prefix="ha-probe") as pool:
        found = {name: pool.submit(probe.answers, address)
                 for name, address in targets.items()}
        return {name: None if (why := future.result()) is None else
                f"its address {targets[name]} does not answer {probe.label}: {why}"
                for name, future in found.items()}


def unaddressed(probe: NodeProbe, nodes: Mapping[str, str]) -> list[str]:
    """The nodes (name -> libvirt URI) the probe has no address for."""
    return sorted(name for name, uri in nodes.items() if not probe.address(name, uri))
