"""Judging tasks held as Python lists: the light engine's judge.

Each task is a list of packed events (``at << shift | line key << 8 | state``: see
:mod:`tasklife.eventlog.light`); sorting the list puts the task's events in ``(at, line)``
order. A task whose events carry attempts is first cut into runs, one per attempt (each a run
of the lifecycle, judged on its own), and an event of an attempt lower than one already begun
is ``attempts-interleaved``. Each run is then judged pair by pair with the table of
:func:`~tasklife.validation.rules.pair_verdicts` and, for the events with snapshot fields,
by every snapshot rule of :data:`~tasklife.validation.kinds.KINDS`
(:func:`~tasklife.validation.history.facts`, the function :func:`~tasklife.validate` uses):
the rules are read, never restated.

>>> from tasklife.eventlog.criteria import Criteria
>>> from tasklife.lifecycle import COPY_TASK
>>> tasks = Tasks()
>>> tasks.add("a", (1 << 60) + (1 << 8) + 0, 1, None, 0)
>>> tasks.add("a", (2 << 60) + (2 << 8) + 4, 2, None, 0)
>>> part = judge_tasks(tasks, Criteria(COPY_TASK), False, 60)
>>> part.counts, part.found.key
({'illegal-transition': 1}, [2])
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

import attrs

from tasklife.eventlog.criteria import Criteria
from tasklife.eventlog.found import NO_ATTEMPT, NO_STATE, Found
from tasklife.eventlog.report import PartialReport
from tasklife.validation.fields import Snap
from tasklife.validation.history import facts
from tasklife.validation.kinds import KIND_NAMES, MISSING, SNAPSHOT_KINDS
from tasklife.validation.rules import GAP, KIND_BASE, pair_verdicts, state_rules

__all__ = ["Tasks", "judge_tasks"]

_STATE_MASK: Final = 0xFF
_INDEX: Final = {k: i for i, k in enumerate(KIND_NAMES)}


@attrs.define
class Tasks:
    """Some tasks' events: packed ints per task id, and side tables by line key."""

    lists: dict[Any, list[int]] = attrs.Factory(dict)
    snaps: dict[int, Snap] = attrs.Factory(dict)
    attempts: dict[int, int] = attrs.Factory(dict)
    """Line key -> attempt, for events of an attempt other than 0."""
    attempted: set[Any] = attrs.Factory(set)
    unknown: set[Any] = attrs.Factory(set)
    """Ids named only by unknown-status lines (or also by events)."""

    def add(self, task: Any, packed: int, key: int, snap: Snap | None, attempt: int) -> None:
        got = self.lists.get(task)
        if got is None:
            self.lists[task] = [packed]
        else:
            got.append(packed)
        if snap is not None:
            self.snaps[key] = snap
        if attempt:
            self.attempts[key] = attempt
            self.attempted.add(task)

    def as_text(self) -> None:
        """Key the tasks by their ids' text (a log mixing integer and string ids)."""
        merged: dict[Any, list[int]] = {}
        for task, events in self.lists.items():
            merged.setdefault(str(task), []).extend(events)
        self.lists = merged
        self.attempted = {str(t) for t in self.attempted}
        self.unknown = {str(t) for t in self.unknown}


class _Judge:
    """The verdicts on one partition's tasks, as :class:`~tasklife.eventlog.report.Found`."""

    def __init__(self, tasks: Tasks, criteria: Criteria, shift: int) -> None:
        lc = criteria.lifecycle
        self.tasks, self.criteria = tasks, criteria
        self.pair = pair_verdicts(lc, criteria.mode)
        self.final = [lc.is_final(s) for s in lc.state_names]
        self.rules, self.names = state_rules(lc), lc.state_names
        self.key_mask = (1 << (shift - 8)) - 1
        self.found = Found()
        self.counts = [0] * len(KIND_NAMES)
        self.gaps: dict[tuple[int, int], int] = {}
        self.still_active = 0

    def record(self, kind: int, key: int, index: int, src: int, dst: int, *more: Any) -> None:
        task, attempt, value, before = more
        found = self.found
        found.key.append(key)
        found.kind.append(kind)
        found.index.append(index)
        found.src.append(src)
        found.dst.append(dst)
        found.task.append(task)
        found.attempt.append(attempt)
        found.value.append(value)
        found.before.append(before)
        self.counts[kind] += 1

    def task(self, task: Any, events: list[int]) -> None:
        if len(events) > 1:
            events.sort()
        if task in self.tasks.attempted:
            for attempt, run in self._runs(task, events):
                self.run(task, attempt, run)
        else:
            self.run(task, NO_ATTEMPT, events)

    def _runs(self, task: Any, events: list[int]) -> Iterator[tuple[int, list[int]]]:
        """The task's runs by attempt; an event of an earlier attempt than one begun is
        ``attempts-interleaved`` (at its place in its own run)."""
        attempts, mask = self.tasks.attempts, self.key_mask
        runs: dict[int, list[int]] = {}
        top = -1
        for packed in events:
            key = (packed >> 8) & mask
            attempt = attempts.get(key, 0)
            run = runs.setdefault(attempt, [])
            if attempt < top:
                src = run[-1] & _STATE_MASK if run else NO_STATE
                kind = _INDEX["attempts-interleaved"]
                state = packed & _STATE_MASK
                self.record(kind, key, len(run), src, state, task, attempt, attempt, top)
            top = max(top, attempt)
            run.append(packed)
        yield from sorted(runs.items())

    def run(self, task: Any, attempt: int, events: list[int]) -> None:
        pair, mask, snaps = self.pair, self.key_mask, self.tasks.snaps
        prev = NO_STATE
        prev_start = prev_end = MISSING
        for index, packed in enumerate(events):
            state = packed & _STATE_MASK
            if prev != state and prev != NO_STATE:
                verdict = pair[prev][state]
                if verdict == GAP:
                    self.gaps[(prev, state)] = self.gaps.get((prev, state), 0) + 1
                elif verdict:
                    key = (packed >> 8) & mask
                    self.record(
                        verdict - KIND_BASE, key, index, prev, state, task, attempt, None, None
                    )
            if snaps:
                key = (packed >> 8) & mask
                snap = snaps.get(key)
                if snap is not None:
                    prev_start, prev_end = self.snapshot(
                        (key, index, prev, state, task, attempt), snap, prev_start, prev_end
                    )
            prev = state
        if not self.final[prev]:
            self.still_active += 1
            if self.criteria.require_final:
                key = (events[-1] >> 8) & mask
                kind = _INDEX["still-active"]
                self.record(kind, key, len(events) - 1, prev, prev, task, attempt, None, None)

    def snapshot(
        self, where: tuple[int, int, int, int, Any, int], snap: Snap, prev_start: int, prev_end: int
    ) -> tuple[int, int]:
        key, index, prev, state, task, attempt = where
        seen = facts(self.rules, self.names[state], snap, prev_start, prev_end)
        stamps = {
            "start": seen.start,
            "end": seen.end,
            "prev_start": prev_start,
            "prev_end": prev_end,
        }
        for kind in SNAPSHOT_KINDS:
            assert kind.rule is not None
            if kind.rule(seen):
                value = stamps[kind.value] if kind.value else None
                before = stamps[kind.before] if kind.before else None
                self.record(
                    _INDEX[kind.name], key, index, prev, state, task, attempt, value, before
                )
        return (
            seen.start if seen.has_start else prev_start,
            seen.end if seen.has_end else prev_end,
        )


def judge_tasks(tasks: Tasks, criteria: Criteria, text_ids: bool, shift: int) -> PartialReport:
    """Judge every task of ``tasks`` (ids compared as text when ``text_ids``; events packed
    with the time at bit ``shift``)."""
    if text_ids:
        tasks.as_text()
    judge = _Judge(tasks, criteria, shift)
    events = 0
    for task, packed in tasks.lists.items():
        events += len(packed)
        judge.task(task, packed)
    extra = len(tasks.unknown.difference(tasks.lists))
    counts = {k: c for k, c in zip(KIND_NAMES, judge.counts, strict=True) if c}
    return PartialReport(
        len(tasks.lists) + extra, events, judge.still_active, counts, judge.gaps, judge.found
    )
