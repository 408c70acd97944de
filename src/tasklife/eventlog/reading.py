"""Reading event logs into one :class:`~tasklife.eventlog.table.EventLog` (numpy columns)
through the reference reading of each line: for diagrams of logs, Dask partitions, tests,
and the lines the fast engine leaves to the reference.

Task ids become dense codes in order of first appearance; when the ids of a log mix integers
and strings they are compared as text. Statuses are mapped once per distinct value
(:class:`~tasklife.eventlog.statuses.StatusMap`); an unknown one makes its line a malformed
line that names its task (issue 12, item 7).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from tasklife.eventlog.blocks import Block, ReadOptions
from tasklife.eventlog.found import line_key
from tasklife.eventlog.lines import Event, check_object
from tasklife.eventlog.report import Malformed
from tasklife.eventlog.sources import Progress, Source, each_source
from tasklife.eventlog.statuses import StatusMap
from tasklife.eventlog.table import STATUS_DTYPE, EventLog, EventTable
from tasklife.lifecycle import LifecycleSpec, get_lifecycle
from tasklife.validation.kinds import MISSING

__all__ = ["TableBuilder", "events_from_objects", "read_events"]


def read_events(
    sources: Sequence[Source],
    *,
    lifecycle: LifecycleSpec = "copy-task",
    vocabulary: str = "auto",
    progress: Progress | None = None,
    max_line_bytes: int | None = None,
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
    builder = TableBuilder(StatusMap(get_lifecycle(lifecycle), vocabulary))
    for key, name, blocks in each_source(sources, ReadOptions(max_line_bytes, progress)):
        builder.names.append(name)
        for block in blocks:
            builder.block(key, name, block)
    return builder.log()


def events_from_objects(
    events: Iterable[Mapping[str, Any]],
    *,
    lifecycle: LifecycleSpec = "copy-task",
    vocabulary: str = "auto",
    name: str = "<events>",
) -> EventLog:
    """An :class:`~tasklife.eventlog.table.EventLog` from event dicts (line ``n`` is the
    ``n``-th event, from 1), each read by the reference rules.

    >>> events_from_objects([{"taskId": "a", "status": 1, "atUsecs": 0}]).vocabulary
    'code'
    """
    builder = TableBuilder(StatusMap(get_lifecycle(lifecycle), vocabulary))
    builder.names.append(name)
    for line, obj in enumerate(events, start=1):
        builder.add(0, name, line, check_object(obj))
    return builder.log()


class TableBuilder:
    """Events read by the reference, appended to Python lists, made an event table."""

    def __init__(self, statuses: StatusMap) -> None:
        self.statuses = statuses
        self.names: list[str] = []
        self.malformed: list[Malformed] = []
        self.codes: dict[Any, int] = {}
        self.unknown: set[Any] = set()
        self.columns: dict[str, list[Any]] = {
            k: []
            for k in ("task", "status", "at", "line", "keys", "start", "end", "error", "attempt")
        }
        self.snapshots = self.attempts = False

    def block(self, key: int, name: str, block: Block) -> None:
        for line, got in block.decoded():
            self.add(key, name, line, got)

    def add(self, key: int, name: str, line: int, got: Event | str) -> None:
        """One line: an event, or the reason it holds none."""
        state = self.statuses.state_of(name, line, got)
        if isinstance(state, Malformed):
            self.malformed.append(state)
            if state.task is not None:  # unknown-status: its task is counted
                self.unknown.add(state.task)
            return
        assert not isinstance(got, str)
        c = self.columns
        c["task"].append(self.codes.setdefault(got.task, len(self.codes)))
        c["status"].append(state)
        c["at"].append(got.at)
        c["line"].append(line_key(key, line))
        snap = got.snap
        c["keys"].append(0 if snap is None else snap.keys)
        c["start"].append(MISSING if snap is None or snap.start is None else snap.start)
        c["end"].append(MISSING if snap is None or snap.end is None else snap.end)
        c["error"].append(snap is not None and snap.error)
        c["attempt"].append(got.attempt)
        self.snapshots = self.snapshots or snap is not None
        self.attempts = self.attempts or got.attempt != 0

    def ids(self) -> tuple[list[Any], np.ndarray[Any, Any], bool]:
        """``(ids by code, each event's code, whether ids are compared as text)``."""
        ids = list(self.codes)
        task = np.array(self.columns["task"], np.int64)
        text = any(type(i) is str for i in (*ids, *self.unknown)) and any(
            type(i) is int for i in (*ids, *self.unknown)
        )
        if not text:
            return ids, task, False
        merged: dict[str, int] = {}
        remap = np.array([merged.setdefault(str(i), len(merged)) for i in ids] or [0], np.int64)
        return list(merged), remap[task] if len(task) else task, True

    def log(self) -> EventLog:
        """The :class:`~tasklife.eventlog.table.EventLog` of what was added."""
        ids, task, text = self.ids()
        c = self.columns
        extra: dict[str, Any] = {}
        if self.snapshots:
            extra = {
                "keys": np.array(c["keys"], np.uint8),
                "start": np.array(c["start"], np.int64),
                "end": np.array(c["end"], np.int64),
                "error": np.array(c["error"], np.bool_),
            }
        if self.attempts:
            extra["attempt"] = np.array(c["attempt"], np.int64)
        table = EventTable(
            task.astype(np.int32),
            np.array(c["status"], STATUS_DTYPE),
            np.array(c["at"], np.int64),
            np.array(c["line"], np.int64),
            ids,
            **extra,
        )
        unknown = {str(t) if text else t for t in self.unknown}
        known = set(ids)
        names = self.names
        bad = sorted(self.malformed, key=lambda m: (names.index(m.file), m.line))
        if text:
            bad = [m if m.task is None else _as_text(m) for m in bad]
        return EventLog(
            table,
            tuple(bad),
            tuple(names),
            self.statuses.vocabulary(),
            len(bad) + table.size,
            len(unknown - known),
        )


def _as_text(m: Malformed) -> Malformed:
    return Malformed(m.file, m.line, m.reason, m.kind, str(m.task))
