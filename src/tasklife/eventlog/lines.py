"""The reference reading of one event: what a line (or a CSV row) means, and why not.

Every engine reads through these rules: the light engine for every line, the fast engine for
every line its columnar parser cannot vouch for. So a line gets the same verdict and the same
reason whatever engine, format, chunk or position it is read in (issue 12, item 1).

Theory of operation
-------------------
A JSON line is decoded by ``orjson`` (duplicate keys: the last one wins; nesting deeper than
1024, ``NaN``, invalid UTF-8: bad JSON), then :func:`check_object` checks the fields:

* ``taskId``: a non-empty string or a 64-bit integer (an empty id is malformed, in CSV too);
* ``status``: a string or an integer (whether it names a state is decided later, per
  distinct value: :mod:`tasklife.eventlog.statuses`);
* ``atUsecs``: a 64-bit integer (``-2**63`` is reserved: see
  :data:`~tasklife.validation.fields.INT64_LIMIT`);
* ``attempt`` (optional): a non-negative 64-bit integer; absent or null is attempt 0;
* the snapshot fields of :mod:`tasklife.validation.fields` (v1 or v2 keys), judged only
  where their keys are present.

A CSV row is checked by the same function after :func:`csv_value` turned its text into
values: an empty field is null, ``-?[0-9]+`` (ASCII digits only) is an integer, and a status
of ASCII digits is a numeric code; any other text stays text.

>>> read_json_line(b'{"taskId": "a", "status": "kRunning", "atUsecs": 5}')
Event(task='a', status='kRunning', at=5, attempt=0, snap=None)
>>> read_json_line(b'{"taskId": "", "status": 1, "atUsecs": 5}')
"field 'taskId' must not be empty"
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final, NamedTuple

import orjson

from tasklife.validation.fields import (
    CSV_NAMES,
    INT64_LIMIT,
    JSON_NAMES,
    FieldNames,
    Snap,
    is_int64,
    read_snapshot,
)

__all__ = [
    "CSV_FIELDS",
    "JSON_FIELDS",
    "MAX_LINE_BYTES",
    "Event",
    "Fields",
    "check_object",
    "csv_value",
    "read_json_line",
    "too_long",
]

MAX_LINE_BYTES: Final = 64 << 20
"""The longest line read by default: a longer one is one malformed line, skipped in bounded
memory (issue 12, item 12). No event is near this; a file without newlines is."""
_SHOWN_CHARS: Final = 60
"""How much of a value that is not an event a message quotes: enough to recognise it."""
_INTEGER: Final = re.compile(r"-?[0-9]+")
_CODE: Final = re.compile(r"[0-9]+")


class Event(NamedTuple):
    """One well-formed event, its status not yet mapped to a state."""

    task: str | int
    status: str | int
    at: int
    attempt: int
    snap: Snap | None
    """The snapshot fields the line carries (None: no snapshot key at all)."""


class Fields(NamedTuple):
    """The keys (JSON) or columns (CSV) of an event's fields."""

    task: str
    status: str
    at: str
    attempt: str
    snapshot: FieldNames


JSON_FIELDS: Final = Fields("taskId", "status", "atUsecs", "attempt", JSON_NAMES)
CSV_FIELDS: Final = Fields("task_id", "status", "at_usecs", "attempt", CSV_NAMES)


def _required(field: str, value: Any, ok: bool, what: str) -> str | None:
    if value is None:
        return f"missing or null field {field!r}"
    if not ok:
        return _must(field, what, value)
    return None


def _must(field: str, what: str, value: Any) -> str:
    """The reason a field's value is refused; ``-2**63`` says why it is no time.

    >>> _must("atUsecs", "a 64-bit integer", -(2**63)).endswith("(-2**63 is reserved: no time)")
    True
    """
    why = " (-2**63 is reserved: no time)" if value == -INT64_LIMIT and type(value) is int else ""
    return f"field {field!r} must be {what}, got {value!r}{why}"


def check_object(obj: Any, fields: Fields = JSON_FIELDS) -> Event | str:
    """The event an object holds, or why it holds none (see the module docstring).

    >>> check_object({"taskId": 1, "status": "kRunning", "atUsecs": 5, "attempt": -1})
    "field 'attempt' must be a non-negative 64-bit integer or null, got -1"
    """
    if not isinstance(obj, Mapping):
        return f"not a JSON object: {obj!r:.{_SHOWN_CHARS}}"
    task, status, at = obj.get(fields.task), obj.get(fields.status), obj.get(fields.at)
    problem = (
        _required(
            fields.task,
            task,
            type(task) is str or is_int64(task),
            "a string or a 64-bit integer",
        )
        or _required(
            fields.status,
            status,
            type(status) is str or is_int64(status),
            "a status name or code",
        )
        or _required(fields.at, at, is_int64(at), "a 64-bit integer")
    )
    if problem is not None:
        return problem
    if task == "":
        return f"field {fields.task!r} must not be empty"
    attempt = obj.get(fields.attempt)
    if attempt is not None and not (is_int64(attempt) and attempt >= 0):
        return _must(fields.attempt, "a non-negative 64-bit integer or null", attempt)
    snap = read_snapshot(obj, fields.snapshot)
    if not isinstance(snap, Snap):
        key, value, what = snap
        what = "a 64-bit integer or null" if what == "an integer or null" else what
        return _must(key, what, value)
    return Event(task, status, at, attempt or 0, snap if snap.keys else None)  # type: ignore[arg-type]


def read_json_line(raw: bytes) -> Event | str | None:
    """None for a blank line, else the event of a JSON line or the reason it is malformed."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if not raw.strip():
            return None
        return f"bad JSON: {exc}"
    return check_object(obj)


def csv_value(column: str, text: str) -> Any:
    """The value of one CSV field: null when empty, an integer when ``-?[0-9]+`` (a status:
    ``[0-9]+``, a numeric code), else the text itself (issue 12, items 6 and 9).

    >>> csv_value("at_usecs", "12"), csv_value("at_usecs", "3_0"), csv_value("status", "²")
    (12, '3_0', '²')
    """
    if text == "":
        return None
    if column == "status":
        return int(text) if _CODE.fullmatch(text) else text
    if column == "task_id" or column in CSV_NAMES.error:
        return text
    return int(text) if _INTEGER.fullmatch(text) else text


def too_long(limit: int) -> str:
    """The reason given for a line longer than ``limit`` bytes."""
    return f"line longer than {limit} bytes (the limit; see --max-line-bytes)"
