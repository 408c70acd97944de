"""The fields a snapshot is read from, written once for :func:`~tasklife.validate` and for
every event-log reader.

A snapshot field has a v1 wire key and a v2 one (v2 result documents carry
``startTimeUsecs``, ``endTimeUsecs`` and ``message``; issue 12, item 21):

* ``start``: ``taskStartTimeUsecs`` or ``startTimeUsecs``;
* ``end``: ``taskEndTimeUsecs`` or ``endTimeUsecs``;
* ``error``: ``error`` or ``message`` (an empty string is no error).

**Absent is not null** (issue 12, item 2): a document that does not carry a field's key
says nothing about that field, and no rule about it is judged on it; a key that is there
with ``null`` is a missing value, which the rules do judge. :attr:`Snap.keys` records which
keys were there. A document carrying both keys of one field must give them the same value.

Integers are 64-bit, with ``-2**63`` reserved for "missing" in the event tables' int64
columns, so an accepted integer lies in ``(-2**63, 2**63)`` (issue 12, item 4).

>>> read_snapshot({"status": "Succeeded", "startTimeUsecs": 5, "message": None})
Snap(start=5, end=None, error=False, keys=5)
>>> read_snapshot({"taskEndTimeUsecs": 1.5})
('taskEndTimeUsecs', 1.5, 'an integer or null')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, NamedTuple

__all__ = [
    "ALL_KEYS",
    "CSV_NAMES",
    "END",
    "ERROR",
    "INT64_LIMIT",
    "JSON_NAMES",
    "START",
    "FieldNames",
    "Problem",
    "Snap",
    "is_int64",
    "read_snapshot",
]

START: Final = 1
"""The bit of :attr:`Snap.keys` saying the start-time key was there."""
END: Final = 2
ERROR: Final = 4
ALL_KEYS: Final = START | END | ERROR
INT64_LIMIT: Final = 1 << 63
"""Integers lie strictly between ``-INT64_LIMIT`` and ``INT64_LIMIT``: the smallest int64 is
the tables' "missing" sentinel, so it is no time (refused on every reader path alike)."""


def is_int64(value: Any) -> bool:
    """Whether ``value`` is an integer (not a bool) that an event table can hold.

    >>> is_int64(5), is_int64(True), is_int64(-(1 << 63)), is_int64(5.0)
    (True, False, False, False)
    """
    return type(value) is int and -INT64_LIMIT < value < INT64_LIMIT


class Snap(NamedTuple):
    """What one document shows of its snapshot fields."""

    start: int | None
    end: int | None
    error: bool
    """A non-empty error (or v2 message) is set."""
    keys: int
    """Which fields' keys the document carries (:data:`START` | :data:`END` | :data:`ERROR`)."""


class FieldNames(NamedTuple):
    """The keys of each snapshot field, in the order they are read (v1 first, then v2)."""

    start: tuple[str, ...]
    end: tuple[str, ...]
    error: tuple[str, ...]

    def all(self) -> tuple[str, ...]:
        return (*self.start, *self.end, *self.error)


JSON_NAMES: Final = FieldNames(
    ("taskStartTimeUsecs", "startTimeUsecs"),
    ("taskEndTimeUsecs", "endTimeUsecs"),
    ("error", "message"),
)
CSV_NAMES: Final = FieldNames(
    ("task_start_time_usecs", "start_time_usecs"),
    ("task_end_time_usecs", "end_time_usecs"),
    ("error", "message"),
)

Problem = tuple[str, Any, str]
"""``(key, value, what it must be)``: why a document's snapshot field cannot be read."""

_STAMP: Final = "an integer or null"
_TEXT: Final = "a string or null"
_UNSET: Final = object()


def _field(doc: Mapping[str, Any], keys: tuple[str, ...]) -> tuple[Any, bool, Problem | None]:
    """``(value, present, None)`` of one field, or the problem of two keys that disagree."""
    found: Any = _UNSET
    for key in keys:
        if key in doc:
            value = doc[key]
            if found is not _UNSET and value != found:
                return None, True, (key, value, f"the same value as {keys[0]!r} ({found!r})")
            found = value
    return (None, False, None) if found is _UNSET else (found, True, None)


def read_snapshot(doc: Mapping[str, Any], names: FieldNames = JSON_NAMES) -> Snap | Problem:
    """The :class:`Snap` of ``doc``, or the :data:`Problem` of its first unreadable field."""
    keys = 0
    stamps: list[int | None] = []
    for bit, field in ((START, names.start), (END, names.end)):
        value, present, problem = _field(doc, field)
        if problem is not None:
            return problem
        if value is not None and not is_int64(value):
            return _key(doc, field), value, _STAMP
        keys |= bit if present else 0
        stamps.append(value)
    error, present, problem = _field(doc, names.error)
    if problem is not None:
        return problem
    if error is not None and not isinstance(error, str):
        return _key(doc, names.error), error, _TEXT
    keys |= ERROR if present else 0
    return Snap(stamps[0], stamps[1], bool(error), keys)


def _key(doc: Mapping[str, Any], keys: tuple[str, ...]) -> str:
    """The key of a field that ``doc`` actually used."""
    return next((k for k in keys if k in doc), keys[0])
