"""Kinds of wire values: how one field's JSON value is checked, converted and copied.

A :class:`Kind` pairs a ``read`` function (JSON value -> attribute value, or an
:class:`~tasklife.errors.InvalidRecord` naming the wire path) with an optional ``write``
function and a ``fast`` test the generated readers inline for the plain case.

>>> COUNT.read(3, object, "stats", "endTimeUsecs")
3
>>> COUNT.read(-1, object, "stats", "endTimeUsecs")
Traceback (most recent call last):
tasklife.errors.InvalidRecord: stats.endTimeUsecs: expected a non-negative integer (got -1)
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs

from tasklife.errors import InvalidRecord

__all__ = [
    "BOOLEAN",
    "COUNT",
    "INTEGER",
    "OBJECT",
    "OBJECT_LIST",
    "SCALARS",
    "STRING",
    "WIRE_METADATA",
    "Kind",
    "Reader",
    "Writer",
    "copy_json",
    "join_path",
    "read_verbatim",
]

Reader = Callable[[Any, type, str, str], Any]
"""``read(value, owner_class, parent_path, key)`` -> the attribute value, or InvalidRecord."""
Writer = Callable[[Any], Any]

WIRE_METADATA: Final = "tasklife.wire"
"""The attrs metadata key under which a wire field keeps ``(json key, kind, sparse)``."""
SCALARS: Final = frozenset({str, int, float, bool, type(None)})
"""JSON value types that are immutable: shared, never copied."""


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON value (dicts and lists rebuilt, scalars shared).

    >>> doc = {"a": [{"b": 1}]}
    >>> clone = copy_json(doc)
    >>> clone == doc, clone["a"][0] is doc["a"][0]
    (True, False)
    """
    kind = type(value)
    if kind is dict or kind is list:
        # Copy the container in C, then replace only the values that are containers.
        out = value.copy()
        for slot, item in out.items() if kind is dict else enumerate(out):
            if type(item) not in SCALARS:
                out[slot] = copy_json(item)
        return out
    if kind in SCALARS:
        return value
    if isinstance(value, Mapping):
        return {k: copy_json(v) for k, v in value.items()}
    return copy.deepcopy(value)


def join_path(parent: str, key: str) -> str:
    """The wire path of ``key`` inside the object at ``parent`` (``""`` for the document).

    >>> join_path("", "stats"), join_path("stats", "startTimeUsecs")
    ('stats', 'stats.startTimeUsecs')
    """
    return f"{parent}.{key}" if parent else key


def _bad(parent: str, key: str, value: Any, reason: str) -> InvalidRecord:
    return InvalidRecord(join_path(parent, key), value, reason)


@attrs.frozen
class Kind:
    """How one field's value is checked and converted: ``read`` from JSON, ``write`` to JSON.

    ``fast`` is a Python expression over ``v`` that is true when ``v`` can be taken as is
    (inlined into the generated reader); ``write`` is None when the attribute value is already
    its JSON value.

    >>> STRING.read("x", object, "", "name"), STRING.write
    ('x', None)
    """

    description: str
    read: Reader
    write: Writer | None = None
    fast: str | None = None
    model: type[Any] | None = None
    """The nested wire model (a :class:`~tasklife.wire.codec.WireModel` subclass) of a
    :func:`~tasklife.wire.model_kind` (its codec is called inline; typed loosely because the
    codec module builds on this one)."""


def _read_string(value: Any, owner: type, parent: str, key: str) -> Any:
    if isinstance(value, str):
        return value
    raise _bad(parent, key, value, "expected a string")


def _read_count(value: Any, owner: type, parent: str, key: str) -> Any:
    if type(value) is int and value >= 0:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return int(value)
    raise _bad(parent, key, value, "expected a non-negative integer")


def _read_integer(value: Any, owner: type, parent: str, key: str) -> Any:
    if type(value) is int:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    raise _bad(parent, key, value, "expected an integer")


def _read_boolean(value: Any, owner: type, parent: str, key: str) -> Any:
    if value is True or value is False:
        return value
    raise _bad(parent, key, value, "expected true or false")


def read_verbatim(value: Any, owner: type, parent: str, key: str) -> Any:
    """Any JSON value, deep-copied; what cannot be copied is an InvalidRecord, not a crash.

    >>> read_verbatim([{"a": 1}], object, "source", "zzNew")
    [{'a': 1}]
    """
    try:
        return copy_json(value)
    except RecursionError:
        raise _bad(parent, key, "<too deep to show>", "nested too deeply") from None
    except Exception as exc:  # deepcopy of a non-JSON object may raise anything
        raise _bad(parent, key, value, f"not JSON data ({exc})") from None


def _read_object(value: Any, owner: type, parent: str, key: str) -> Any:
    if type(value) is dict or isinstance(value, Mapping):
        return read_verbatim(value, owner, parent, key)
    raise _bad(parent, key, value, "expected an object")


def _read_object_list(value: Any, owner: type, parent: str, key: str) -> Any:
    if type(value) is not list:
        raise _bad(parent, key, value, "expected a list")
    for i, item in enumerate(value):
        if item is not None and not isinstance(item, Mapping):
            raise _bad(parent, f"{key}[{i}]", item, "expected an object")
    return read_verbatim(value, owner, parent, key)


STRING: Final = Kind("a string", _read_string, fast="type(v) is str")
COUNT: Final = Kind(
    "a non-negative integer (a time in epoch microseconds or a count)",
    _read_count,
    fast="type(v) is int and v >= 0",
)
INTEGER: Final = Kind("an integer", _read_integer, fast="type(v) is int")
BOOLEAN: Final = Kind("true or false", _read_boolean, fast="v is True or v is False")
OBJECT: Final = Kind("an object, kept verbatim", _read_object, copy_json)
OBJECT_LIST: Final = Kind("a list of objects, kept verbatim", _read_object_list, copy_json)
