"""Reading event logs into one :class:`~tasklife.eventlog.table.EventLog`, streaming.

Each source is opened and its format told (:mod:`tasklife.eventlog.sources`), its reader
(:mod:`tasklife.eventlog.readers`) gives chunks of whole lines, and the chunks are appended
here to one growing array per column. Statuses are mapped to state indices as each chunk
arrives (unknown ones dropped and reported); task ids become dense integer codes, merged a
group of chunks at a time (:class:`_TaskIds`). When the ids of a log mix integers and
strings they are compared as text.

A source whose events carry a snapshot key (or a CSV with a snapshot column) is a snapshot
log: each of its events is judged as a snapshot, a missing key meaning null.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from tasklife.eventlog.chunks import (
    LINE_BITS,
    MISSING,
    RawChunk,
    id_type,
    no_snapshots,
    object_chunk,
    select_rows,
)
from tasklife.eventlog.report import Malformed
from tasklife.eventlog.sources import Progress, Source, open_source, sniff
from tasklife.eventlog.table import STATUS_DTYPE, EventLog, EventTable, status_codes
from tasklife.lifecycle import Lifecycle, LifecycleSpec, get_lifecycle

__all__ = ["GROUP_ROWS", "events_from_objects", "read_events"]

GROUP_ROWS: Final = 1 << 20
"""Chunk id dictionaries are merged about this many events at a time (see :class:`_TaskIds`)."""
BYTES_PER_EVENT: Final = 32
"""A low guess of the bytes of one event in a file, to size the columns from the file sizes
up front (pages never written to cost no memory, so a generous first size is free)."""
MIN_CAPACITY: Final = 1 << 16
"""The columns' first size, in events, when the sizes say little (standard input, streams)."""


def read_events(
    sources: Sequence[Source],
    *,
    lifecycle: LifecycleSpec = "copy-task",
    vocabulary: str = "auto",
    progress: Progress | None = None,
) -> EventLog:
    """Read event logs (paths, ``-`` for stdin, or binary streams) into one
    :class:`~tasklife.eventlog.table.EventLog`; gzip-compressed sources are decompressed as
    they are read.

    Raises :class:`~tasklife.errors.UnusableInput` when a source cannot be read at all; a bad
    line is recorded in ``malformed`` and the rest is kept.

    >>> read_events(["missing.jsonl"])
    Traceback (most recent call last):
    tasklife.errors.UnusableInput: missing.jsonl: cannot read: No such file or directory
    """
    sizes = [
        os.path.getsize(s)
        for s in sources
        if isinstance(s, str | os.PathLike) and os.path.isfile(s)
    ]
    capacity = max(sum(sizes) // BYTES_PER_EVENT, MIN_CAPACITY)
    parts = _Parts(get_lifecycle(lifecycle), vocabulary, capacity=capacity)
    for key, source in enumerate(sources):
        name, stream = open_source(source)
        parts.names.append(name)
        try:
            opened = sniff(name, stream, progress)
            chunks = opened.format.read(opened.stream, key, name, parts.bad, opened.progress)
            for chunk in chunks:
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
    """An :class:`~tasklife.eventlog.table.EventLog` from event dicts (line ``n`` is the
    ``n``-th event, from 1).

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
    capacity: int = MIN_CAPACITY
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
        values: dict[str, Any] = {"status": codes, "at": chunk.at, "line": chunk.line}
        if chunk.snap is not None and not self.snapshot_sources:
            done = self.columns["line"].size if self.columns else 0
            for column, (dtype, missing) in _SNAPSHOT_COLUMNS.items():
                self.columns[column] = _Column(dtype, self.capacity)
                self.columns[column].extend(np.full(done, missing, dtype))
        if chunk.snap is not None:
            self.snapshot_sources.add(key)
        if self.snapshot_sources:
            start, end, error = chunk.snap or no_snapshots(len(codes))
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
