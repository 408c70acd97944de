"""Records in and out of a store row, losslessly.

A task is added as a ``CopySnapshotTaskStatus`` record, its wire dict, an SDK object (its own
``APIHelper.to_dictionary`` gives the dict) or a light :class:`~tasklife.tracking.Task`. It is
checked exactly as ``from_dictionary`` checks it, then split into:

* the lifecycle-managed fields (``status``, ``error``, ``taskStartTimeUsecs``,
  ``taskEndTimeUsecs``), in columns, which transitions change;
* the rest of the document as JSON, which transitions never touch. A managed key that was an
  explicit ``null`` stays in it, so it comes back ``null`` while its column is unset, as a
  record's remembered nulls do;
* the stats that ``roll_up`` adds up, copied into columns once.

Checking a document fast: a plain dict that :func:`~tasklife.store.documents.clean_document`
finds clean (every modelled value of its kind's plain type) is split as it is, and its
unmodelled values are proven JSON by serialising them strictly (orjson refusing whatever it
would otherwise convert). Any other document, bad or merely unusual (an int subclass, a
non-dict mapping, a datetime), is read by ``from_dictionary``, which converts it or raises
its precise error. Either way the same row comes out (a property test holds the two paths
together).

Reading back merges the columns over the document and reads it with ``from_dictionary``, so
``get(id).to_dictionary()`` equals the added document, unknown keys, nulls and ``{}``
included. A document without a status starts in the lifecycle's initial status and comes
back with it.

>>> from tasklife import COPY_TASK
>>> document, row = new_row({"status": "kRunning", "error": None, "datalockConfig": {}}, COPY_TASK)
>>> row[0], document
('kRunning', '{"error":null,"datalockConfig":{}}')
>>> read_record("t1", COPY_TASK, row[0], None, None, None, document).to_dictionary()
{'status': 'kRunning', 'error': None, 'datalockConfig': {}}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import orjson

from tasklife.errors import CorruptTask, InvalidRecord
from tasklife.lifecycle import Lifecycle
from tasklife.models import CopyRunStats, CopySnapshotTaskStatus
from tasklife.store.documents import clean_document, wire_keys
from tasklife.tracking import Task, Tracked
from tasklife.tracking.invariants import WIRE_KEYS, check_snapshot
from tasklife.wire import WireModel

__all__ = ["INT64_MAX", "NewRow", "check_int64", "check_text", "new_row", "read_record"]

INT64_MAX: Final = (1 << 63) - 1
"""The largest integer either database stores in a column (a signed 64-bit integer)."""

_MANAGED: Final = wire_keys(
    CopySnapshotTaskStatus, "status", "error", "task_start_time_usecs", "task_end_time_usecs"
)
"""Wire keys of the fields transitions change: kept in columns, not in the document."""
_STATUS, _ERROR, _START, _END = _MANAGED
_STATS: Final = wire_keys(CopySnapshotTaskStatus, "stats")[0]
_STATS_KEYS: Final = wire_keys(
    CopyRunStats,
    "start_time_usecs",
    "end_time_usecs",
    "logical_bytes_transferred",
    "logical_size_bytes",
    "physical_bytes_transferred",
)
_INCREMENTAL: Final = wire_keys(CopyRunStats, "is_incremental")[0]
_STRICT: Final = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATACLASS
)
"""orjson options under which it serialises plain JSON values only (else TypeError)."""

NewRow = tuple[Any, ...]
"""What ``add`` writes for one task besides its ids, in column order: status, error, start,
end, then, for a task with stats, the stats columns: present (1), start, end, logical bytes,
logical size, physical bytes, incremental (0/1). A row without them is short (4 values):
binding seven absent values would cost a task a fifth of its insert."""


def check_text(path: str, value: str | None) -> str | None:
    """``value`` unchanged, or InvalidRecord when a database text column cannot hold it."""
    if value is not None and "\x00" in value:
        raise InvalidRecord(path, value, "contains a NUL character, which a store cannot hold")
    return value


def check_int64(path: str, value: int | None) -> int | None:
    """``value`` unchanged, or InvalidRecord when a database column cannot hold it."""
    if value is not None and value > INT64_MAX:
        raise InvalidRecord(path, value, "too large to store (at most 2**63 - 1)")
    return value


def new_row(task: Any, lifecycle: Lifecycle, null: Any = None) -> tuple[str | None, NewRow]:
    """Check ``task`` against ``lifecycle``: its document as JSON (None for a light
    ``Task``) and its row (:data:`NewRow`), with ``null`` for each value that is absent."""
    reader = _readers.get(lifecycle) or _reader(lifecycle)
    if task.__class__ is dict and clean_document(reader, task):
        try:  # the fast path; a value orjson will not take strictly is read the slow way
            document = _dumps(task, _STRICT)
        except TypeError:
            pass
        else:
            get = task.get
            status, error, start, end = get(_STATUS), get(_ERROR), get(_START), get(_END)
            nulls = frozenset(k for k in (_ERROR, _START, _END) if get(k, 0) is None)
            check_snapshot(lifecycle, status, start, end, error, WIRE_KEYS, nulls)
            if status is None:
                status = lifecycle.initial
            return document, _row(status, error, start, end, get(_STATS), null)
    if isinstance(task, Tracked) and not isinstance(task, WireModel):
        status = task.status if task.status is not None else lifecycle.initial
        if not lifecycle.has_state(status):
            raise InvalidRecord("status", status, lifecycle.unknown_status_reason(status))
        managed = (str(status), task.error, task.task_start_time_usecs, task.task_end_time_usecs)
        return None, _row(*managed, None, null)
    doc = _document(task)
    record = reader.from_dictionary(doc)
    assert record is not None
    status = record.status if record.status is not None else lifecycle.initial
    stats = record.stats
    return _dumps(doc), _row(
        status,
        record.error,
        record.task_start_time_usecs,
        record.task_end_time_usecs,
        None if stats is None else stats.to_dictionary(),
        null,
    )


_readers: dict[Lifecycle, type[CopySnapshotTaskStatus]] = {}


def _reader(lifecycle: Lifecycle) -> type[CopySnapshotTaskStatus]:
    reader = _readers[lifecycle] = CopySnapshotTaskStatus.for_lifecycle(lifecycle)
    return reader


def _document(task: Any) -> Mapping[str, Any]:
    if isinstance(task, CopySnapshotTaskStatus):
        return task.to_dictionary()
    if isinstance(task, Mapping):
        return task
    if hasattr(task, "_names"):  # an SDK model: serialise it the SDK's own way
        from cohesity_management_sdk.api_helper import APIHelper

        doc: Mapping[str, Any] = APIHelper.to_dictionary(task)
        return doc
    raise InvalidRecord(
        "", task, "expected a CopySnapshotTaskStatus, its wire dict, an SDK object or a Task"
    )


def _row(
    status: str,
    error: str | None,
    start: int | None,
    end: int | None,
    stats: Mapping[str, Any] | None,
    null: Any,
) -> NewRow:
    """A task's row from its managed fields and its stats' wire dict (checked values)."""
    if error is not None and "\x00" in error:
        check_text("error", error)
    if start is None:
        start = null
    elif start > INT64_MAX:
        check_int64("taskStartTimeUsecs", start)
    if end is None:
        end = null
    elif end > INT64_MAX:
        check_int64("taskEndTimeUsecs", end)
    if stats is None:  # the short row: no stats columns
        return (status, null if error is None else error, start, end)
    counts = [stats.get(k) for k in _STATS_KEYS]
    for key, value in zip(_STATS_KEYS, counts, strict=True):
        check_int64(f"{_STATS}.{key}", value)
    flag = stats.get(_INCREMENTAL)
    return (
        status,
        null if error is None else error,
        start,
        end,
        1,
        *(null if v is None else v for v in counts),
        null if flag is None else int(flag),
    )


# -- JSON ------------------------------------------------------------------------------------

_WIDE: Final = " "
"""Leads a document holding integers beyond 64 bits, written and read by the standard
library: orjson refuses to write such integers and would read them back as floats."""


def _dumps(doc: Mapping[str, Any], option: int | None = None) -> str:
    """The document without the managed values in columns (their nulls stay), as JSON."""
    rest = dict(doc)
    for key in _MANAGED:
        if rest.get(key) is not None:
            del rest[key]
    try:
        return orjson.dumps(rest, option=option).decode()
    except TypeError:
        if option is not None:
            raise
        return _WIDE + json.dumps(rest, separators=(",", ":"), ensure_ascii=False)


def _loads(text: str) -> Any:
    return json.loads(text) if text.startswith(_WIDE) else orjson.loads(text)


def read_record(
    task_id: str,
    lifecycle: Lifecycle,
    status: str,
    error: str | None,
    start_usecs: int | None,
    end_usecs: int | None,
    document: str | None,
) -> CopySnapshotTaskStatus | Task:
    """The record a row stands for; a row that does not read back is a CorruptTask."""
    try:
        if document is None:
            return Task.for_lifecycle(lifecycle)(status, error, start_usecs, end_usecs)
        doc = _loads(document)
        if not isinstance(doc, dict):
            raise CorruptTask(task_id, f"its document is not a JSON object: {document[:80]!r}")
        managed = (status, error, start_usecs, end_usecs)
        doc.update((k, v) for k, v in zip(_MANAGED, managed, strict=True) if v is not None)
        record = CopySnapshotTaskStatus.for_lifecycle(lifecycle).from_dictionary(doc)
    except ValueError as exc:  # JSONDecodeError, InvalidRecord: a row changed by hand
        if isinstance(exc, CorruptTask):
            raise
        raise CorruptTask(task_id, str(exc)) from None
    assert record is not None
    return record
