"""Judging every task of an event table at once: the rules of :func:`~tasklife.validate`,
vectorised.

Theory of operation
-------------------
The events are put in ``(task, at, line)`` order (:mod:`tasklife.eventlog.order`), so each
task's history is a run of consecutive rows. Every rule is then an array expression over
neighbouring rows:

* a pair of rows of one task is coded ``source * n + dest`` and looked up in a table built
  once per lifecycle and mode by the rule one history is judged with
  (:func:`~tasklife.validation.rules.transition_verdict`): fine (same status or one
  transition), a gap (polling: reachable), or the violation kind of the pair;
* "the last stamp set earlier in this task" is a running maximum over row positions, cut at
  the task's first row; the snapshot rules of :data:`~tasklife.validation.kinds.KINDS` are
  then evaluated on whole columns (:class:`~tasklife.validation.kinds.Facts` of arrays);
* a task's last row that is not final is still active.

Each pair is judged on its own, exactly as :func:`~tasklife.validate` re-syncs to the
observed status after a violation, so a task's verdicts do not depend on the others.
Violations are numbered per task (``index``) and described by the same table of kinds.

>>> from tasklife.eventlog.reading import events_from_objects
>>> log = events_from_objects([{"taskId": 1, "status": "kAccepted", "atUsecs": 2},
...                            {"taskId": 2, "status": "kRunning", "atUsecs": 1},
...                            {"taskId": 1, "status": "kSuccess", "atUsecs": 3}])
>>> [(v.task, v.kind) for v in judge(log).violations()]
[(1, 'illegal-transition')]
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from tasklife.eventlog.order import task_order
from tasklife.eventlog.report import GapCounts, LogReport, PartialReport, merge_reports
from tasklife.eventlog.table import EventLog
from tasklife.lifecycle import Lifecycle, LifecycleSpec, get_lifecycle
from tasklife.validation.kinds import KIND, KIND_NAMES, MISSING, SNAPSHOT_KINDS, Facts, Said
from tasklife.validation.report import StatusName, Violation
from tasklife.validation.rules import check_mode, state_rules, transition_verdict

__all__ = ["FINE", "GAP", "Verdicts", "judge", "pair_table"]

FINE: Final = 0
"""A pair that is the same status again or one transition."""
GAP: Final = 1
"""A pair polling mode explains by a path of several transitions."""
_KIND_BASE: Final = 2
"""A pair that is a violation is coded ``_KIND_BASE + `` its kind's index in ``KINDS``."""
PAIR_DTYPE: Final = np.int16
"""A ``source * n + dest`` pair code: at most 128 * 128 (``MAX_STATES`` squared) fits."""


@cache
def pair_table(lifecycle: Lifecycle, mode: str) -> npt.NDArray[np.int8]:
    """The verdict on each ``source * n + dest`` pair: :data:`FINE`, :data:`GAP`, or a
    violation kind (coded by its place in ``KINDS``).

    >>> from tasklife.lifecycle import COPY_TASK
    >>> t = pair_table(COPY_TASK, "polling")
    >>> n = len(COPY_TASK.state_names)
    >>> int(t[COPY_TASK.index["kAccepted"] * n + COPY_TASK.index["kSuccess"]]) == GAP
    True
    """
    names = lifecycle.state_names
    table = np.full(len(names) ** 2, FINE, np.int8)  # the same status again: a re-observation
    for i, source in enumerate(names):
        for j, dest in enumerate(names):
            if i != j:
                kind, path = transition_verdict(lifecycle, source, dest, mode)
                code = GAP if len(path or ()) > 1 else FINE
                table[i * len(names) + j] = code if kind is None else _KIND_BASE + _INDEX[kind]
    return table


_INDEX: Final = {k: i for i, k in enumerate(KIND_NAMES)}


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
    """For each row, the last present value at an earlier row of the same task (or MISSING)."""
    pos = np.where(present, np.arange(len(values)), -1)
    last = np.maximum.accumulate(pos) if len(pos) else pos
    before = np.empty_like(last)
    before[:1] = -1
    before[1:] = last[:-1]
    ok = before >= first
    return np.where(ok, values[np.where(ok, before, 0)], MISSING)


@attrs.frozen(eq=False)
class Verdicts:
    """The verdicts on every task of an event log, as arrays; :meth:`violations` describes
    them, :meth:`partial` and :meth:`report` make the reports.

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
    order: npt.NDArray[np.intp] | None
    """Table rows in ``(task, at, line)`` order (None: already so); "positions" index it."""
    starts: npt.NDArray[np.intp]
    """Position of each task's first event."""
    rows: npt.NDArray[np.intp]
    """Positions of the violations, sorted, with their kinds (indices into ``KINDS``)."""
    kinds: npt.NDArray[np.int8]
    gap_rows: npt.NDArray[np.intp]
    prev: Mapping[str, npt.NDArray[np.int64]]
    """``prev_start``/``prev_end``: the stamp last set before each position (snapshot logs)."""
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
        """Violations per kind (only kinds that occur), in ``KINDS`` order."""
        counts = np.bincount(self.kinds, minlength=len(KIND_NAMES))
        return {k: int(c) for k, c in zip(KIND_NAMES, counts, strict=True) if c}

    def gaps(self) -> GapCounts:
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
            out[(self._say(src), self._say(dst))] = (self.lifecycle.path(src, dst) or (), count)
        return out

    def partial(self) -> PartialReport:
        """The report on these tasks, to merge with others (builds every violation)."""
        return PartialReport(
            self.tasks, self.events, self.still_active, self.counts, self.gaps(), self.violations()
        )

    def report(self) -> LogReport:
        """The :class:`~tasklife.eventlog.report.LogReport` of the whole log."""
        log = self.log
        return merge_reports(
            [self.partial()],
            sources=log.sources,
            malformed=log.malformed,
            lifecycle=self.lifecycle,
            mode=self.mode,
            vocabulary=log.vocabulary,
        )

    def _row(self, positions: Any) -> Any:
        """Table rows at sorted ``positions``."""
        return positions if self.order is None else self.order[positions]

    def _say(self, state: str) -> StatusName:
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
        stamps = self._stamps(rows, positions)
        for i, (pos, row, start, k) in enumerate(
            zip(positions.tolist(), rows.tolist(), starts.tolist(), kinds.tolist(), strict=True)
        ):
            kind = KIND[KIND_NAMES[k]]
            dst = names[table.status[row]]
            src = names[table.status[before_rows[i]]] if pos > start else None
            if kind.name == "still-active":
                src = dst
            s, t = (None if src is None else self._say(src)), self._say(dst)
            path = lc.path(src, dst) if kind.name == "illegal-transition" and src else None
            value, before = kind.values(stamps[i]) if stamps else (None, None)
            said = Said(s, t, lc.name, self.mode, path, value, before)
            file, line = wheres[i]
            out.append(
                Violation(
                    pos - start, kind.name, s, t, kind.describe(said), path, tasks[i], file, line
                )
            )
        return out

    def _stamps(
        self, rows: npt.NDArray[np.intp], positions: npt.NDArray[np.intp]
    ) -> list[dict[str, int]]:
        """The stamps each violation's message may name (none in a log without snapshots)."""
        table = self.log.table
        if table.start is None or table.end is None or not self.prev:
            return []
        columns = {
            "start": table.start[rows].tolist(),
            "end": table.end[rows].tolist(),
            "prev_start": self.prev["prev_start"][positions].tolist(),
            "prev_end": self.prev["prev_end"][positions].tolist(),
        }
        return [
            dict(zip(columns, values, strict=True))
            for values in zip(*columns.values(), strict=True)
        ]


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
    order = task_order(table)
    s = table.status if order is None else table.status[order]
    t = table.task if order is None else table.task[order]
    n = len(s)
    new = np.ones(n, np.bool_)
    np.not_equal(t[1:], t[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    gap_rows, found = _pair_verdicts(lc, mode, s, new)
    last = np.ones(n, np.bool_)
    last[:-1] = new[1:]
    active = np.flatnonzero(last & ~final[s]) if n else np.zeros(0, np.intp)
    if require_final:
        found["still-active"] = active
    prev: dict[str, npt.NDArray[np.int64]] = {}
    if table.snapshot is not None:
        facts = _snapshot_facts(lc, log, order, s, starts)
        prev = {"prev_start": facts.prev_start, "prev_end": facts.prev_end}
        for kind in SNAPSHOT_KINDS:
            assert kind.rule is not None
            found[kind.name] = np.flatnonzero(kind.rule(facts))
    rows = np.concatenate([np.zeros(0, np.intp), *found.values()]).astype(np.intp)
    kinds = np.concatenate(
        [np.zeros(0, np.int8), *(np.full(len(r), _INDEX[k], np.int8) for k, r in found.items())]
    )
    by = np.lexsort((kinds, rows))
    return Verdicts(log, lc, mode, order, starts, rows[by], kinds[by], gap_rows, prev, len(active))


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
    verdict[new[1:]] = FINE  # a task's first event follows no status of its own
    found = {
        KIND_NAMES[code - _KIND_BASE]: np.flatnonzero(verdict == code) + 1
        for code in np.unique(table).tolist()
        if code >= _KIND_BASE
    }
    return np.flatnonzero(verdict == GAP) + 1, found


def _snapshot_facts(
    lc: Lifecycle,
    log: EventLog,
    order: npt.NDArray[np.intp] | None,
    s: npt.NDArray[np.int8],
    starts: npt.NDArray[np.intp],
) -> Facts:
    """The :class:`~tasklife.validation.kinds.Facts` of every event, in task order."""
    table = log.table
    assert table.snapshot is not None and table.start is not None
    assert table.end is not None and table.error is not None
    final, needs_start, error_required, error_forbidden = _state_flags(lc)

    def ordered(column: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return column if order is None else column[order]

    first = np.repeat(starts, np.diff(np.append(starts, len(s))))
    snap, st, en = ordered(table.snapshot), ordered(table.start), ordered(table.end)
    err = ordered(table.error) & snap
    has_st, has_en = snap & (st != MISSING), snap & (en != MISSING)
    pst = _previous_set(st, has_st, first)
    pen = _previous_set(en, has_en, first)
    fin = final[s]
    return Facts(
        start=st,
        prev_start=pst,
        end=en,
        prev_end=pen,
        has_start=has_st,
        no_start=snap & ~has_st,
        had_start=pst != MISSING,
        has_end=has_en,
        no_end=snap & ~has_en,
        had_end=pen != MISSING,
        error=err,
        no_error=snap & ~err,
        final=fin,
        not_final=~fin,
        needs_start=needs_start[s],
        error_required=error_required[s],
        error_forbidden=error_forbidden[s],
    )
