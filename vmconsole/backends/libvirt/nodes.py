"""One node from several hosts: a machine's VMs and containers come from two libvirt
drivers (`qemu:///system` and `lxc:///system`), each a host of the profile with the
node's hostname, and show as one node."""

from __future__ import annotations

from dataclasses import replace

from vmconsole.model import Node


def merge_nodes(nodes: list[Node]) -> tuple[Node, ...]:
    """Nodes of one name as one, in the order first seen: it is online only if every
    host of it answered (else it takes the status, address, error, since and next try
    of the first that did not); its figures are those of its first online host (the
    same machine's); its storages down, those any of its hosts found down."""
    merged: dict[str, list[Node]] = {}
    for node in nodes:
        merged.setdefault(node.name, []).append(node)
    out = []
    for same in merged.values():
        down = [n for n in same if not n.online]
        base = next((n for n in same if n.online), same[0])
        storage_down = tuple(sorted({name for n in same for name in n.storage_down}))
        if down:  # why, since when and the next try: the host's that did not answer
            base = replace(base, status=down[0].status, address=down[0].address,
                           error=down[0].error, since=down[0].since, next_try=down[0].next_try)
        out.append(replace(base, storage_down=storage_down)
                   if storage_down != base.storage_down else base)
    return tuple(out)
