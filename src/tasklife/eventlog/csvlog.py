"""Reading CSV event logs: the header ``task_id,status,at_usecs`` (in any order, more columns
allowed), optionally with ``error``, ``task_start_time_usecs`` and ``task_end_time_usecs``.

Rows are checked as objects by :func:`~tasklife.eventlog.chunks.object_chunk`, as JSON Lines
that pyarrow refused are, so a bad row gets the same reason as a bad JSON line. A status of
digits is a numeric code; an empty stamp or error is null.

>>> import io
>>> chunk = next(read(io.BytesIO(b"task_id,status,at_usecs\\n7,1,5\\n"), 0, "x", []))
>>> chunk.raw_status.to_pylist(), chunk.at.tolist(), chunk.line.tolist()
([1], [5], [2])
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from typing import IO, Any, Final

from tasklife.errors import UnusableInput
from tasklife.eventlog.chunks import BadLine, RawChunk, no_snapshots, object_chunk
from tasklife.eventlog.report import Malformed

__all__ = ["CSV_COLUMNS", "CSV_SNAPSHOT", "read"]

CSV_COLUMNS: Final = ("task_id", "status", "at_usecs")
CSV_SNAPSHOT: Final = ("error", "task_start_time_usecs", "task_end_time_usecs")
ROWS_PER_CHUNK: Final = 1 << 16
"""Rows checked per chunk: large enough that a chunk's fixed costs vanish, small enough that
progress is reported often."""


def read(
    stream: IO[bytes],
    key: int,
    name: str,
    bad: list[Malformed],
    progress: Callable[[int], None] | None = None,
    first_line: int = 1,
) -> Iterator[RawChunk]:
    """The chunks of a CSV stream (see :data:`~tasklife.eventlog.readers.Reader`); a missing
    header column is :class:`~tasklife.errors.UnusableInput`."""
    offset = first_line - 1
    # utf-8-sig: a byte order mark (spreadsheet exports write one) is not part of the header
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    reader = csv.reader(text)
    header = next(reader, None)
    missing = [c for c in CSV_COLUMNS if c not in (header or [])]
    if header is None or missing:
        raise UnusableInput(
            f"{name}: CSV header must name {', '.join(CSV_COLUMNS)} "
            f"(missing {', '.join(missing)}; got {header!r})"
        )
    has_snapshots = any(c in header for c in CSV_SNAPSHOT)
    rows = _objects(reader, header, offset)
    while True:
        batch = [row for _, row in zip(range(ROWS_PER_CHUNK), rows, strict=False)]
        if not batch:
            return
        chunk = object_chunk(batch, key, bad, name, CSV_SNAPSHOT, CSV_COLUMNS)
        if chunk is not None:
            if has_snapshots and chunk.snap is None:
                chunk.snap = no_snapshots(len(chunk.at))
            yield chunk
        if progress is not None:
            progress(0)


def _objects(reader: Any, header: list[str], offset: int) -> Iterator[tuple[int, Any]]:
    """``(line, row as an object)`` for each non-empty row (a row of the wrong width is a
    :class:`~tasklife.eventlog.chunks.BadLine`)."""
    pos = {c: header.index(c) for c in (*CSV_COLUMNS, *CSV_SNAPSHOT) if c in header}
    has_snapshots = any(c in pos for c in CSV_SNAPSHOT)
    for row in reader:
        line = reader.line_num + offset
        if not row:
            continue
        if len(row) != len(header):
            yield line, BadLine(f"{len(row)} fields, the header has {len(header)}")
            continue
        obj: dict[str, Any] = {c: row[i] for c, i in pos.items()}
        for c in ("at_usecs", *CSV_SNAPSHOT[1:]):
            if c in obj:
                obj[c] = _csv_int(obj[c])
        status = obj["status"]
        if status.isdigit():
            obj["status"] = int(status)
        if "error" in obj and obj["error"] == "":
            obj["error"] = None
        if obj["task_id"] == "":
            obj["task_id"] = None
        if not has_snapshots:
            obj.pop("error", None)
        yield line, obj


def _csv_int(text: str) -> int | str | None:
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        return text
