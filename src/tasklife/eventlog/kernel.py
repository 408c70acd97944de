"""Judging every task of an event table at once: the rules of :func:`~tasklife.validate`,
vectorised (the fast and the Dask engines' judge).

Theory of operation
-------------------
The events are put in ``(run, at, line)`` order (:mod:`tasklife.eventlog.order`), so each
run's history is a stretch of consecutive rows (a run is a task, or a ``(task, attempt)``
when the log has attempts). Every rule is then an array expression over neighbouring rows:

* a pair of rows of one run is coded ``source * n + dest`` and looked up in the table of
  :func:`~tasklife.validation.rules.pair_verdicts` (the rule one history is judged with):
  fine, a gap (polling: reachable), or the violation kind of the pair;
* "the last stamp set earlier in this run" is a running maximum over row positions, cut at
  the run's first row; the snapshot rules of :data:`~tasklife.validation.kinds.KINDS` are
  then evaluated on whole columns (:class:`~tasklife.validation.kinds.Facts` of arrays),
  each field only where its key is present;
* a run's last row that is not final is still active;
* attempts: in ``(task, at, line)`` order an attempt lower than the highest one begun is
  ``attempts-interleaved``.

Each pair is judged on its own, exactly as :func:`~tasklife.validate` re-syncs to the
observed status after a violation, so a task's verdicts do not depend on the others. The
violations leave as columns (:class:`~tasklife.eventlog.report.Found`).

>>> from tasklife.eventlog.reading import events_from_objects
>>> log = events_from_objects([{"taskId": 1, "status": "kAccepted", "atUsecs": 2},
...                            {"taskId": 2, "status": "kRunning", "atUsecs": 1},
...                            {"taskId": 1, "status": "kSuccess", "atUsecs": 3}])
>>> [(v.task, v.kind) for v in judge(log).report().violations]
[(1, 'illegal-transition')]
"""

from __future__ import annotations

from functools import cache
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from tasklife.eventlog.found import NO_ATTEMPT, NO_STATE, Found
from tasklife.eventlog.order import task_order
from tasklife.eventlog.report import LogReport, PartialReport, assemble
from tasklife.eventlog.table import EventLog, EventTable
from tasklife.lifecycle import Lifecycle, LifecycleSpec, get_lifecycle
from tasklife.validation.fields import END, ERROR, START
from tasklife.validation.kinds import KIND_NAMES, MISSING, SNAPSHOT_KINDS, Facts
from tasklife.validation.rules import GAP, KIND_BASE, check_mode, pair_verdicts, state_rules

__all__ = ["PAIR_DTYPE", "Verdicts", "judge", "pair_table"]

PAIR_DTYPE: Final = np.int16
"""A ``source * n + dest`` pair code: at most 128 * 128 (``MAX_STATES`` squared) fits."""
_INDEX: Final = {k: i for i, k in enumerate(KIND_NAMES)}


@cache
def pair_table(lifecycle: Lifecycle, mode: str) -> npt.NDArray[np.int8]:
    """:func:`~tasklife.validation.rules.pair_verdicts` as one flat array by pair code.

    >>> from tasklife.lifecycle import COPY_TASK
    >>> t = pair_table(COPY_TASK, "polling")
    >>> n = len(COPY_TASK.state_names)
    >>> int(t[COPY_TASK.index["kAccepted"] * n + COPY_TASK.index["kSuccess"]]) == GAP
    True
    """
    return np.array(pair_verdicts(lifecycle, mode), np.int8).ravel()


@cache
def _state_flags(lifecycle: Lifecycle) -> tuple[npt.NDArray[np.bool_], ...]:
    """By state index: final, needs a start time, requires an error, forbids one."""
    rules = state_rules(lifecycle)
    names = lifecycle.state_names
    return (
        np.array([s in rules.final for s in names]),
        np.array([s in rules.needs_start for s in names]),
        np.array([s in rules.error_required for s in names]),
        np.array([s in rules.error_forbidden for s in names]),
    )


def _previous_set(
    values: npt.NDArray[np.int64], present: npt.NDArray[np.bool_], first: npt.NDArray[np.intp]
) -> npt.NDArray[np.int64]:
    """For each row, the last present value at an earlier row of the same run (or MISSING)."""
    pos = np.where(present, np.arange(len(values)), -1)
    last = np.maximum.accumulate(pos) if len(pos) else pos
    before = np.empty_like(last)
    before[:1] = -1
    before[1:] = last[:-1]
    ok = before >= first
    return np.where(ok, values[np.where(ok, before, 0)], MISSING)


@attrs.frozen(eq=False)
class Verdicts:
    """The verdicts on every run of an event log, as arrays: :meth:`partial` and
    :meth:`report` make the reports.

    >>> from tasklife.eventlog.reading import events_from_objects
    >>> log = events_from_objects([{"taskId": 1, "status": "kRunning", "atUsecs": 1},
    ...                            {"taskId": 1, "status": "kAccepted", "atUsecs": 2}])
    >>> result = judge(log)
    >>> result.tasks, result.counts
    (1, {'illegal-transition': 1})
    """

    log: EventLog
    lifecycle: Lifecycle
    mode: str
    tasks: int
    found: Found
    gaps: dict[tuple[int, int], int]
    still_active: int

    @property
    def events(self) -> int:
        return self.log.table.size

    @property
    def counts(self) -> dict[str, int]:
        """Violations per kind (only kinds that occur), in ``KINDS`` order."""
        counts = np.bincount(np.asarray(self.found.kind, np.intp), minlength=len(KIND_NAMES))
        return {k: int(c) for k, c in zip(KIND_NAMES, counts, strict=True) if c}

    def partial(self) -> PartialReport:
        """The report on these tasks, to assemble with others."""
        return PartialReport(
            self.tasks, self.events, self.still_active, self.counts, self.gaps, self.found
        )

    def report(self) -> LogReport:
        """The :class:`~tasklife.eventlog.report.LogReport` of the whole log."""
        return assemble(
            [self.partial()],
            sources=self.log.sources,
            malformed=self.log.malformed,
            lifecycle=self.lifecycle,
            mode=self.mode,
            vocabulary=self.log.vocabulary,
            extra_tasks=self.log.extra_tasks,
        )


def judge(
    log: EventLog,
    *,
    lifecycle: LifecycleSpec = "copy-task",
    mode: str = "strict",
    require_final: bool = False,
) -> Verdicts:
    """Judge every task of ``log`` (vectorised); the same verdicts as
    :func:`~tasklife.validate` gives each task's history.

    >>> from tasklife.eventlog.reading import events_from_objects
    >>> log = events_from_objects([{"taskId": 1, "status": "kRunning", "atUsecs": 2}])
    >>> judge(log, require_final=True).counts
    {'still-active': 1}
    """
    check_mode(mode)
    lc = get_lifecycle(lifecycle)
    table = log.table
    final = _state_flags(lc)[0]
    runs = _runs(table)
    order = task_order(attrs.evolve(table, task=runs))
    ordered = _Ordered(table, runs, order)
    s, n = ordered.status, table.size
    new = np.ones(n, np.bool_)
    np.not_equal(ordered.runs[1:], ordered.runs[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    gap_rows, found = _pair_verdicts(lc, mode, s, new)
    last = np.ones(n, np.bool_)
    last[:-1] = new[1:]
    active = np.flatnonzero(last & ~final[s]) if n else np.zeros(0, np.intp)
    if require_final:
        found["still-active"] = active
    stamps: dict[str, npt.NDArray[np.int64]] = {}
    if table.keys is not None:
        facts = _snapshot_facts(lc, ordered, starts)
        stamps = {
            "start": facts.start,
            "end": facts.end,
            "prev_start": facts.prev_start,
            "prev_end": facts.prev_end,
        }
        for kind in SNAPSHOT_KINDS:
            assert kind.rule is not None
            found[kind.name] = np.flatnonzero(kind.rule(facts))
    columns = _found(ordered, starts, found, stamps)
    if table.attempt is not None:
        columns = Found.concat([columns, _interleaved(ordered, starts)])
    gaps = _gap_counts(s, gap_rows, len(lc.state_names))
    tasks = len(np.unique(table.task)) if table.attempt is not None else len(starts)
    return Verdicts(log, lc, mode, tasks, columns, gaps, len(active))


def _runs(table: EventTable) -> npt.NDArray[np.int64]:
    """Each event's run code: its task code, or a code of its ``(task, attempt)``."""
    if table.attempt is None or not len(table.task):
        return table.task.astype(np.int64, copy=False)
    pairs = np.stack([table.task.astype(np.int64), table.attempt])
    return np.unique(pairs, axis=1, return_inverse=True)[1].reshape(-1).astype(np.int64)


@attrs.frozen(eq=False)
class _Ordered:
    """The table's columns in ``(run, at, line)`` order (``order`` None: already so)."""

    table: EventTable
    run_codes: npt.NDArray[np.int64]
    order: npt.NDArray[np.intp] | None

    def __call__(self, column: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return column if self.order is None else column[self.order]

    @property
    def status(self) -> npt.NDArray[np.int8]:
        return self(self.table.status)

    @property
    def runs(self) -> npt.NDArray[np.int64]:
        return self(self.run_codes)

    def rows(self, positions: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
        """Table rows at ``positions`` of the order."""
        return positions if self.order is None else self.order[positions]


def _pair_verdicts(
    lc: Lifecycle, mode: str, s: npt.NDArray[np.int8], new: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.intp], dict[str, npt.NDArray[np.intp]]]:
    """The positions of the gaps, and of each violation kind a pair of statuses gives."""
    table = pair_table(lc, mode)
    pair = s[:-1].astype(PAIR_DTYPE)
    pair *= len(lc.state_names)
    pair += s[1:]
    verdict = table[pair]
    del pair
    verdict[new[1:]] = 0  # a run's first event follows no status of its own
    found = {
        KIND_NAMES[code - KIND_BASE]: np.flatnonzero(verdict == code) + 1
        for code in np.unique(table).tolist()
        if code >= KIND_BASE
    }
    return np.flatnonzero(verdict == GAP) + 1, found


def _gap_counts(
    s: npt.NDArray[np.int8], gap_rows: npt.NDArray[np.intp], n: int
) -> dict[tuple[int, int], int]:
    pairs = s[gap_rows - 1].astype(np.intp) * n + s[gap_rows]
    codes, counts = np.unique(pairs, return_counts=True)
    return {(c // n, c % n): k for c, k in zip(codes.tolist(), counts.tolist(), strict=True)}


def _found(
    ordered: _Ordered,
    starts: npt.NDArray[np.intp],
    found: dict[str, npt.NDArray[np.intp]],
    stamps: dict[str, npt.NDArray[np.int64]],
) -> Found:
    """The violations at their positions as :class:`~tasklife.eventlog.report.Found`."""
    from tasklife.validation.kinds import KIND

    positions = np.concatenate([np.zeros(0, np.intp), *found.values()]).astype(np.intp)
    kinds = np.concatenate(
        [np.zeros(0, np.int8), *(np.full(len(r), _INDEX[k], np.int8) for k, r in found.items())]
    )
    values: list[npt.NDArray[np.int64]] = []
    befores: list[npt.NDArray[np.int64]] = []
    for name, rows in found.items():
        kind = KIND[name]
        for which, out in ((kind.value, values), (kind.before, befores)):
            col = stamps.get(which or "")
            out.append(np.full(len(rows), MISSING, np.int64) if col is None else col[rows])
    value = np.concatenate([np.zeros(0, np.int64), *values])
    before = np.concatenate([np.zeros(0, np.int64), *befores])
    return _columns(ordered, starts, positions, kinds, value, before)


def _columns(
    ordered: _Ordered,
    starts: npt.NDArray[np.intp],
    positions: npt.NDArray[np.intp],
    kinds: npt.NDArray[np.int8],
    value: npt.NDArray[np.int64],
    before: npt.NDArray[np.int64],
) -> Found:
    table, s = ordered.table, ordered.status
    first = starts[np.searchsorted(starts, positions, "right") - 1]
    src = np.where(positions > first, s[np.maximum(positions - 1, 0)], NO_STATE).astype(np.int8)
    dst = s[positions]
    still = kinds == _INDEX["still-active"]
    src[still] = dst[still]
    rows = ordered.rows(positions)
    attempt = np.full(len(rows), NO_ATTEMPT, np.int64)
    if table.attempt is not None:
        attempted = _attempted(table)
        shown = attempted[table.task[rows]]
        attempt[shown] = table.attempt[rows][shown]
    task = np.empty(len(rows), object)
    task[:] = table.task_ids_of(table.task[rows])
    return Found(
        table.line[rows],
        kinds,
        (positions - first).astype(np.int64),
        src,
        dst,
        task,
        attempt,
        value,
        before,
    ).in_line_order()


def _attempted(table: EventTable) -> npt.NDArray[np.bool_]:
    """By task code: whether the task has an attempt other than 0."""
    assert table.attempt is not None
    out = np.zeros(int(table.task.max()) + 1 if len(table.task) else 0, np.bool_)
    out[table.task[table.attempt != 0]] = True
    return out


def _interleaved(ordered: _Ordered, starts: npt.NDArray[np.intp]) -> Found:
    """``attempts-interleaved``: in ``(task, at, line)`` order, an attempt lower than the
    highest one the task began (logs with attempts are read by the reference: small)."""
    table = ordered.table
    assert table.attempt is not None
    by_task = task_order(table)
    rows = np.arange(table.size) if by_task is None else by_task
    where = np.empty(table.size, np.intp)
    where[ordered.rows(np.arange(table.size))] = np.arange(table.size)
    hits: list[int] = []
    tops: list[int] = []
    last_task, top = -1, -1
    for row, task, attempt in zip(
        rows.tolist(), table.task[rows].tolist(), table.attempt[rows].tolist(), strict=True
    ):
        if task != last_task:
            last_task, top = task, -1
        if attempt < top:
            hits.append(where[row])
            tops.append(top)
        top = max(top, attempt)
    positions = np.array(hits, np.intp)
    value = table.attempt[ordered.rows(positions)]
    kinds = np.full(len(positions), _INDEX["attempts-interleaved"], np.int8)
    return _columns(ordered, starts, positions, kinds, value, np.array(tops, np.int64))


def _snapshot_facts(lc: Lifecycle, ordered: _Ordered, starts: npt.NDArray[np.intp]) -> Facts:
    """The :class:`~tasklife.validation.kinds.Facts` of every event, in run order."""
    table = ordered.table
    assert table.keys is not None and table.start is not None
    assert table.end is not None and table.error is not None
    final, needs_start, error_required, error_forbidden = _state_flags(lc)
    s = ordered.status
    first = np.repeat(starts, np.diff(np.append(starts, len(s))))
    keys, st, en = ordered(table.keys), ordered(table.start), ordered(table.end)
    start_key, end_key, error_key = (keys & START) != 0, (keys & END) != 0, (keys & ERROR) != 0
    err = ordered(table.error) & error_key
    has_st, has_en = start_key & (st != MISSING), end_key & (en != MISSING)
    pst = _previous_set(st, has_st, first)
    pen = _previous_set(en, has_en, first)
    fin = final[s]
    return Facts(
        start=st,
        prev_start=pst,
        end=en,
        prev_end=pen,
        has_start=has_st,
        no_start=start_key & ~has_st,
        had_start=pst != MISSING,
        has_end=has_en,
        no_end=end_key & ~has_en,
        had_end=pen != MISSING,
        error=err,
        no_error=error_key & ~err,
        final=fin,
        not_final=~fin,
        needs_start=needs_start[s],
        error_required=error_required[s],
        error_forbidden=error_forbidden[s],
    )
