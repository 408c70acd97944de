"""The event table: a read log as parallel numpy columns, and mapping statuses to states.

Statuses become state indices (:data:`STATUS_DTYPE`) once per distinct value of a chunk
(:func:`status_codes`); task ids become dense integer codes (see
:mod:`tasklife.eventlog.reading`); each event keeps its line key (source and line).

>>> from tasklife.eventlog.reading import events_from_objects
>>> log = events_from_objects([{"taskId": 7, "status": "Running", "atUsecs": 5},
...                            {"taskId": 7, "status": "Runing", "atUsecs": 6}])
>>> log.table.size, log.vocabulary, log.malformed[0].line
(1, 'v2', 2)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from tasklife.eventlog.chunks import LINE_BITS, RawChunk
from tasklife.eventlog.report import Malformed
from tasklife.lifecycle import Lifecycle
from tasklife.validation.rules import accept_status

__all__ = ["STATUS_DTYPE", "UNKNOWN_STATE", "EventLog", "EventTable", "status_codes"]

STATUS_DTYPE: Final = np.int8
"""A state index in the table: one byte per event, so a lifecycle has at most
:data:`~tasklife.lifecycle.MAX_STATES` states."""
UNKNOWN_STATE: Final = -1
"""The code of a status that names no state (such events are left out of the table)."""


@attrs.frozen(eq=False)
class EventTable:
    """Events as parallel numpy columns, in reading order.

    ``status`` holds state indices of the lifecycle; ``task`` dense codes into ``task_ids``;
    ``line`` the line key (see :data:`~tasklife.eventlog.chunks.LINE_BITS`). The snapshot
    columns are None when no source is a snapshot log; ``start``/``end`` hold
    :data:`~tasklife.validation.kinds.MISSING` for null.

    >>> from tasklife.eventlog.reading import events_from_objects
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

        >>> from tasklife.eventlog.reading import events_from_objects
        >>> log = events_from_objects([{"taskId": "x", "status": 1, "atUsecs": 0}])
        >>> log.table.task_ids_of(np.zeros(2, np.int32))
        ['x', 'x']
        """
        if isinstance(self.task_ids, pa.Array):
            return list(self.task_ids.take(pa.array(codes)).to_pylist())
        return [self.task_ids[c] for c in codes.tolist()]


@attrs.frozen(eq=False)
class EventLog:
    """A read log: the event table, the malformed lines, the sources and their vocabulary.

    >>> from tasklife.eventlog.reading import events_from_objects
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


def status_codes(
    chunk: RawChunk, lc: Lifecycle, vocabulary: str, bad: list[Malformed], names: list[str]
) -> tuple[npt.NDArray[np.int8], str | None]:
    """State indices of a chunk's statuses (:data:`UNKNOWN_STATE` where unknown, recorded in
    ``bad`` naming the file from ``names``), and the vocabulary of its first known status."""
    raw = chunk.raw_status
    encoded = raw if pa.types.is_dictionary(raw.type) else pc.dictionary_encode(raw)
    values = encoded.dictionary.to_pylist()
    lookup = np.full(len(values) + 1, UNKNOWN_STATE, STATUS_DTYPE)
    reasons: dict[int, str] = {}
    for i, v in enumerate(values):
        state, reason = accept_status(lc, v, vocabulary)
        if state is None:
            reasons[i] = reason or ""
        else:
            lookup[i] = lc.index[state]
    idx = np.asarray(encoded.indices.to_numpy(zero_copy_only=False))
    codes = lookup[idx]
    for row in np.flatnonzero(codes == UNKNOWN_STATE):
        key = int(chunk.line[row])
        bad.append(
            Malformed(
                names[key >> LINE_BITS],
                key & ((1 << LINE_BITS) - 1),
                reasons[int(idx[row])],
                "unknown-status",
            )
        )
    known = np.flatnonzero(codes != UNKNOWN_STATE)
    vocab = lc.vocabulary(values[int(idx[known[0]])]) if len(known) else None
    return codes, vocab
