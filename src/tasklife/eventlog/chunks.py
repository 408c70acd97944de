"""Chunks of events as the readers give them: columns of the well-formed events of some lines.

A :class:`RawChunk` holds task ids and statuses as read (pyarrow arrays, often
dictionary-encoded, statuses not yet mapped to states), times and line keys as numpy arrays,
and the snapshot columns when the source has them. :func:`object_chunk` is the one place an
event given as an object (a parsed JSON line, a CSV row, a dict) is checked: every reader
falls back to it, so a bad line gets the same reason whatever its format.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from tasklife.eventlog.report import Malformed
from tasklife.validation.kinds import MISSING

__all__ = [
    "JSON_SNAPSHOT",
    "LINE_BITS",
    "MISSING",
    "BadLine",
    "RawChunk",
    "Snapshots",
    "id_type",
    "line_keys",
    "no_snapshots",
    "object_chunk",
    "select_rows",
]

LINE_BITS: Final = 40
"""A line key is ``source index << LINE_BITS | line number``, so keys sort in file order:
2**40 lines per source (a trillion) and, in a non-negative int64, 2**23 sources."""
JSON_SNAPSHOT: Final = ("error", "taskStartTimeUsecs", "taskEndTimeUsecs")
"""The snapshot keys of an event object: error first, then the start and end stamps."""
_INT64: Final = 1 << 63
_SHOWN_CHARS: Final = 60
"""How much of a value that is not an event a message quotes: enough to recognise it."""

Snapshots = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.bool_]]
"""Per event: the start stamp, the end stamp (:data:`MISSING` when null), whether an error
is set."""


@attrs.define
class RawChunk:
    """The well-formed events of one chunk of one source, statuses as read (not yet mapped)."""

    task: pa.Array
    raw_status: pa.Array
    at: npt.NDArray[np.int64]
    line: npt.NDArray[np.int64]
    snap: Snapshots | None


@attrs.frozen
class BadLine:
    """A line that could not be parsed as an object, and why."""

    reason: str


def line_keys(first: int, count: int, key: int) -> npt.NDArray[np.int64]:
    """The line keys of ``count`` lines of source ``key`` from line ``first`` on."""
    return np.arange(first, first + count, dtype=np.int64) | (key << LINE_BITS)


def no_snapshots(n: int) -> Snapshots:
    """The snapshot columns of ``n`` events that carry no stamps and no error."""
    return np.full(n, MISSING, np.int64), np.full(n, MISSING, np.int64), np.zeros(n, np.bool_)


def id_type(type_: pa.DataType) -> pa.DataType:
    """The type of the ids, dictionary-encoded or not.

    >>> id_type(pa.dictionary(pa.int32(), pa.int64()))
    DataType(int64)
    """
    return type_.value_type if pa.types.is_dictionary(type_) else type_


def select_rows(chunk: RawChunk, keep: npt.NDArray[np.bool_]) -> RawChunk:
    """The rows of ``chunk`` to ``keep`` (dictionary-encoded ids: only the kept ones)."""
    mask = pa.array(keep)
    task = chunk.task.filter(mask)
    if pa.types.is_dictionary(task.type):
        task = pc.dictionary_encode(task.dictionary_decode())
    snap = (
        None
        if chunk.snap is None
        else (chunk.snap[0][keep], chunk.snap[1][keep], chunk.snap[2][keep])
    )
    return RawChunk(task, chunk.raw_status.filter(mask), chunk.at[keep], chunk.line[keep], snap)


def _required(field: str, value: Any, types: tuple[type, ...], what: str) -> str | None:
    """Why a required field's value is unusable, or None."""
    if value is None:
        return f"missing or null field {field!r}"
    if isinstance(value, bool) or not isinstance(value, types) or not _fits(value):
        return f"field {field!r} must be {what}, got {value!r}"
    return None


def _fits(value: Any) -> bool:
    """Whether a JSON value fits its column (integers are 64-bit)."""
    return not isinstance(value, int) or -_INT64 < value < _INT64


def _int_or_none(obj: Mapping[str, Any], field: str) -> tuple[bool, int | None]:
    v = obj.get(field)
    if v is None:
        return True, None
    return (isinstance(v, int) and not isinstance(v, bool) and _fits(v)), v


def _problem(
    obj: Any, fields: tuple[str, str, str], snapshot_fields: Sequence[str]
) -> tuple[str | None, list[int]]:
    """Why the object on a line holds no usable event (None when it does), and its stamps."""
    if isinstance(obj, BadLine):
        return obj.reason, []
    if not isinstance(obj, Mapping):
        return f"not a JSON object: {obj!r:.{_SHOWN_CHARS}}", []
    id_field, status_field, at_field = fields
    problem = (
        _required(id_field, obj.get(id_field), (str, int), "a string or a 64-bit integer")
        or _required(status_field, obj.get(status_field), (str, int), "a status name or code")
        or _required(at_field, obj.get(at_field), (int,), "a 64-bit integer")
    )
    stamps = []
    for field in snapshot_fields[1:]:
        good, v = _int_or_none(obj, field)
        if problem is None and not good:
            problem = f"field {field!r} must be a 64-bit integer or null, got {v!r}"
        stamps.append(MISSING if v is None or not good else v)
    err = obj.get(snapshot_fields[0])
    if problem is None and err is not None and not isinstance(err, str):
        problem = f"field {snapshot_fields[0]!r} must be a string or null, got {err!r}"
    return problem, stamps


def object_chunk(
    objects: Iterable[tuple[int, Any]],
    key: int,
    bad: list[Malformed],
    name: str,
    snapshot_fields: Sequence[str] = JSON_SNAPSHOT,
    fields: tuple[str, str, str] = ("taskId", "status", "atUsecs"),
) -> RawChunk | None:
    """Check parsed objects one by one; ``objects`` yields ``(line, object)``; ``fields``
    names the task id, status and time fields (``snapshot_fields``: the error, start and end).
    None when no line holds an event.

    >>> bad = []
    >>> chunk = object_chunk([(1, {"taskId": 1, "status": 1, "atUsecs": 2}), (2, [])], 0, bad, "x")
    >>> chunk.at.tolist(), [(m.line, m.reason) for m in bad]
    ([2], [(2, 'not a JSON object: []')])
    """
    columns: tuple[list[Any], ...] = ([], [], [], [], [], [], [])
    tasks, statuses, ats, lines, starts, ends, errors = columns
    any_snap = False
    for line, obj in objects:
        problem, stamps = _problem(obj, fields, snapshot_fields)
        if problem is not None:
            bad.append(Malformed(name, line, problem))
            continue
        any_snap = any_snap or any(k in obj for k in snapshot_fields)
        tasks.append(obj[fields[0]])
        statuses.append(obj[fields[1]])
        ats.append(obj[fields[2]])
        lines.append(line)
        starts.append(stamps[0])
        ends.append(stamps[1])
        errors.append(bool(obj.get(snapshot_fields[0])))
    if not tasks:
        return None
    snap = None
    if any_snap:
        snap = (np.array(starts, np.int64), np.array(ends, np.int64), np.array(errors, np.bool_))
    return RawChunk(
        _id_array(tasks),
        _id_array(statuses),
        np.array(ats, np.int64),
        np.array(lines, np.int64) | (key << LINE_BITS),
        snap,
    )


def _id_array(values: list[Any]) -> pa.Array:
    """Ints stay ints; a mix of ints and strings becomes strings."""
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([str(v) for v in values], pa.string())
