"""Reading event logs (JSON Lines, CSV) into numpy columns, streaming, line by line accountable.

An event is ``{"taskId": <string or integer>, "status": ..., "atUsecs": <integer>}``, optionally
with ``error``, ``taskStartTimeUsecs`` and ``taskEndTimeUsecs`` (JSON Lines), or a CSV row under
the header ``task_id,status,at_usecs[,error,task_start_time_usecs,task_end_time_usecs]``.

Input is read in chunks of whole lines (see :mod:`tasklife.logformats`), which are joined here
into one table of numpy columns. Statuses are mapped to state indices once per distinct value.
Task ids become dense integer codes. When the ids of a log mix integers and strings they are
compared as text.

A source whose events carry a snapshot key (or a CSV with a snapshot column) is a snapshot log:
each of its events is judged as a snapshot, a missing key meaning null.

>>> log = events_from_objects([{"taskId": 7, "status": "Running", "atUsecs": 5},
...                            {"taskId": 7, "status": "Runing", "atUsecs": 6}])
>>> log.table.size, log.vocabulary, log.malformed[0].line
(1, 'v2', 2)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any, Final

import attrs
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from tasklife.lifecycle import Lifecycle, LifecycleSpec, get_lifecycle
from tasklife.logformats import (
    LINE_BITS,
    MISSING,
    Malformed,
    Progress,
    RawChunk,
    format_of,
    id_type,
    iter_chunks,
    object_chunk,
    open_source,
    readable,
    select_rows,
)
from tasklife.validation import accept_status

__all__ = [
    "LINE_BITS",
    "MISSING",
    "STATUS_DTYPE",
    "EventLog",
    "EventTable",
    "Malformed",
    "Progress",
    "RawChunk",
    "events_from_objects",
    "format_of",
    "iter_chunks",
    "read_events",
    "status_codes",
]

STATUS_DTYPE: Final = np.int8
"""A state index in the table: one byte per event, so a lifecycle has at most
:data:`~tasklife.lifecycle.MAX_STATES` states (-1 marks a status that is none of them)."""
GROUP_ROWS: Final = 1 << 20
"""Chunk id dictionaries are merged about this many events at a time (see :class:`_TaskIds`)."""


@attrs.frozen(eq=False)
class EventTable:
    """Events as parallel numpy columns, in reading order.

    ``status`` holds state indices of the lifecycle; ``task`` dense codes into ``task_ids``;
    ``line`` the line key (see :data:`LINE_BITS`). The snapshot columns are None when no
    source is a snapshot log; ``start``/``end`` hold :data:`MISSING` for null.

    >>> table = events_from_objects([{"taskId": "x", "status": "kRunning", "atUsecs": 9}]).table
    >>> table.size, table.task_id(0), table.status.tolist()
    (1, 'x', [1])
    """

    task: npt.NDArray[np.integer[Any]]
    status: npt.NDArray[np.int8]
    """State indices (:data:`STATUS_DTYPE`)."""
    at: npt.NDArray[np.int64]
    line: npt.NDArray[np.int64]
    task_ids: Sequence[Any]
    snapshot: npt.NDArray[np.bool_] | None = None
    start: npt.NDArray[np.int64] | None = None
    end: npt.NDArray[np.int64] | None = None
    error: npt.NDArray[np.bool_] | None = None

    @property
    def size(self) -> int:
        return len(self.status)

    def task_id(self, code: int) -> Any:
        """The task id behind a task code, as the input spelled it."""
        tid = self.task_ids[code]
        return tid.as_py() if isinstance(tid, pa.Scalar) else tid

    def task_ids_of(self, codes: npt.NDArray[Any]) -> list[Any]:
        """:meth:`task_id` of many codes at once.

        >>> events_from_objects([{"taskId": "x", "status": 1, "atUsecs": 0}]).table.task_ids_of(
        ...     np.zeros(2, np.int32))
        ['x', 'x']
        """
        if isinstance(self.task_ids, pa.Array):
            return list(self.task_ids.take(pa.array(codes)).to_pylist())
        return [self.task_ids[c] for c in codes.tolist()]


@attrs.frozen(eq=False)
class EventLog:
    """A read log: the event table, the malformed lines, the sources and their vocabulary.

    >>> log = events_from_objects([{"taskId": "x", "status": 4, "atUsecs": 9}])
    >>> log.sources, log.vocabulary, log.where(int(log.table.line[0]))
    (('<events>',), 'code', ('<events>', 1))
    """

    table: EventTable
    malformed: tuple[Malformed, ...]
    sources: tuple[str, ...]
    vocabulary: str
    lines: int
    """Non-blank lines read (events plus malformed lines)."""

    def where(self, key: int) -> tuple[str, int]:
        """``(file, line)`` of a line key."""
        return self.sources[key >> LINE_BITS], key & ((1 << LINE_BITS) - 1)


# -- one log from many chunks ------------------------------------------------------------------


def read_events(
    sources: Sequence[str | os.PathLike[str] | IO[bytes]],
    *,
    lifecycle: LifecycleSpec = "copy-task",
    vocabulary: str = "auto",
    progress: Progress | None = None,
) -> EventLog:
    """Read event logs (paths, ``-`` for stdin, or binary streams) into one :class:`EventLog`;
    gzip-compressed sources are decompressed as they are read.

    Raises :class:`UnusableInput` when a source cannot be read at all; a bad line is recorded
    in ``malformed`` and the rest is kept.

    >>> read_events(["missing.jsonl"])
    Traceback (most recent call last):
    tasklife.errors.UnusableInput: missing.jsonl: cannot read: No such file or directory
    """
    sizes = [
        os.path.getsize(s)
        for s in sources
        if isinstance(s, str | os.PathLike) and os.path.isfile(s)
    ]
    parts = _Parts(get_lifecycle(lifecycle), vocabulary, capacity=max(sum(sizes) // 32, 1 << 16))
    for key, source in enumerate(sources):
        name, stream = open_source(source)
        parts.names.append(name)
        try:
            fmt_name, buffered, counted = readable(name, stream, progress)
            fmt = format_of(fmt_name, buffered.peek(4096)[:4096])
            for chunk in iter_chunks(buffered, fmt, key, name, parts.bad, progress=counted):
                parts.add(key, chunk)
        finally:
            if stream is not sys.stdin.buffer and isinstance(source, str | os.PathLike):
                stream.close()
    return parts.assemble()


def events_from_objects(
    events: Iterable[Mapping[str, Any]],
    *,
    lifecycle: LifecycleSpec = "copy-task",
    vocabulary: str = "auto",
    name: str = "<events>",
) -> EventLog:
    """An :class:`EventLog` from event dicts (line ``n`` is the ``n``-th event, from 1).

    >>> events_from_objects([{"taskId": "a", "status": 1, "atUsecs": 0}]).vocabulary
    'code'
    """
    parts = _Parts(get_lifecycle(lifecycle), vocabulary)
    parts.names.append(name)
    chunk = object_chunk(enumerate(events, start=1), 0, parts.bad, name)
    if chunk is not None:
        parts.add(0, chunk)
    return parts.assemble()


_SNAPSHOT_COLUMNS: Final = {
    "start": (np.int64, MISSING),
    "end": (np.int64, MISSING),
    "error": (np.bool_, False),
}


class _Column:
    """A column growing in place: one array, doubled when full (pages never written to cost
    no memory, so a generous first size is free)."""

    def __init__(self, dtype: Any, capacity: int) -> None:
        self.data = np.empty(capacity, dtype)
        self.size = 0

    def extend(self, values: npt.NDArray[Any]) -> None:
        end = self.size + len(values)
        if end > len(self.data):
            grown = np.empty(max(end, 2 * len(self.data)), self.data.dtype)
            grown[: self.size] = self.data[: self.size]
            self.data = grown
        self.data[self.size : end] = values
        self.size = end

    def array(self) -> Any:
        return self.data[: self.size]


class _TaskIds:
    """Task ids to dense codes (in order of first appearance), a group of events at a time.

    Each chunk's ids come dictionary-encoded (by the thread that parsed it: a small hash
    table, in cache). A log is roughly in time order, so a group of :data:`GROUP_ROWS` events
    names far fewer tasks than it has events: merging its chunks' dictionaries gives a group
    dictionary, and merging the group dictionaries at the end hashes far fewer strings than
    the events. A group whose dictionary is more than half its size ends the grouping; the
    rest is merged at the end. Ids are compared as text once a string id appears.
    """

    def __init__(self) -> None:
        self.groups: list[tuple[pa.Array, npt.NDArray[np.int32]]] = []
        self.pending: list[pa.DictionaryArray] = []
        self.pending_rows = 0
        self.grouping = True
        self.text = False

    def add(self, ids: pa.Array) -> None:
        self.text = self.text or pa.types.is_string(id_type(ids.type))
        if not len(ids):
            return
        if not pa.types.is_dictionary(ids.type):
            ids = pc.dictionary_encode(ids)
        self.pending.append(ids)
        self.pending_rows += len(ids)
        if self.pending_rows >= GROUP_ROWS:
            self._group()

    def _group(self) -> None:
        """Merge the pending chunks into a group (unless grouping has ended)."""
        if not self.grouping or not self.pending:
            return
        dictionary, codes = self._merge(self.pending, self.pending_rows)
        if 2 * len(dictionary) > self.pending_rows:
            self.grouping = False
            return
        self.groups.append((dictionary, codes))
        self.pending, self.pending_rows = [], 0

    def _merge(
        self, parts: Sequence[pa.DictionaryArray], size: int
    ) -> tuple[pa.Array, npt.NDArray[np.int32]]:
        """One dictionary for ``parts`` and the codes of their ``size`` rows in it."""
        merged = pc.dictionary_encode(self._joined([p.dictionary for p in parts])).chunks
        codes = np.empty(size, np.int32)
        done = 0
        for part, piece in zip(parts, merged, strict=True):
            indices = part.indices.to_numpy(zero_copy_only=False)
            np.take(piece.indices.to_numpy(), indices, out=codes[done : done + len(part)])
            done += len(part)
        return merged[-1].dictionary, codes

    def _joined(self, arrays: list[pa.Array]) -> pa.ChunkedArray:
        if self.text:
            arrays = [a.cast(pa.string()) for a in arrays]
        return pa.chunked_array(arrays, type=arrays[0].type)

    def codes(self, size: int) -> tuple[Sequence[Any], npt.NDArray[np.int32]]:
        """The dictionary (code -> id) and the code of each of the ``size`` events."""
        self._group()  # the last group: fewer strings to merge
        if self.pending:  # grouping ended: each chunk is its own group
            self.groups += [(p.dictionary, p.indices.to_numpy()) for p in self.pending]
            self.pending = []
        if not self.groups:
            return [], np.zeros(0, np.int32)
        parts = [pa.DictionaryArray.from_arrays(c, d) for d, c in self.groups]
        self.groups = []
        dictionary, codes = self._merge(parts, size)
        pa.default_memory_pool().release_unused()  # the group dictionaries are gone
        return dictionary, codes


@attrs.define
class _Parts:
    """The read chunks, appended to one growing array per column, joined into one table.

    Each chunk's statuses are mapped as it arrives (unknown ones dropped); its task ids go to
    :class:`_TaskIds`, encoded a group at a time.
    """

    lifecycle: Lifecycle
    vocabulary: str
    capacity: int = 1 << 20
    names: list[str] = attrs.Factory(list)
    bad: list[Malformed] = attrs.Factory(list)
    columns: dict[str, _Column] = attrs.Factory(dict)
    ids: _TaskIds = attrs.Factory(_TaskIds)
    snapshot_sources: set[int] = attrs.Factory(set)
    detected: str | None = None

    def add(self, key: int, chunk: RawChunk) -> None:
        codes, vocab = status_codes(chunk, self.lifecycle, self.vocabulary, self.bad, self.names)
        self.detected = self.detected or vocab
        known = codes >= 0
        if not known.all():
            chunk, codes = select_rows(chunk, known), codes[known]
        self.ids.add(chunk.task)
        values: dict[str, Any] = {
            "status": codes,
            "at": chunk.at,
            "line": chunk.line,
        }
        if chunk.snap is not None and not self.snapshot_sources:
            done = self.columns["line"].size if self.columns else 0
            for column, (dtype, missing) in _SNAPSHOT_COLUMNS.items():
                self.columns[column] = _Column(dtype, self.capacity)
                self.columns[column].extend(np.full(done, missing, dtype))
        if chunk.snap is not None:
            self.snapshot_sources.add(key)
        if self.snapshot_sources:
            start, end, error = chunk.snap or _no_stamps(len(codes))
            values.update(start=start, end=end, error=error)
        for column, value in values.items():
            if column not in self.columns:
                self.columns[column] = _Column(value.dtype, self.capacity)
            self.columns[column].extend(value)

    def assemble(self) -> EventLog:
        cols = {k: c.array() for k, c in self.columns.items()}
        self.columns.clear()
        task_ids, task = self.ids.codes(len(cols.get("status", ())))
        status = cols.pop("status", np.zeros(0, STATUS_DTYPE))
        at = cols.pop("at", np.zeros(0, np.int64))
        line = cols.pop("line", np.zeros(0, np.int64))
        if self.snapshot_sources:
            cols["snapshot"] = np.isin(line >> LINE_BITS, sorted(self.snapshot_sources))
        table = EventTable(task, status, at, line, task_ids, **cols)
        names = self.names
        self.bad.sort(key=lambda m: (names.index(m.file) if m.file in names else 0, m.line))
        vocab = self.detected or (self.vocabulary if self.vocabulary != "auto" else "v1")
        return EventLog(table, tuple(self.bad), tuple(names), vocab, len(self.bad) + table.size)


def _no_stamps(
    n: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    return np.full(n, MISSING, np.int64), np.full(n, MISSING, np.int64), np.zeros(n, np.bool_)


def status_codes(
    chunk: RawChunk, lc: Lifecycle, vocabulary: str, bad: list[Malformed], names: list[str]
) -> tuple[npt.NDArray[np.int8], str | None]:
    """State indices of a chunk's statuses (-1 where unknown, recorded in ``bad``), and the
    vocabulary of its first known status."""
    raw = chunk.raw_status
    encoded = raw if pa.types.is_dictionary(raw.type) else pc.dictionary_encode(raw)
    values = encoded.dictionary.to_pylist()
    lookup = np.full(len(values) + 1, -1, STATUS_DTYPE)
    reasons: dict[int, str] = {}
    for i, v in enumerate(values):
        state, reason = accept_status(lc, v, vocabulary)
        if state is None:
            reasons[i] = reason or ""
        else:
            lookup[i] = lc.index[state]
    idx = np.asarray(encoded.indices.to_numpy(zero_copy_only=False))
    codes = lookup[idx]
    for row in np.flatnonzero(codes < 0):
        key = int(chunk.line[row])
        bad.append(
            Malformed(
                names[key >> LINE_BITS],
                key & ((1 << LINE_BITS) - 1),
                reasons[int(idx[row])],
                "unknown-status",
            )
        )
    known = np.flatnonzero(codes >= 0)
    vocab = lc.vocabulary(values[int(idx[known[0]])]) if len(known) else None
    return codes, vocab
