"""Kinds of wire values: how one field's JSON value is checked, converted and copied.

A :class:`Kind` pairs a ``read`` function (JSON value -> attribute value, or an
:class:`~tasklife.errors.InvalidRecord` naming the wire path) with an optional ``write``
function and a ``fast`` test the generated readers inline for the plain case.

Only what a JSON document can carry between the SDKs is read, so that what is read can always
be written back (by orjson, by a store, by another SDK): objects with string keys, arrays,
text without lone surrogates, finite numbers, integers within int64
(``[-2**63, 2**63 - 1]``: the Go and C# SDKs, the stores and the event tables hold no more),
true, false and null. Anything else (a set, bytes, an integer key, ``nan``, ``2**70``) is an
``InvalidRecord`` naming its path, for modelled fields and verbatim ones alike.

>>> COUNT.read(3, object, "stats", "endTimeUsecs")
3
>>> COUNT.read(-1, object, "stats", "endTimeUsecs")
Traceback (most recent call last):
tasklife.errors.InvalidRecord: stats.endTimeUsecs: expected a non-negative integer (int64) (got -1)
"""

from __future__ import annotations

import copy
import math
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
INT64_MIN: Final = -(1 << 63)
INT64_MAX: Final = (1 << 63) - 1
"""The integers a JSON value may hold here (int64, as every SDK, store and event table)."""


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
        value = str(value)
        if not value.isascii():
            _check_utf8(value, join_path(parent, key))
        return value
    raise _bad(parent, key, value, "expected a string")


def _read_count(value: Any, owner: type, parent: str, key: str) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= INT64_MAX:
        return int(value)
    raise _bad(parent, key, value, "expected a non-negative integer (int64)")


def _read_integer(value: Any, owner: type, parent: str, key: str) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and INT64_MIN <= value <= INT64_MAX:
        return int(value)
    raise _bad(parent, key, value, "expected an integer (int64)")


def _read_boolean(value: Any, owner: type, parent: str, key: str) -> Any:
    if value is True or value is False:
        return value
    raise _bad(parent, key, value, "expected true or false")


def read_verbatim(value: Any, owner: type, parent: str, key: str) -> Any:
    """Any JSON value, checked and deep-copied; what is not JSON (see the module docstring)
    is an InvalidRecord naming its path, never a crash now or when written back.

    >>> read_verbatim([{"a": 1}], object, "source", "zzNew")
    [{'a': 1}]
    >>> read_verbatim({"a": [1, {2}]}, object, "", "zzNew")
    Traceback (most recent call last):
    tasklife.errors.InvalidRecord: zzNew.a[1]: not a JSON value (a set) (got {2})
    """
    where = join_path(parent, key)
    try:
        return _json_copy(value, where)
    except RecursionError:
        raise InvalidRecord(where, "<too deep to show>", "nested too deeply") from None


def _json_copy(value: Any, where: str) -> Any:
    """A checked deep copy of a JSON value found at ``where``: containers copied in C, then
    only what is not a plain leaf (ASCII text, an int64, true, false, null) looked at again,
    its path built only then."""
    kind = type(value)
    if kind is dict or kind is list:
        out = value.copy()
        for slot, v in out.items() if kind is dict else enumerate(out):
            if kind is dict and (type(slot) is not str or not slot.isascii()):
                _check_key(slot, where)
            t = type(v)
            if t is str:
                if v.isascii():
                    continue
            elif t is int:
                if INT64_MIN <= v <= INT64_MAX:
                    continue
            elif v is None or t is bool:
                continue
            out[slot] = _json_copy(v, f"{where}.{slot}" if kind is dict else f"{where}[{slot}]")
        return out
    if kind is str:
        if not value.isascii():
            _check_utf8(value, where)
        return value
    if kind is int:
        if not INT64_MIN <= value <= INT64_MAX:
            raise InvalidRecord(where, value, "an integer beyond int64 (-2**63 .. 2**63-1)")
        return value
    if value is None or kind is bool:
        return value
    if kind is float:
        if not math.isfinite(value):
            raise InvalidRecord(where, value, "not a JSON number")
        return value
    if isinstance(value, Mapping):
        return _json_copy(dict(value), where)
    if kind is tuple:
        return tuple(_json_copy(v, f"{where}[{i}]") for i, v in enumerate(value))
    if isinstance(value, str):  # a subclass (a StrEnum member): its plain value
        return _json_copy(str.__str__(value), where)
    if isinstance(value, int | float):  # an IntEnum member, a float subclass
        return _json_copy(int(value) if isinstance(value, int) else float(value), where)
    raise InvalidRecord(where, value, f"not a JSON value (a {type(value).__name__})")


def _check_key(key: Any, where: str) -> None:
    """Refuse an object key that is not text JSON can hold."""
    if type(key) is not str:
        raise InvalidRecord(where, key, "an object key that is not a string")
    _check_utf8(key, where)


def _check_utf8(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRecord(where, text, "not text: a lone surrogate") from None


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


STRING: Final = Kind("a string", _read_string, fast="type(v) is str and v.isascii()")
COUNT: Final = Kind(
    "a non-negative integer (a time in epoch microseconds or a count)",
    _read_count,
    fast=f"type(v) is int and 0 <= v <= {INT64_MAX}",
)
INTEGER: Final = Kind(
    "an integer", _read_integer, fast=f"type(v) is int and {INT64_MIN} <= v <= {INT64_MAX}"
)
BOOLEAN: Final = Kind("true or false", _read_boolean, fast="v is True or v is False")
OBJECT: Final = Kind("an object, kept verbatim", _read_object, copy_json)
OBJECT_LIST: Final = Kind("a list of objects, kept verbatim", _read_object_list, copy_json)
