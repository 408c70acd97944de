"""The fast engine: DuckDB parses (with guards), numpy judges, in partitions of tasks
(``pip install 'tasklife[fast]'``).

Theory of operation
-------------------
1. **Read.** A JSON Lines file is read by DuckDB (:mod:`tasklife.eventlog.duck`): one
   query over a whole regular file, or block by block (gzip, standard input, a file DuckDB
   could not vouch for whole). Every line DuckDB cannot vouch for, and every CSV row, is read
   by the reference (:mod:`tasklife.eventlog.lines`) and joins the same columns; DuckDB
   hashes the ids the reference read the same way as its own.
2. **Partition.** Rows go to a partition by the top bits of their id's hash
   (:class:`~tasklife.eventlog.partitions.Partitions`): in memory, or with a memory limit
   spilled to files under ``--tmp``. Each task's events all land in one partition.
3. **Judge.** Each partition gets dense task codes from the hashes
   (:mod:`tasklife.eventlog.hashcodes`) and is judged by the vectorised kernel
   (:mod:`tasklife.eventlog.kernel`); in memory, two partitions at a time (numpy's sorts let
   go of the GIL: both cores), spilled ones one at a time (the budget).
4. **Report.** The partial reports are assembled (:func:`~tasklife.eventlog.report.assemble`)
   into the report the light engine gives, byte for byte.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Final

import attrs
import numpy as np
import pyarrow as pa

from tasklife.eventlog.arrays import indices, strings
from tasklife.eventlog.blocks import ReadOptions
from tasklife.eventlog.criteria import NO_OPTIONS, Criteria, RunOptions
from tasklife.eventlog.csvlog import CSV_COLUMNS
from tasklife.eventlog.duck import Batch, DuckReader
from tasklife.eventlog.found import LINE_BITS, Found
from tasklife.eventlog.hashcodes import Ids, exact_codes, task_codes
from tasklife.eventlog.kernel import judge
from tasklife.eventlog.lines import Event, read_json_line
from tasklife.eventlog.partitions import Partitions
from tasklife.eventlog.report import LogReport, Malformed, PartialReport, assemble
from tasklife.eventlog.sources import GZIP_MAGIC, Progress, Source, each_source, input_bytes
from tasklife.eventlog.spill import partitions_for
from tasklife.eventlog.statuses import StatusMap
from tasklife.eventlog.table import EventLog, EventTable
from tasklife.validation.kinds import MISSING

__all__ = ["BASE_BYTES", "BYTES_PER_EVENT", "validate"]

BYTES_PER_EVENT: Final = 140
"""Peak bytes per event while a partition is judged (columns, hash codes, sort keys;
measured ~100 at 10M events): sizes the partitions for a memory budget."""
BASE_BYTES: Final = 450 << 20
"""The reader's own peak: DuckDB's buffers at its memory limit, the interpreter, modules."""
PARALLEL_FROM_EVENTS: Final = 1 << 20
"""From about this many events (estimated from the input size), an in-memory log is judged
in :data:`MEMORY_PARTITIONS` partitions, two at a time: both cores, smaller sorts."""
MEMORY_PARTITIONS: Final = 16
JUDGES: Final = 2
"""Partitions judged at once in memory: the cores of the machines measured."""
_BYTES_PER_LINE: Final = 60


def validate(
    sources: Sequence[Source],
    criteria: Criteria,
    *,
    progress: Progress | None = None,
    options: RunOptions = NO_OPTIONS,
) -> LogReport:
    """Read ``sources`` and judge every task by ``criteria`` (an engine; see
    :mod:`tasklife.eventlog.engines`).

    >>> from tasklife.lifecycle import COPY_TASK
    >>> validate(["examples/copy-run.jsonl"], Criteria(COPY_TASK, mode="polling")).tasks
    300
    """
    spill = options.memory_limit is not None
    parts = partitions_for(sources, options.memory_limit, BYTES_PER_EVENT, BASE_BYTES)
    if not spill:
        size = input_bytes(sources)
        large = size is None or size // _BYTES_PER_LINE >= PARALLEL_FROM_EVENTS
        parts = MEMORY_PARTITIONS if large else 1
    statuses = StatusMap(criteria.lifecycle, criteria.vocabulary)
    with Partitions(parts, spill, options.tmp) as store:
        reader = _Reader(statuses, store)
        try:
            names = [reader.source(k, s, options, progress) for k, s in enumerate(sources)]
        finally:
            reader.duck.close()
        as_int = reader.int_ids and not reader.str_ids
        partials = _judge_all(store, criteria, names, as_int, workers=1 if spill else JUDGES)
    malformed = reader.malformed
    if reader.int_ids and reader.str_ids:
        malformed = [m if m.task is None else attrs.evolve(m, task=str(m.task)) for m in malformed]
    return assemble(
        partials,
        sources=names,
        malformed=malformed,
        lifecycle=criteria.lifecycle,
        mode=criteria.mode,
        vocabulary=statuses.vocabulary(),
    )


class _Reader:
    """Reads every source into the partitions (see the module docstring)."""

    def __init__(self, statuses: StatusMap, store: Partitions) -> None:
        self.statuses, self.store = statuses, store
        self.duck = DuckReader(statuses, self._emit)
        self.malformed: list[Malformed] = []
        self.int_ids = self.str_ids = False
        self.key = 0
        self.name = ""
        self.pending: list[tuple[int, Event | str]] = []

    def _emit(self, batch: Batch) -> None:
        batch.columns["line"] |= self.key << LINE_BITS
        self.int_ids |= batch.int_ids
        self.str_ids |= batch.str_ids
        self.statuses.seen |= batch.vocabularies
        self.store.add(batch.columns, batch.ids)

    def source(
        self, key: int, source: Source, options: RunOptions, progress: Progress | None
    ) -> str:
        """Read one source; its name."""
        self.key = key
        kind = _plain_file(source)
        if kind is not None:
            path = os.fspath(source)  # type: ignore[arg-type]
            mark = self.store.mark()
            saw = (self.int_ids, self.str_ids, set(self.statuses.seen))
            if kind == "jsonl":
                whole = self.duck.probe(path) and self.duck.whole_file(path)
            else:
                whole = self.duck.whole_csv(path, _csv_header(path))
            if whole:
                if progress is not None:
                    progress(os.path.getsize(path))
                return path
            self.store.rollback(mark)
            self.int_ids, self.str_ids, self.statuses.seen = saw
        read = ReadOptions(options.max_line_bytes, progress)
        for _, name, blocks in each_source([source], read):
            self.name = name
            for block in blocks:
                if block.data is not None:
                    self.duck.block(block.data, block.first, self._refer)
                else:
                    self.pending.extend(block.rows)
                self._flush()
            return name
        raise AssertionError("each_source yields every source")  # pragma: no cover

    def _refer(self, line: int, raw: bytes) -> None:
        got = read_json_line(raw)
        if got is not None:
            self.pending.append((line, got))

    def _flush(self) -> None:
        """The lines the reference read join the columns (statuses mapped the same way)."""
        rows, self.pending = self.pending, []
        events: list[tuple[int, Event, int]] = []
        unknown: list[str] = []
        for line, got in rows:
            state = self.statuses.state_of(self.name, line, got)
            if isinstance(state, Malformed):
                self.malformed.append(state)
                if state.task is not None:  # unknown-status: its task is counted
                    self._saw(state.task)
                    unknown.append(str(state.task))
            else:
                assert not isinstance(got, str)
                self._saw(got.task)
                events.append((line, got, state))
        if unknown:  # hashed at once: one query per block, not per line
            self.store.unknown(self.duck.hashes(unknown)[0], unknown)
        if events:
            self.store.add(*self._columns(events))

    def _saw(self, task: Any) -> None:
        if type(task) is int:
            self.int_ids = True
        else:
            self.str_ids = True

    def _columns(self, events: list[tuple[int, Event, int]]) -> tuple[dict[str, Any], pa.Array]:
        texts = [str(e.task) for _, e, _ in events]
        h, h2 = self.duck.hashes(texts)
        cols: dict[str, Any] = {
            "h": h,
            "h2": h2,
            "state": np.array([s for *_, s in events], np.int8),
            "at": np.array([e.at for _, e, _ in events], np.int64),
            "line": np.array([line for line, *_ in events], np.int64) | (self.key << LINE_BITS),
        }
        if any(e.snap is not None for _, e, _ in events):
            snaps = [e.snap for _, e, _ in events]
            cols["keys"] = np.array([0 if s is None else s.keys for s in snaps], np.uint8)
            cols["start"] = np.array([_stamp(s and s.start) for s in snaps], np.int64)
            cols["end"] = np.array([_stamp(s and s.end) for s in snaps], np.int64)
            cols["error"] = np.array([s is not None and s.error for s in snaps], np.bool_)
        if any(e.attempt for _, e, _ in events):
            cols["attempt"] = np.array([e.attempt for _, e, _ in events], np.int64)
        return cols, strings(texts)


def _stamp(value: int | None) -> int:
    return MISSING if value is None else value


def _plain_file(source: Source) -> str | None:
    """``jsonl`` or ``csv`` when DuckDB may try to read ``source`` whole: a regular,
    uncompressed file of that format (a CSV of exactly the three event columns)."""
    if not isinstance(source, str | os.PathLike) or str(source) == "-":
        return None
    path = os.fspath(source)
    if not os.path.isfile(path):
        return None
    from tasklife.eventlog.sources import sniff

    with open(path, "rb") as f:
        if f.read(2) == GZIP_MAGIC:
            return None
        f.seek(0)
        fmt = sniff(str(path), f).format.name
    if fmt == "csv":
        header = _csv_header(path)
        return "csv" if sorted(header) == sorted(CSV_COLUMNS) else None
    return fmt if fmt == "jsonl" else None


def _csv_header(path: str) -> list[str]:
    with open(path, "rb") as f:
        line = f.readline(1 << 16)
    try:
        return line.rstrip(b"\n").decode("ascii").split(",")
    except UnicodeDecodeError:
        return []


def _judge_all(
    store: Partitions, criteria: Criteria, names: list[str], as_int: bool, workers: int
) -> list[PartialReport]:
    def one(part: tuple[dict[str, Any], pa.Array, set[str]]) -> PartialReport:
        return _judge_partition(*part, criteria, names, as_int)

    if workers == 1:
        return [one(p) for p in store.partitions()]
    done: list[PartialReport] = []
    with ThreadPoolExecutor(workers, thread_name_prefix="tasklife-judge") as pool:
        running: deque[Future[PartialReport]] = deque()
        for part in store.partitions():  # joined one at a time: at most `workers` in memory
            running.append(pool.submit(one, part))
            if len(running) >= workers:
                done.append(running.popleft().result())
        done.extend(f.result() for f in running)
    return done


def _judge_partition(
    cols: dict[str, Any],
    ids: pa.Array,
    unknown: set[str],
    criteria: Criteria,
    names: list[str],
    as_int: bool,
) -> PartialReport:
    if "h" not in cols:  # only tasks named by unknown-status lines
        return PartialReport(len(unknown), 0, 0, {}, {}, Found())
    got = task_codes(cols.pop("h"), cols.pop("h2"))
    codes, first = got if got is not None else exact_codes(ids)
    task_ids = Ids(ids.take(indices(first)), as_int)
    del ids
    table = EventTable(codes, cols.pop("state"), cols.pop("at"), cols.pop("line"), task_ids, **cols)
    log = EventLog(table, (), tuple(names), "v1", table.size)
    lc = criteria.lifecycle
    verdicts = judge(log, lifecycle=lc, mode=criteria.mode, require_final=criteria.require_final)
    partial = verdicts.partial()
    if unknown:  # tasks named only by unknown-status lines count (issue 12, item 7)
        partial = attrs.evolve(partial, tasks=partial.tasks + len(unknown - task_ids.texts_set()))
    return partial
