"""A session process's stand-in backend mirrors every optional ability a real backend
has, so that a served console offers what a local one does (and the hub checks the role
of every call it forwards)."""

from __future__ import annotations

import inspect
from typing import Protocol

from vmconsole.backends import abilities, backups, base, ha_config, hardware, removal, serial
from vmconsole.serve.hub import ADMIN, OPERATE, PROTOCOLS, READ
from vmconsole.serve.remote import _PROTOCOL_CALLS

# Read by the poll loop on the server's side, not by the console: nothing to forward.
NOT_MIRRORED = {abilities.SupportsEvents, abilities.SupportsChangeNotice}
# Answered in the session process from what the hub sent when it attached; a serial
# console is opened there, from the profile entry the hub sent (a stream does not fit
# the call socket).
ANSWERED_LOCALLY = {"scenarios", "open_console"}


def _abilities() -> set[type]:
    modules = (abilities, backups, base, ha_config, hardware, removal, serial)
    return {cls for module in modules for name, cls in vars(module).items()
            if name.startswith("Supports") and inspect.isclass(cls)
            and issubclass(cls, Protocol)}  # type: ignore[arg-type]


def test_every_optional_ability_is_mirrored_with_every_call_given_a_role() -> None:
    assert _abilities() - NOT_MIRRORED == set(PROTOCOLS.values())
    for name, protocol in PROTOCOLS.items():
        members = {m for m in vars(protocol) if not m.startswith("_")
                   and callable(getattr(protocol, m))}
        assert members <= set(_PROTOCOL_CALLS[name]) | ANSWERED_LOCALLY, name
        for method in _PROTOCOL_CALLS[name]:
            assert method in READ | OPERATE | ADMIN, f"{name}.{method} has no role"
