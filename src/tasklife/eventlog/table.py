"""The event table: a read log as parallel numpy columns (the fast engine's, the Dask
engine's, and what :mod:`tasklife.diagrams.flow` counts).

Statuses are state indices (:data:`STATUS_DTYPE`); task ids are dense integer codes into
``task_ids``; each event keeps its line key (source and line). Snapshot logs add the stamp
columns and, per event, which snapshot keys it carries; logs with attempts add the attempt.

>>> from tasklife.eventlog.reading import events_from_objects
>>> log = events_from_objects([{"taskId": 7, "status": "Running", "atUsecs": 5},
...                            {"taskId": 7, "status": "Runing", "atUsecs": 6}])
>>> log.table.size, log.vocabulary, log.malformed[0].line
(1, 'v2', 2)
"""

from __future__ import annotations

from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from tasklife.eventlog.found import LINE_BITS
from tasklife.eventlog.report import Malformed

__all__ = ["STATUS_DTYPE", "EventLog", "EventTable"]

STATUS_DTYPE: Final = np.int8
"""A state index in the table: one byte per event, so a lifecycle has at most
:data:`~tasklife.lifecycle.MAX_STATES` states."""


@attrs.frozen(eq=False)
class EventTable:
    """Events as parallel numpy columns, in reading order.

    ``status`` holds state indices of the lifecycle; ``task`` dense codes into ``task_ids``
    (a sequence, or any object with ``__getitem__`` and ``__len__``); ``line`` the line key
    (see :data:`~tasklife.eventlog.report.LINE_BITS`). The snapshot columns are None when no
    event carries a snapshot key: ``start``/``end`` hold
    :data:`~tasklife.validation.kinds.MISSING` for null (or absent), ``keys`` the bits of
    :mod:`tasklife.validation.fields` saying which keys the event carries. ``attempt`` is
    None when no event carries one.

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
    task_ids: Any
    """Task code -> id: a sequence, or an object with ``__getitem__``, ``__len__`` and
    ``many(codes)`` (:class:`~tasklife.eventlog.hashcodes.Ids`)."""
    keys: npt.NDArray[np.uint8] | None = None
    start: npt.NDArray[np.int64] | None = None
    end: npt.NDArray[np.int64] | None = None
    error: npt.NDArray[np.bool_] | None = None
    attempt: npt.NDArray[np.int64] | None = None

    @property
    def size(self) -> int:
        return len(self.status)

    def task_id(self, code: int) -> Any:
        """The task id behind a task code, as the input spelled it."""
        return self.task_ids[code]

    def task_ids_of(self, codes: npt.NDArray[Any]) -> list[Any]:
        """:meth:`task_id` of many codes at once.

        >>> from tasklife.eventlog.reading import events_from_objects
        >>> log = events_from_objects([{"taskId": "x", "status": 1, "atUsecs": 0}])
        >>> log.table.task_ids_of(np.zeros(2, np.int32))
        ['x', 'x']
        """
        many = getattr(self.task_ids, "many", None)
        if many is not None:
            return list(many(codes))
        return [self.task_ids[c] for c in codes.tolist()]


@attrs.frozen(eq=False)
class EventLog:
    """A read log: the event table, the malformed lines, the sources and their vocabulary;
    ``extra_tasks``: tasks named only by unknown-status lines.

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
    extra_tasks: int = 0

    def where(self, key: int) -> tuple[str, int]:
        """``(file, line)`` of a line key."""
        return self.sources[key >> LINE_BITS], key & ((1 << LINE_BITS) - 1)
