"""Frozen records made at the cost of mutable ones, for a backend that makes thousands of
them a poll.

A frozen dataclass's `__init__` stores each field with `object.__setattr__`, since its
own `__setattr__` refuses: on CPython 3.11 a `Guest` (24 fields) costs about 7 µs that
way, against 0.8 µs for the same fields stored by a plain slots dataclass. On the
10,000-guest demo's first inventory (issue 12) the guests and their metrics were about
90 ms of its 170-190 ms of CPU.

`fast_constructor(cls)` makes the record as a *draft*: a plain slots dataclass with
`cls`'s fields, made by `dataclasses.make_dataclass`, so its `__init__` is the one
dataclasses writes for those fields (defaults and default factories included). As the
last step of that `__init__` (a `__post_init__` of the draft's own) the draft becomes a
`cls` by assigning its `__class__`, which CPython allows
between two classes of the same layout (`object.__class__`'s setter,
Objects/typeobject.c, `compatible_for_assignment`: same base, size and slots; a
TypeError otherwise). What comes out is a `cls` in every way: `type()`, `==`, `hash()`,
`repr()`, `dataclasses.replace()`, pickling, and the refusal of any later assignment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field, fields, make_dataclass
from typing import Any, ParamSpec, TypeVar, cast

P = ParamSpec("P")
T = TypeVar("T")


def fast_constructor(cls: Callable[P, T]) -> Callable[P, T]:
    """A callable taking `cls`'s arguments and returning a `cls`, equal to `cls(...)`.

    `cls`: a dataclass made with `frozen=True, slots=True`, without `__post_init__` or
    init-only fields (the draft would not run them). Raises TypeError for anything
    else."""
    record = cast(type, cls)
    params = record.__dict__.get("__dataclass_params__")
    if (params is None or not params.frozen or "__slots__" not in record.__dict__
            or hasattr(record, "__post_init__")):
        raise TypeError(f"{record.__name__}: not a frozen slots dataclass without "
                        "__post_init__")

    def freeze(made: Any) -> None:
        made.__class__ = record

    draft: Any = make_dataclass(
        f"{record.__name__}Draft",
        [(f.name, f.type, field(default=f.default, default_factory=f.default_factory,
                                init=f.init, kw_only=f.kw_only))
         for f in fields(record)],
        slots=True, eq=False, repr=False, match_args=False,
        # A docstring of its own spares dataclasses writing one from the signature.
        namespace={"__doc__": f"{record.__name__}'s fields, before it is frozen.",
                   # The draft's own `__init__` ends with it: no Python function around
                   # the draft that takes the arguments and passes them on, a third of
                   # a `Metrics`'s making.
                   "__post_init__": freeze})
    # Same field order and slots: `freeze`'s assignment cannot fail on a layout.
    if (draft.__slots__ != record.__dict__["__slots__"]
            or draft.__basicsize__ != record.__basicsize__):
        raise TypeError(f"{record.__name__}: its slots are not its fields")

    return cast(Callable[P, T], draft)
