"""PVE's answers checked for the shape the backend reads, where they are read.

Every PVE answer is a JSON object whose `data` holds the result (pve-http-server's
`{"data": ...}` envelope); `data_of` takes it out of a body. `read` asks for a listing
or an object and checks it against a `Records` or `Record` shape before any parser
touches it: the keys the parser needs are there and each key it converts holds
something the conversion takes; `ask` checks the answer of a POST, PUT or DELETE the
same way (termproxy's ticket; the UPID of a task it started, `tasks.ask_upid`). A
server that is not PVE (a TLS test server, a proxy's page, a fake with other JSON) is
then one BackendError, "not a Proxmox VE API answer: GET /cluster/status: ...", shown
as the cluster's error like any other, instead of a KeyError or AttributeError deep in
a parser.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vmconsole.backends.base import BackendError
from vmconsole.jsontext import parse_json

# A kind of value: a check that what the parser does with the value will work.
Kind = Callable[[Any], bool]
_SHOWN = 60  # characters of an unexpected value quoted in a message


class NotPveAnswer(Exception):
    """A body that is not PVE's JSON envelope; `why` says how, for `not_pve`."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def not_pve(method: str, path: str, why: str) -> BackendError:
    """The error an answer of the wrong shape is shown as."""
    return BackendError(f"not a Proxmox VE API answer: {method} {path}: {why}")


def data_of(content: bytes) -> Any:
    """The `data` of a PVE answer's body; raises NotPveAnswer for anything else, a body
    nested too deeply for the JSON decoder included (`jsontext.parse_json`'s rule)."""
    try:
        body = parse_json(content.decode("utf-8"))
    except ValueError as exc:  # UnicodeDecodeError is one too
        why = "" if isinstance(exc, (UnicodeDecodeError, json.JSONDecodeError)) else f"{exc}: "
        raise NotPveAnswer(f"the body is not JSON ({why}{_quote(content)})") from None
    if not isinstance(body, dict) or "data" not in body:
        raise NotPveAnswer(f"JSON without PVE's data envelope ({_quote(body)})")
    return body["data"]


def converts(convert: Callable[[Any], Any],
             holds: Callable[[Any], bool] = lambda _: True) -> Kind:
    """The kind of a value `convert` takes (a number or string, not an object or a list;
    it raises TypeError, ValueError or OverflowError for the others) to something
    `holds` accepts."""

    def check(value: Any) -> bool:
        if isinstance(value, (dict, list)):
            return False
        try:
            converted = convert(value)
        except (TypeError, ValueError, OverflowError):
            return False
        return holds(converted)
    return check


def within(convert: Callable[[Any], float], low: float, high: float) -> Kind:
    """The kind of a value `convert` takes to a number from `low` to `high` (nan, which
    fails every comparison, is not)."""
    return converts(convert, lambda number: low <= number <= high)


def _text(value: Any) -> bool:
    return isinstance(value, (str, int, float))


def _object(value: Any) -> bool:
    return isinstance(value, Mapping)


def _list(value: Any) -> bool:
    return isinstance(value, list)


def _objects(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, Mapping) for item in value)


TEXT: Kind = _text  # a string, or a number PVE happened to send as one
INTEGER: Kind = converts(int)  # int() takes it: 3, 2.0, "3", true (not nan, inf, 1e999)
NUMBER: Kind = converts(float, math.isfinite)  # float() takes it: 0.25, "0.25" (not "nan")
# PVE's sizes, counts and byte counters are unsigned 64-bit at most (Perl's integers): a
# negative one, or one past 2**63, is no PVE answer (and past ~3.4e38 not even a figure
# the metric history can hold).
BIG = 2**63
SIZE: Kind = within(int, 0, BIG)  # bytes, or a count: maxmem, mem, maxcpu
AMOUNT: Kind = within(float, 0, BIG)  # a figure that is never negative: cpu, uptime, netin
# pve-vmid in PVE's JSON schema (PVE::JSONSchema): 100 to 999999999.
VMID: Kind = within(int, 100, 999_999_999)
OBJECT: Kind = _object
LIST: Kind = _list
OBJECTS: Kind = _objects  # a list of objects


@dataclass(frozen=True, slots=True)
class Record:
    """An object. `fields`: the kind of each key a parser converts (absent, null and ""
    pass: the parsers take them as not set); `required`: keys that must be there (so
    that no data, which `read` takes as an empty object otherwise, is wrong too)."""

    fields: Mapping[str, Kind] = field(default_factory=dict)
    required: tuple[str, ...] = ()

    def problem(self, answer: Any) -> str | None:
        """What is wrong with `answer`, or None."""
        if not isinstance(answer, Mapping):
            return f"{_describe(answer)} where an object was expected"
        return _entry_problem(answer, self.fields, self.required)


@dataclass(frozen=True, slots=True)
class Records:
    """A list of objects. `fields` as in `Record`; `required`: by the entry's `type`,
    the keys an entry of that type must have ("*": every entry). `listed`: PVE always
    answers a list here, even an empty one (the API viewer's `returns: array`, as for
    /cluster/resources and /cluster/status), so `null` is a server that is not PVE;
    False: `null` is read as an empty listing. `lists`: a type PVE always has an entry
    of here (None: an empty listing is one)."""

    fields: Mapping[str, Kind] = field(default_factory=dict)
    required: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    listed: bool = False
    lists: str | None = None

    def problem(self, answer: Any) -> str | None:
        """What is wrong with `answer`, or None; the first entry at fault is named."""
        if not isinstance(answer, list):
            return f"{_describe(answer)} where a list of objects was expected"
        for index, entry in enumerate(answer):
            if not isinstance(entry, Mapping):
                return f"entry {index} is {_describe(entry)}, not an object"
            kind = entry.get("type")
            needed = (*self.required.get("*", ()),
                      *(self.required.get(kind, ()) if isinstance(kind, str) else ()))
            if why := _entry_problem(entry, self.fields, needed):
                of_type = f" (type {_quote(kind)})" if isinstance(kind, str) else ""
                return f"entry {index}{of_type} {why}"
        if self.lists is not None and not any(
                entry.get("type") == self.lists for entry in answer):
            return f"no entry of type {_quote(self.lists)} ({_describe(answer)})"
        return None


@dataclass(frozen=True, slots=True)
class Value:
    """One value of `kind`: `what` names it in the message. No data is wrong too, unless
    the value is `optional` (`ask` then answers None)."""

    kind: Kind
    what: str
    optional: bool = False

    def problem(self, answer: Any) -> str | None:
        """What is wrong with `answer`, or None."""
        if answer is None and self.optional:
            return None
        if answer is None or not self.kind(answer):
            return f"{_describe(answer)} where {self.what} was expected"
        return None


def read(call: Callable[..., Any], path: str, shape: Record | Records | Value,
         **params: Any) -> Any:
    """`GET path` through `call` (`Connection.call`), checked against `shape` as `ask`
    checks it."""
    return ask(call, "GET", path, shape, **params)


def ask(call: Callable[..., Any], method: str, path: str, shape: Record | Records | Value,
        **params: Any) -> Any:
    """`method path` through `call` (`Connection.call`), its answer checked against
    `shape`: a list for `Records` (no data is an empty one, unless the shape is
    `listed`), a mapping for `Record` (no data: empty, unless it requires keys), a scalar
    for `Value` (no data: None, if it is `optional`). Raises the call's BackendError, or
    `not_pve`'s when the answer has another shape."""
    answer = call(method, path, **params)
    if answer is None and isinstance(shape, Record) and not shape.required:
        return {}
    if answer is None and isinstance(shape, Records) and not shape.listed:
        return []
    if why := shape.problem(answer):
        raise not_pve(method, path, why)
    return answer


def _entry_problem(entry: Mapping[str, Any], fields: Mapping[str, Kind],
                   required: tuple[str, ...]) -> str | None:
    for key in required:
        if key not in entry or entry[key] is None or entry[key] == "":
            return f"has no {key}"
    for key, kind in fields.items():
        value = entry.get(key)
        if value is not None and value != "" and not kind(value):
            return f"has {key} = {_quote(value)}"
    return None


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return f"an object {_quote(value)}"
    if isinstance(value, list):
        return f"a list {_quote(value)}"
    return f"the {type(value).__name__} {_quote(value)}"


def _quote(value: Any) -> str:
    """A short, printable rendering of a foreign value (never markup: the caller's
    message is shown as plain text)."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = " ".join(text.split())
    more = "..." if len(text) > _SHOWN else ""
    return (repr(text[:_SHOWN]) if isinstance(value, str) else text[:_SHOWN]) + more
