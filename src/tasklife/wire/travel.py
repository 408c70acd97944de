"""Records that travel: pickling, ``copy.copy`` and ``copy.deepcopy`` of slotted attrs records.

Theory of operation
-------------------
Orchestrators send records between processes (``multiprocessing``, ``ProcessPoolExecutor``,
Dask), so every record class pickles with the standard library, compactly and fast. A
:class:`Portable` record pickles as ``(restore, (key, values))``: the values of its attrs
fields in declaration order, one tuple, with no field names (attrs' default state is a dict of
names, three times the bytes for the 54 mostly-empty fields of a ``ProtectionSource``). The
class travels as a *key*, its ``"module:qualname"`` string, not as a class object: pickle
imports a module for every global it writes or reads, which cost more than all the rest, and
strings are memoized. A class that stands for a family (a record class bound to a lifecycle)
travels as ``(key of its base, argument)`` and is found again with the base's
``_portable_member(argument)``. Two functions are generated per class from its field table,
the way attrs generates ``__init__``, and registered in :mod:`linecache`: ``state(record)``
builds the tuple and ``restore(cls, state)`` assigns it back without running ``__init__``
(the values were checked when the record was built).

Fields marked :data:`LOCAL` (a record's ``clock``) belong to the process, not the record: a
pickle leaves them out and the copy gets the field's default. ``copy.copy`` and
``copy.deepcopy`` stay in the process, so they keep them (a deep copy shares the clock). A
copy never shares a list field (a record's journal) with its original.

>>> @attrs.define
... class Point(Portable):
...     x: int
...     y: list[int]
...     clock: object = attrs.field(default=None, metadata={LOCAL: True})
>>> p = Point(1, [2], clock=print)
>>> _, (key, values) = p.__reduce_ex__(5)  # what pickle writes: no names, no clock
>>> key, values, _travel(Point).restore(Point, values)
('tasklife.wire.travel:Point', (1, [2]), Point(x=1, y=[2], clock=None))
>>> copy.deepcopy(p).clock is print
True
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable
from typing import Any, Final, SupportsIndex, cast

import attrs

from tasklife.wire.generated import generate
from tasklife.wire.kinds import WIRE_METADATA

__all__ = ["LOCAL", "Portable", "PortableKey", "restore"]

PortableKey = str | tuple[Any, ...]
"""How a class travels: ``"module:qualname"``, or ``(base key, argument)`` for a member of a
family of classes."""

LOCAL: Final = "tasklife.local"
"""attrs metadata key: a field that stays in its process (left out of pickles)."""


class _Travel:
    """The generated ``state``/``restore`` pair of one class, its key and local fields.

    A field holding a nested wire model (``source``, ``stats``) travels inline as that model's
    value tuple, so one pickled record is one reduce, not three (a field of a model kind never
    holds a tuple, so ``restore`` knows which values to rebuild)."""

    __slots__ = ("key", "local", "names", "restore", "state")

    def __init__(self, cls: type) -> None:
        fields: tuple[attrs.Attribute[Any], ...] = attrs.fields(cls)
        sent = [f for f in fields if not f.metadata.get(LOCAL)]
        self.local = tuple(f.name for f in fields if f.metadata.get(LOCAL))
        self.names = tuple(f.name for f in fields)
        portable_key = getattr(cls, "_portable_key", None)
        self.key: PortableKey = (
            portable_key() if portable_key else f"{cls.__module__}:{cls.__qualname__}"
        )
        namespace: dict[str, Any] = {"new": object.__new__}
        state = ["def state(record):"]
        restore = ["def restore(cls, state):", "    record = new(cls)"]
        items = []
        for i, f in enumerate(sent):
            model = _nested_model(f)
            if model is None:
                items.append(f"record.{f.name}")
                continue
            nested = _travel(model)
            namespace.update({f"M{i}": model, f"S{i}": nested.state, f"R{i}": nested.restore})
            state.append(f"    v{i} = record.{f.name}")
            items.append(f"(S{i}(v{i}) if v{i}.__class__ is M{i} else v{i})")
        state.append(f"    return ({', '.join(items)},)" if items else "    return ()")
        if sent:
            restore.append(f"    {', '.join(f'record.{f.name}' for f in sent)}, = state")
        for i, f in enumerate(sent):
            if f"M{i}" in namespace:
                restore += [
                    f"    v = record.{f.name}",
                    "    if v.__class__ is tuple:",
                    f"        record.{f.name} = R{i}(M{i}, v)",
                ]
        for f in fields:
            if f.metadata.get(LOCAL):
                namespace[f"default_{f.name}"] = f.default
                restore.append(f"    record.{f.name} = default_{f.name}")
        restore.append("    return record")
        name = f"{cls.__module__}.{cls.__qualname__}"
        self.state: Callable[[Any], tuple[Any, ...]] = generate(
            "state", state, namespace, f"state {name}"
        )
        self.restore: Callable[[type, tuple[Any, ...]], Any] = generate(
            "restore", restore, namespace, f"restore {name}"
        )


def _nested_model(field: attrs.Attribute[Any]) -> type | None:
    spec = field.metadata.get(WIRE_METADATA)
    model = spec[1].model if spec is not None else None
    return model if isinstance(model, type) and issubclass(model, Portable) else None


def _travel(cls: type) -> _Travel:
    travel = cls.__dict__.get("_travel_")
    if travel is None:  # once per class (a subclass with more fields gets its own)
        travel = _Travel(cls)
        type.__setattr__(cls, "_travel_", travel)
    return cast(_Travel, travel)


_by_key: dict[str, tuple[type, Callable[[type, tuple[Any, ...]], Any]]] = {}
"""Importable classes by key, with their restore function (as many as this process has)."""


def _class_of(key: PortableKey) -> type:
    if not isinstance(key, str):  # a family member: its base keeps it (weakly), not this table
        base, argument = key
        return cast(type, _class_of(base)._portable_member(argument))  # type: ignore[attr-defined]
    module, _, qualname = key.partition(":")
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return cast(type, found)


def restore(key: PortableKey, state: tuple[Any, ...]) -> Any:
    """Rebuild a record from its class's key and the values :class:`Portable` pickled."""
    known = _by_key.get(key) if isinstance(key, str) else None
    if known is None:
        cls = _class_of(key)
        known = (cls, _travel(cls).restore)
        if isinstance(key, str):
            _by_key[key] = known
    return known[1](known[0], state)


class Portable:
    """Mixin for slotted attrs records: compact pickles, and copies that keep local fields."""

    __slots__ = ()

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        travel = _travel(type(self))
        return (restore, (travel.key, travel.state(self)))

    def __copy__(self) -> Any:
        """A shallow copy, except that a list field (a record's journal) is copied: two
        records never append to one list."""
        clone = object.__new__(type(self))
        for name in _travel(type(self)).names:
            value = getattr(self, name)
            setattr(clone, name, value.copy() if type(value) is list else value)
        return clone

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        clone = object.__new__(type(self))
        memo[id(self)] = clone
        travel = _travel(type(self))
        for name in travel.names:
            value = getattr(self, name)
            setattr(clone, name, value if name in travel.local else copy.deepcopy(value, memo))
        return clone
