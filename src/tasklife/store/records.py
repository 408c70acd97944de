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

Reading back merges the columns over the document and reads it with ``from_dictionary``, so
``get(id).to_dictionary()`` equals the added document, unknown keys, nulls and ``{}``
included. A document without a status starts in the lifecycle's initial status and comes
back with it.

>>> from tasklife import COPY_TASK
>>> row = new_row({"status": "kRunning", "error": None, "datalockConfig": {}}, COPY_TASK)
>>> row.status, row.document
('kRunning', '{"error":null,"datalockConfig":{}}')
>>> read_record("t1", COPY_TASK, row.status, None, None, None, row.document).to_dictionary()
{'status': 'kRunning', 'error': None, 'datalockConfig': {}}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import attrs
import orjson

from tasklife.errors import CorruptTask, InvalidRecord
from tasklife.lifecycle import Lifecycle
from tasklife.models import CopySnapshotTaskStatus
from tasklife.tracking import Task, Tracked
from tasklife.wire import WireModel

__all__ = ["INT64_MAX", "NewRow", "check_int64", "check_text", "new_row", "read_record"]

INT64_MAX: Final = (1 << 63) - 1
"""The largest integer either database stores in a column (a signed 64-bit integer)."""

_MANAGED: Final = ("status", "error", "taskStartTimeUsecs", "taskEndTimeUsecs")
"""Wire keys of the fields transitions change: kept in columns, not in the document."""


@attrs.frozen
class NewRow:
    """What ``add`` writes for one task (ids and lifecycle are added by the store)."""

    status: str
    error: str | None
    start_usecs: int | None
    end_usecs: int | None
    document: str | None
    stats: tuple[int, int | None, int | None, int | None, int | None, int | None, int | None]
    """present, start, end, logical bytes, logical size, physical bytes, incremental (0/1)."""


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


def new_row(task: Any, lifecycle: Lifecycle) -> NewRow:
    """Check ``task`` against ``lifecycle`` and split it into what a task row holds."""
    if isinstance(task, Tracked) and not isinstance(task, WireModel):
        status = task.status if task.status is not None else lifecycle.initial
        if not lifecycle.has_state(status):
            raise InvalidRecord("status", status, lifecycle.unknown_status_reason(status))
        return NewRow(
            str(status),
            check_text("error", task.error),
            check_int64("taskStartTimeUsecs", task.task_start_time_usecs),
            check_int64("taskEndTimeUsecs", task.task_end_time_usecs),
            None,
            (0, None, None, None, None, None, None),
        )
    reader = CopySnapshotTaskStatus.for_lifecycle(lifecycle)
    if isinstance(task, CopySnapshotTaskStatus):
        doc: Mapping[str, Any] = task.to_dictionary()
    elif isinstance(task, Mapping):
        doc = task
    elif hasattr(task, "_names"):  # an SDK model: serialise it the SDK's own way
        from cohesity_management_sdk.api_helper import APIHelper

        doc = APIHelper.to_dictionary(task)
    else:
        raise InvalidRecord(
            "", task, "expected a CopySnapshotTaskStatus, its wire dict, an SDK object or a Task"
        )
    record = reader.from_dictionary(doc)
    assert record is not None
    status = record.status if record.status is not None else lifecycle.initial
    rest = {k: v for k, v in doc.items() if v is None or k not in _MANAGED}
    return NewRow(
        status,
        check_text("error", record.error),
        check_int64("taskStartTimeUsecs", record.task_start_time_usecs),
        check_int64("taskEndTimeUsecs", record.task_end_time_usecs),
        _dumps(rest),
        _stats_columns(record),
    )


def _stats_columns(
    record: CopySnapshotTaskStatus,
) -> tuple[int, int | None, int | None, int | None, int | None, int | None, int | None]:
    stats = record.stats
    if stats is None:
        return (0, None, None, None, None, None, None)
    flag = stats.is_incremental
    return (
        1,
        check_int64("stats.startTimeUsecs", stats.start_time_usecs),
        check_int64("stats.endTimeUsecs", stats.end_time_usecs),
        check_int64("stats.logicalBytesTransferred", stats.logical_bytes_transferred),
        check_int64("stats.logicalSizeBytes", stats.logical_size_bytes),
        check_int64("stats.physicalBytesTransferred", stats.physical_bytes_transferred),
        None if flag is None else int(flag),
    )


_WIDE: Final = " "
"""Leads a document holding integers beyond 64 bits, written and read by the standard
library: orjson refuses to write such integers and would read them back as floats."""


def _dumps(doc: Mapping[str, Any]) -> str:
    try:
        return orjson.dumps(doc).decode()
    except TypeError:
        return _WIDE + json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


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
