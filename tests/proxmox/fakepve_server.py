"""Serve fakepve in its own process, steered by JSON lines on stdin.

Run by the `fakepve` fixture (tests/proxmox/conftest.py) as a separate process: fakepve is
AGPL and a test-only dependency, so neither vmconsole nor the test process imports it;
only this script does, in the child. It writes a CA-usable certificate (fakepve's own
generator) and a second, unrelated one into --pki, listens on 127.0.0.1 with a port the
system picks, prints `{"url": ...}` once it answers, then runs one command per stdin line
and answers each with one JSON line on stdout:

    {"op": "reset", "seed": {...}}                 a fresh fake on the same port, seeded
                                                   ("answers": [[method, path template,
                                                   data, {param: value}], ...]: what
                                                   fakepve would make up)
    {"op": "call", "name": "lose_quorum", "args": [], "kwargs": {}}   a FakePve scenario
    {"op": "set", "attrs": {"time_scale": 0.01}}   FakePve attributes
    {"op": "set", "guest": 100, "attrs": {...}}    a guest's attributes (ha_state, stats...)
    {"op": "get", "name": "requests"}              a FakePve attribute, as JSON
    {"op": "guest", "vmid": 100}                   node, status, lock, config of a guest
    {"op": "expire_tickets"}                       every login ticket's lifetime runs out
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import sys
import time
from pathlib import Path
from typing import Any

from fakepve import FakePve
from fakepve.certs import make_cert


def seeded(seed: dict[str, Any], port: int) -> FakePve:
    pve = FakePve(user="root@pam", password=seed.get("password", "secret"),
                  host="127.0.0.1", port=port)
    pve.time_scale = seed.get("time_scale", 0)
    pve.cluster_name = seed.get("cluster", "fakecluster")
    pve.nodes = {}
    for name in seed.get("nodes", ["pve1"]):
        pve.add_node(name)
    pve.storages.update(seed.get("storages", {}))
    for store in pve.storages.values():
        store.setdefault("files", set())
    for guest in seed.get("guests", []):
        extra = dict(guest.get("attrs", {}))
        common = dict(node=guest.get("node", "pve1"), status=guest.get("status", "stopped"),
                      config=guest.get("config", {}), template=guest.get("template", False),
                      lock=guest.get("lock"))
        if guest.get("type", "qemu") == "lxc":
            obj = pve.add_ct(guest["vmid"], guest.get("name"), **common)
        else:
            obj = pve.add_vm(guest["vmid"], guest["name"], **common)
        for key, value in extra.items():
            setattr(obj, key, value)
    for user, secret in seed.get("tokens", {}).items():
        pve.apitokens[user] = secret
    for user, path, *privs in seed.get("grants", []):
        pve.grant(user, path, *privs)
    # What fakepve only makes up from the schema (HA rules, cluster options, the
    # migration check): [method, path template, data, {path parameter: value}?].
    canned = [(a[0], a[1], a[2], a[3] if len(a) > 3 else {}) for a in seed.get("answers", [])]
    if canned:
        made_up = pve.synthesise

        async def synthesise(match: Any, method: str, *args: Any) -> Any:
            for verb, template, data, where in canned:
                if (verb, template) == (method, match.template) and all(
                        str(match.params.get(k)) == str(v) for k, v in where.items()):
                    return data
            return await made_up(match, method, *args)

        pve.synthesise = synthesise  # type: ignore[method-assign]
    return pve


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


class Control:
    def __init__(self, certfile: str, keyfile: str) -> None:
        self.certfile, self.keyfile = certfile, keyfile
        self.pve = seeded({}, 0)

    async def start(self) -> None:
        await self.pve.start(self.certfile, self.keyfile)

    async def run(self, command: dict[str, Any]) -> Any:
        op = command["op"]
        if op == "reset":
            port = self.pve.port
            await self.pve.stop()
            self.pve = seeded(command.get("seed", {}), port)
            await self.pve.start(self.certfile, self.keyfile)
            return self.pve.url
        if op == "call":
            result = getattr(self.pve, command["name"])(*command.get("args", []),
                                                        **command.get("kwargs", {}))
            if inspect.isawaitable(result):
                result = await result
            return jsonable(result)
        if op == "set":
            target = self.pve.guest(command["guest"]) if "guest" in command else self.pve
            for key, value in command["attrs"].items():
                setattr(target, key, value)
            return None
        if op == "get":
            return jsonable(getattr(self.pve, command["name"]))
        if op == "guest":
            guest = self.pve.guest(command["vmid"])
            if guest is None:
                return None
            return jsonable({"node": guest.node, "status": guest.status, "lock": guest.lock,
                             "template": guest.template, "config": guest.config,
                             "snapshots": guest.snapshots, "ha_state": guest.ha_state})
        if op == "expire_tickets":
            for session in self.pve.tickets.values():
                session["expires"] = time.time() - 1
            return len(self.pve.tickets)
        raise ValueError(f"unknown op {op!r}")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pki", required=True, help="directory for the certificates")
    args = parser.parse_args()
    pki = Path(args.pki)
    certfile, keyfile, _ = make_cert(str(pki), hosts=("127.0.0.1",))
    make_cert(str(pki), name="other", hosts=("127.0.0.1",))  # a CA that did not sign the fake
    control = Control(certfile, keyfile)
    await control.start()
    print(json.dumps({"url": control.pve.url, "cafile": certfile,
                      "other_cafile": str(pki / "other.crt")}), flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        try:
            reply = {"ok": await control.run(json.loads(line))}
        except Exception as exc:  # the test sees the fake's complaint, not a dead pipe
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(reply), flush=True)
    await control.pve.stop()


if __name__ == "__main__":
    asyncio.run(main())
