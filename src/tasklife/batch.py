"""Judging many interleaved tasks at once: the rules of :mod:`tasklife.validation`, vectorised.

Theory of operation
-------------------
The events (an :class:`~tasklife.eventlog.EventTable`) are put in ``(task, at, line)`` order,
so each task's history is a run of consecutive rows. Every rule of
:func:`tasklife.validation.validate` is then an array expression over neighbouring rows:

* a pair of rows of one task is coded ``source * n + dest`` and looked up in a table built
  once per lifecycle and mode by the rule :func:`validate` applies to one pair: fine (same
  status or one transition), a gap (polling: reachable), illegal, or after a final status;
* "the last stamp set earlier in this task" is a running maximum over row positions, cut at
  the task's first row; the snapshot rules compare each row with it;
* a task's last row that is not final is still active.

Each pair is judged on its own, exactly as :func:`~tasklife.validation.validate` re-syncs to
the observed status after a violation, so a task's verdicts do not depend on the others.
Violations are numbered per task (``index``) and get their messages from the same function.

>>> from tasklife.eventlog import events_from_objects
>>> log = events_from_objects([{"taskId": 1, "status": "kAccepted", "atUsecs": 2},
...                            {"taskId": 2, "status": "kRunning", "atUsecs": 1},
...                            {"taskId": 1, "status": "kSuccess", "atUsecs": 3}])
>>> result = judge(log)
>>> [(v.task, v.kind) for v in result.violations()]
[(1, 'illegal-transition')]
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from tasklife.eventlog import (
    MISSING,
    EventLog,
    EventTable,
    Malformed,
    events_from_objects,
    read_events,
)
from tasklife.lifecycle import Lifecycle, LifecycleSpec, get_lifecycle
from tasklife.validation import KINDS, MODES, Violation, message, rules_for, transition_verdict

__all__ = [
    "BatchResult",
    "LogReport",
    "ObservedFlow",
    "judge",
    "observed_flow",
    "pair_table",
    "task_order",
]

FINE: Final = 0
GAP: Final = 1
ILLEGAL: Final = 2
AFTER_FINAL: Final = 3
_KIND = {k: np.int8(i) for i, k in enumerate(KINDS)}


@cache
def pair_table(lifecycle: Lifecycle, mode: str) -> npt.NDArray[np.int8]:
    """The verdict on each ``source * n + dest`` pair: FINE, GAP, ILLEGAL, AFTER_FINAL.

    >>> from tasklife.lifecycle import COPY_TASK
    >>> t = pair_table(COPY_TASK, "polling")
    >>> n = len(COPY_TASK.state_names)
    >>> int(t[COPY_TASK.index["kAccepted"] * n + COPY_TASK.index["kSuccess"]]) == GAP
    True
    """
    verdicts = {None: FINE, "illegal-transition": ILLEGAL, "after-final": AFTER_FINAL}
    names = lifecycle.state_names
    table = np.full(len(names) ** 2, FINE, np.int8)  # the same status again: a re-observation
    for i, source in enumerate(names):
        for j, dest in enumerate(names):
            if i != j:
                kind, path = transition_verdict(lifecycle, source, dest, mode)
                gap = kind is None and len(path or ()) > 1
                table[i * len(names) + j] = GAP if gap else verdicts[kind]
    return table


@cache
def _state_flags(lifecycle: Lifecycle) -> tuple[npt.NDArray[np.bool_], ...]:
    rules = rules_for(lifecycle)
    names = lifecycle.state_names
    return (
        np.array([lifecycle.is_final(s) for s in names]),
        np.array([s in rules.needs_start for s in names]),
        np.array([s in rules.failure for s in names]),
    )


def _previous_set(
    values: npt.NDArray[np.int64], present: npt.NDArray[np.bool_], first: npt.NDArray[np.intp]
) -> npt.NDArray[np.int64]:
    """For each row, the last present value at an earlier row of the same task (or MISSING)."""
    pos = np.where(present, np.arange(len(values)), -1)
    last = np.maximum.accumulate(pos) if len(pos) else pos
    before = np.empty_like(last)
    before[:1] = -1
    before[1:] = last[:-1]
    ok = before >= first
    return np.where(ok, values[np.where(ok, before, 0)], MISSING)


@attrs.frozen
class LogReport:
    """The verdict on an event log: what ``tasklife validate`` prints; truthy when valid.

    Violations come in file and line order; ``gaps`` (polling mode) maps each explained
    ``(source, dest)`` pair to its trigger path and how often it was seen.

    >>> from tasklife.eventlog import events_from_objects
    >>> log = events_from_objects([{"taskId": "a", "status": "kAccepted", "atUsecs": 1},
    ...                            {"taskId": "a", "status": "kSuccess", "atUsecs": 2}])
    >>> report = judge(log, mode="polling").report()
    >>> bool(report), report.gaps
    (True, {('kAccepted', 'kSuccess'): (('start', 'succeed'), 1)})
    """

    sources: tuple[str, ...]
    lifecycle: str
    mode: str
    vocabulary: str
    tasks: int
    events: int
    lines: int
    still_active: int
    counts: dict[str, int]
    gaps: dict[tuple[str | int, str | int], tuple[tuple[str, ...], int]]
    violations: tuple[Violation, ...]
    malformed: tuple[Malformed, ...]

    def __bool__(self) -> bool:
        return not self.violations and not self.malformed

    def summary(self) -> dict[str, Any]:
        """The summary part of :meth:`to_dictionary`."""
        by_kind = dict(self.counts)
        for m in self.malformed:
            by_kind[m.kind] = by_kind.get(m.kind, 0) + 1
        return {
            "valid": bool(self),
            "files": list(self.sources),
            "lifecycle": self.lifecycle,
            "mode": self.mode,
            "vocabulary": self.vocabulary,
            "tasks": self.tasks,
            "events": self.events,
            "lines": self.lines,
            "malformed_lines": len(self.malformed),
            "still_active_tasks": self.still_active,
            "violations": len(self.violations),
            "by_kind": {k: by_kind[k] for k in (*KINDS, "malformed") if k in by_kind},
            "gaps": [
                {"source": s, "dest": t, "path": list(p), "count": c}
                for (s, t), (p, c) in self.gaps.items()
            ],
        }

    def to_dictionary(self) -> dict[str, Any]:
        """One JSON-ready document: the summary, every violation and every malformed line."""
        return {
            "summary": self.summary(),
            "violations": [v.to_dictionary() for v in self.violations],
            "malformed": [m.to_dictionary() for m in self.malformed],
        }


def task_order(table: EventTable) -> npt.NDArray[np.intp] | None:
    """The rows in ``(task, at, line)`` order, or None when they already are.

    Usually one sort of values, not an argsort (several times faster): each row becomes one
    int64 ``task | at | row`` key, ``at`` coarsened (its low bits dropped) as far as needed to
    fit; the rows are read back from the sorted keys' low bits. Rows of a task whose order the
    dropped time bits or the line order decide (events close in time, or rows not in line
    order) are then sorted exactly. When the key cannot fit, or most rows would need that,
    an argsort of a ``task, at`` key (or a three-key ``lexsort``) orders them.

    >>> from tasklife.eventlog import events_from_objects
    >>> log = events_from_objects([{"taskId": 1, "status": "kRunning", "atUsecs": 5},
    ...                            {"taskId": 2, "status": "kRunning", "atUsecs": 4},
    ...                            {"taskId": 1, "status": "kAccepted", "atUsecs": 4}])
    >>> task_order(log.table).tolist()
    [2, 0, 1]
    """
    task, at, line = table.task, table.at, table.line
    if len(task) < 2:
        return None
    if (task[1:] >= task[:-1]).all() and not _out_of_order(task, at, line).any():
        return None
    low = int(at.min())
    at_bits = (int(at.max()) - low).bit_length()
    task_bits = int(task.max()).bit_length()
    row_bits = (len(task) - 1).bit_length()
    if task_bits + row_bits <= 63 - _MIN_TIME_BITS:
        order = _packed_order(task, at, line, low, at_bits, task_bits, row_bits)
        if order is not None:
            return order
    if at_bits + task_bits > 63:
        return np.lexsort((line, at, task))
    key = task.astype(np.int64)
    key <<= at_bits
    key -= low  # then + at: task << at_bits | (at - low), with no temporary and no overflow
    key += at
    order = np.argsort(key)
    tied = np.concatenate(
        [_ties(key[order[lo : lo + _STEP + 1]]) + lo for lo in range(0, len(order) - 1, _STEP)]
    )
    if len(tied):
        rows = np.union1d(tied, tied + 1)
        sub = order[rows]
        order[rows] = sub[np.lexsort((line[sub], key[sub]))]
    return order


_MIN_TIME_BITS: Final = 8
"""Fewer time bits than this in a packed key would leave most rows to the exact re-sort."""
_STEP: Final = 1 << 16
"""Sorted keys are compared a slice at a time (no second key column in memory)."""


def _out_of_order(
    task: npt.NDArray[Any], at: npt.NDArray[np.int64], line: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """For each pair of neighbouring rows of one task: is the second before the first?"""
    later = _precedes(at[1:], line[1:], at[:-1], line[:-1])
    later &= task[1:] == task[:-1]
    return later


def _precedes(
    at: npt.NDArray[np.int64],
    line: npt.NDArray[np.int64],
    other_at: npt.NDArray[np.int64],
    other_line: npt.NDArray[np.int64],
) -> npt.NDArray[np.bool_]:
    """Does each event come before the other one: earlier, or as early and on an earlier line?"""
    earlier: npt.NDArray[np.bool_] = at < other_at
    tie = at == other_at
    tie &= line < other_line
    earlier |= tie
    return earlier


def _packed_order(
    task: npt.NDArray[Any],
    at: npt.NDArray[np.int64],
    line: npt.NDArray[np.int64],
    low: int,
    at_bits: int,
    task_bits: int,
    row_bits: int,
) -> npt.NDArray[np.intp] | None:
    """The ``(task, at, line)`` order by one value sort of packed keys (see :func:`task_order`),
    or None when more than a quarter of the rows would need the exact re-sort.

    Neighbours whose keys differ in the row bits only (same task, same coarse time) are the
    only ones whose order the row number decided; the tasks where that order is wrong are
    sorted again exactly.
    """
    time_bits = at_bits - max(0, at_bits + task_bits + row_bits - 63)
    n = len(task)
    key = np.empty(n, np.int64)
    part = np.empty(min(n, _STEP), np.int64)  # one small temporary, reused: no fresh pages
    for lo in range(0, n, _STEP):
        hi = min(lo + _STEP, n)
        out, tmp = key[lo:hi], part[: hi - lo]
        np.subtract(at[lo:hi], low, out=out)
        out >>= at_bits - time_bits
        np.left_shift(task[lo:hi], time_bits, out=tmp, dtype=np.int64)
        out += tmp
        out <<= row_bits
        out += np.arange(lo, hi, dtype=np.int64)
    key.sort()
    pairs = np.concatenate(
        [_same_prefix(key[lo : lo + _STEP + 1], row_bits, part) + lo for lo in range(0, n, _STEP)]
    )
    rows = (1 << row_bits) - 1
    first, second = key[pairs] & rows, key[pairs + 1] & rows
    wrong = _precedes(at[second], line[second], at[first], line[first])
    shift = time_bits + row_bits  # a key's task
    redo = np.unique(key[pairs[wrong]] >> shift)
    starts = np.searchsorted(key, redo << shift)
    ends = np.searchsorted(key, (redo << shift) | ((1 << shift) - 1), side="right")
    key &= rows
    order: npt.NDArray[np.intp] = key.astype(np.intp, copy=False)
    if not len(redo):
        return order
    sizes = ends - starts
    if 4 * int(sizes.sum()) > len(order):
        return None
    positions = np.repeat(starts - np.cumsum(sizes) + sizes, sizes) + np.arange(int(sizes.sum()))
    picked = order[positions]
    order[positions] = picked[np.lexsort((line[picked], at[picked], task[picked]))]
    return order


def _ties(keys: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
    return np.flatnonzero(keys[1:] == keys[:-1])


def _same_prefix(
    keys: npt.NDArray[np.int64], low_bits: int, scratch: npt.NDArray[np.int64]
) -> npt.NDArray[np.intp]:
    """Positions ``i`` where ``keys[i]`` and ``keys[i + 1]`` differ in their low bits only."""
    diff = scratch[: len(keys) - 1]
    np.bitwise_xor(keys[1:], keys[:-1], out=diff)
    diff >>= low_bits
    return np.flatnonzero(diff == 0)


@attrs.frozen(eq=False)
class BatchResult:
    """The verdicts on every task of an event log; :meth:`violations` builds the reports.

    >>> from tasklife.eventlog import events_from_objects
    >>> log = events_from_objects([{"taskId": 1, "status": "kRunning", "atUsecs": 1},
    ...                            {"taskId": 1, "status": "kAccepted", "atUsecs": 2}])
    >>> result = judge(log)
    >>> result.tasks, result.counts
    (1, {'illegal-transition': 1})
    """

    log: EventLog
    lifecycle: Lifecycle
    mode: str
    order: npt.NDArray[np.intp] | None
    """Table rows in ``(task, at, line)`` order (None: already so); "positions" index it."""
    starts: npt.NDArray[np.intp]
    """Position of each task's first event."""
    rows: npt.NDArray[np.intp]
    """Positions of the violations, sorted, with their :data:`~tasklife.validation.KINDS`."""
    kinds: npt.NDArray[np.int8]
    gap_rows: npt.NDArray[np.intp]
    prev: Mapping[str, npt.NDArray[np.int64]]
    """``start``/``end``: the stamp last set before each position (snapshot logs only)."""
    still_active: int
    """Tasks whose last status is not final."""

    @property
    def tasks(self) -> int:
        return len(self.starts)

    @property
    def events(self) -> int:
        return self.log.table.size

    @property
    def counts(self) -> dict[str, int]:
        """Violations per kind (only kinds that occur), in :data:`KINDS` order."""
        counts = np.bincount(self.kinds, minlength=len(KINDS))
        return {k: int(c) for k, c in zip(KINDS, counts, strict=True) if c}

    def gaps(self) -> dict[tuple[str | int, str | int], tuple[tuple[str, ...], int]]:
        """Polling mode: ``(source, dest) -> (explaining path, number of gaps)``."""
        table = self.log.table
        s = table.status[self._row(self.gap_rows)]
        p = table.status[self._row(self.gap_rows - 1)]
        n = len(self.lifecycle.state_names)
        pairs, counts = np.unique(p.astype(np.intp) * n + s, return_counts=True)
        names = self.lifecycle.state_names
        out = {}
        for pair, count in zip(pairs.tolist(), counts.tolist(), strict=True):
            src, dst = names[pair // n], names[pair % n]
            key = (self._say(src), self._say(dst))
            out[key] = (self.lifecycle.path(src, dst) or (), count)
        return out

    def report(self) -> LogReport:
        """The :class:`LogReport` of this result (builds every violation)."""
        log = self.log
        return LogReport(
            log.sources,
            self.lifecycle.name,
            self.mode,
            log.vocabulary,
            self.tasks,
            self.events,
            log.lines,
            self.still_active,
            self.counts,
            self.gaps(),
            tuple(self.violations()),
            log.malformed,
        )

    def _row(self, positions: Any) -> Any:
        """Table rows at sorted ``positions``."""
        return positions if self.order is None else self.order[positions]

    def _say(self, state: str) -> str | int:
        return self.lifecycle.translate(state, self.log.vocabulary)

    def violations(self, limit: int | None = None) -> list[Violation]:
        """The violations (the first ``limit``) in file and line order, messages included."""
        table, lc, names = self.log.table, self.lifecycle, self.lifecycle.state_names
        out: list[Violation] = []
        by_line = np.lexsort((self.kinds, table.line[self._row(self.rows)]))[:limit]
        positions, kinds = self.rows[by_line], self.kinds[by_line]
        # what every violation needs, gathered at once (the loop below only formats)
        rows = np.asarray(self._row(positions), np.intp)
        starts = self.starts[np.searchsorted(self.starts, positions, "right") - 1]
        before_rows = np.asarray(self._row(np.maximum(positions - 1, 0)), np.intp)
        tasks = table.task_ids_of(table.task[rows])
        wheres = [self.log.where(k) for k in table.line[rows].tolist()]
        for i, (pos, row, start, k) in enumerate(
            zip(positions.tolist(), rows.tolist(), starts.tolist(), kinds.tolist(), strict=True)
        ):
            kind = KINDS[k]
            dst = names[table.status[row]]
            src = names[table.status[before_rows[i]]] if pos > start else None
            s, t = (None if src is None else self._say(src)), self._say(dst)
            value = before = None
            path = lc.path(src, dst) if kind == "illegal-transition" and src else None
            if kind.startswith(("start-", "end-")) and table.start is not None:
                assert table.end is not None
                stamp, other = (
                    (table.start, table.end)
                    if kind.startswith("start")
                    else (table.end, table.start)
                )
                value = None if stamp[row] == MISSING else int(stamp[row])
                earlier = self.prev["start" if kind.startswith("start") else "end"][pos]
                before = None if earlier == MISSING else int(earlier)
                if kind == "end-time-before-start":
                    before = int(other[row])
                elif kind == "end-time-while-active":
                    before = None
            if kind == "still-active":
                src, s = dst, t
            file, line = wheres[i]
            out.append(
                Violation(
                    pos - start,
                    kind,
                    s,
                    t,
                    message(kind, lc, s, t, mode=self.mode, path=path, value=value, before=before),
                    path,
                    tasks[i],
                    file,
                    line,
                )
            )
        return out


def judge(
    log: EventLog,
    *,
    lifecycle: LifecycleSpec = "copy-task",
    mode: str = "strict",
    require_final: bool = False,
) -> BatchResult:
    """Judge every task of ``log`` (vectorised); same verdicts as :func:`validate` per task.

    >>> from tasklife.eventlog import events_from_objects
    >>> log = events_from_objects([{"taskId": 1, "status": "kRunning", "atUsecs": 2}])
    >>> judge(log, require_final=True).counts
    {'still-active': 1}
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    lc = get_lifecycle(lifecycle)
    table = log.table
    n_states = len(lc.state_names)
    final, needs_start, failure = _state_flags(lc)
    order = task_order(table)
    s = table.status if order is None else table.status[order]
    t = table.task if order is None else table.task[order]
    n = len(s)
    new = np.ones(n, np.bool_)
    np.not_equal(t[1:], t[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    pair = s[:-1].astype(np.int16)
    pair *= n_states
    pair += s[1:]
    verdict = pair_table(lc, mode)[pair]
    del pair
    verdict[new[1:]] = FINE
    found: list[tuple[npt.NDArray[np.intp], str]] = [
        (np.flatnonzero(verdict == ILLEGAL) + 1, "illegal-transition"),
        (np.flatnonzero(verdict == AFTER_FINAL) + 1, "after-final"),
    ]
    gap_rows = np.flatnonzero(verdict == GAP) + 1
    last = np.ones(n, np.bool_)
    last[:-1] = new[1:]
    active = np.flatnonzero(last & ~final[s]) if n else np.zeros(0, np.intp)
    if require_final:
        found.append((active, "still-active"))
    prev: dict[str, npt.NDArray[np.int64]] = {}
    if table.snapshot is not None and table.start is not None and table.end is not None:
        assert table.error is not None
        first = np.repeat(starts, np.diff(np.append(starts, n)))

        def ordered(column: npt.NDArray[Any]) -> npt.NDArray[Any]:
            return column if order is None else column[order]

        snap, st, en = ordered(table.snapshot), ordered(table.start), ordered(table.end)
        err = ordered(table.error) & snap
        has_st, has_en = snap & (st != MISSING), snap & (en != MISSING)
        prev["start"] = pst = _previous_set(st, has_st, first)
        prev["end"] = pen = _previous_set(en, has_en, first)
        fin = final[s]
        no_st, no_en = snap & ~has_st, snap & ~has_en
        found += [
            (np.flatnonzero(no_st & ((pst != MISSING) | needs_start[s])), "start-time-missing"),
            (np.flatnonzero(has_st & (pst != MISSING) & (st != pst)), "start-time-changed"),
            (np.flatnonzero(no_en & ((pen != MISSING) | (fin & has_st))), "end-time-missing"),
            (np.flatnonzero(has_en & (pen != MISSING) & (en != pen)), "end-time-changed"),
            (np.flatnonzero(has_en & has_st & (en < st)), "end-time-before-start"),
            (np.flatnonzero(has_en & ~fin), "end-time-while-active"),
            (np.flatnonzero(err & ~failure[s]), "error-without-failure"),
            (np.flatnonzero(snap & ~err & failure[s]), "failure-without-error"),
        ]
    rows = np.concatenate([r for r, _ in found]).astype(np.intp)
    kinds = np.concatenate([np.full(len(r), _KIND[k], np.int8) for r, k in found])
    by = np.lexsort((kinds, rows))
    return BatchResult(
        log, lc, mode, order, starts, rows[by], kinds[by], gap_rows, prev, len(active)
    )


# -- the observed flow, for diagrams ------------------------------------------------------------


@attrs.frozen
class ObservedFlow:
    """How many tasks reached each state and took each observed status change.

    ``illegal`` holds the observed pairs that are not one transition of the lifecycle.
    """

    tasks: int
    state_tasks: dict[str, int]
    edge_tasks: dict[tuple[str, str], int]
    illegal: frozenset[tuple[str, str]]


def observed_flow(
    events_or_paths: Any,
    *,
    lifecycle: LifecycleSpec = "copy-task",
    vocabulary: str = "auto",
) -> ObservedFlow:
    """Count the flow of many tasks through ``lifecycle`` (states by their own names).

    ``events_or_paths``: an event-log path or a list of them, an :class:`EventLog`, an
    iterable of event dicts (``taskId``, ``status``, ``atUsecs``), or a mapping of task id to
    a sequence of statuses. Malformed events are left out.

    >>> flow = observed_flow({"a": ["kAccepted", "kRunning", "kSuccess"],
    ...                       "b": ["kAccepted", "kSuccess"]})
    >>> flow.state_tasks["kSuccess"], flow.edge_tasks[("kAccepted", "kSuccess")], flow.illegal
    (2, 1, frozenset({('kAccepted', 'kSuccess')}))
    """
    lc = get_lifecycle(lifecycle)
    log = _as_log(events_or_paths, lc, vocabulary)
    table = log.table
    m = len(lc.state_names)
    order = task_order(table)
    s = (table.status if order is None else table.status[order]).astype(np.int64)
    t = (table.task if order is None else table.task[order]).astype(np.int64)
    state_keys = np.unique(t * m + s)
    per_state = np.bincount(state_keys % m, minlength=m)
    change = (t[1:] == t[:-1]) & (s[1:] != s[:-1])
    pair = s[:-1][change] * m + s[1:][change]
    edge_keys = np.unique(t[1:][change] * (m * m) + pair)
    per_edge = np.bincount(edge_keys % (m * m), minlength=m * m)
    names = lc.state_names
    edges = {(names[p // m], names[p % m]): int(c) for p, c in enumerate(per_edge.tolist()) if c}
    return ObservedFlow(
        tasks=len(np.unique(t)),
        state_tasks={name: int(c) for name, c in zip(names, per_state.tolist(), strict=True)},
        edge_tasks=edges,
        illegal=frozenset(e for e in edges if lc.trigger_between(*e) is None),
    )


def _as_log(source: Any, lc: Lifecycle, vocabulary: str) -> EventLog:
    if isinstance(source, EventLog):
        return source
    if isinstance(source, str | os.PathLike):
        return read_events([source], lifecycle=lc, vocabulary=vocabulary)
    if isinstance(source, Mapping):
        return events_from_objects(_histories(source), lifecycle=lc, vocabulary=vocabulary)
    items = list(source) if isinstance(source, Iterable) else [source]
    if items and all(isinstance(p, str | os.PathLike) for p in items):
        return read_events(items, lifecycle=lc, vocabulary=vocabulary)
    return events_from_objects(items, lifecycle=lc, vocabulary=vocabulary)


def _histories(histories: Mapping[Any, Sequence[Any]]) -> Iterable[dict[str, Any]]:
    for task, history in histories.items():
        for at, status in enumerate(history):
            yield {"taskId": task, "status": status, "atUsecs": at}
