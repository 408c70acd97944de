"""Validating the status history of one task, strictly or as a poller saw it.

Theory of operation
-------------------
A history is what somebody observed of one task, in order: bare statuses, ``(status,
at_usecs)`` pairs, or ``CopySnapshotTaskStatus`` snapshots (wire dicts or records). Every
verdict is read from the lifecycle table, through the rules of
:mod:`tasklife.validation.rules` and the kinds of :mod:`tasklife.validation.kinds`:

* **Statuses.** A value that names no state of the lifecycle (in the accepted vocabulary) is
  ``unknown-status`` and is skipped: the next status is judged against the last known one.
* **Transitions.** The same status seen again is a re-observation. A different status after a
  final one is ``after-final``. Otherwise, in ``strict`` mode the pair must be one
  transition of the table; in ``polling`` mode the destination need only be reachable, and the
  report keeps the shortest trigger path that explains the gap (``Lifecycle.path``). A pair
  that fails is ``illegal-transition``; in strict mode its message names the path a poller
  would explain it by, when there is one.
* **Re-sync.** After a violation the judge continues from the observed status, as a replay
  through the state machine would after re-reading the task: each pair is judged on its own.
* **Times.** Observation times (``at_usecs``, ``atUsecs``) must not decrease.
* **Snapshots.** A history carries snapshots when its items are records or when a dict in it
  has ``error``, ``taskStartTimeUsecs`` or ``taskEndTimeUsecs`` (a missing key then means null,
  as on the wire). A stamp never changes once set, nor disappears; a state that can only be
  reached through an active state (``kRunning``) needs a start time; a final state of a started
  task needs an end time, and only final states have one, never before the start; an error is
  set where the state's error rule requires one, and never where it forbids one.

:func:`validate` is the reference: the vectorised judge of event logs
(:mod:`tasklife.eventlog.kernel`) must agree with it, event for event.

>>> report = validate(["kAccepted", "kSuccess"])
>>> bool(report), report.violations[0].kind
(False, 'illegal-transition')
>>> report = validate(["kAccepted", "kSuccess"], mode="polling")
>>> bool(report), report.gaps[0].path
(True, ('start', 'succeed'))
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, Literal

import attrs

from tasklife.errors import InvalidRecord
from tasklife.lifecycle import Lifecycle, LifecycleSpec, get_lifecycle
from tasklife.tracking.journal import JournalEntry, journal_statuses
from tasklife.validation.kinds import KIND, MISSING, SNAPSHOT_KINDS, Facts, Said
from tasklife.validation.report import Gap, StatusName, ValidationReport, Violation
from tasklife.validation.rules import (
    StateRules,
    accept_status,
    check_mode,
    check_vocabulary,
    state_rules,
    transition_verdict,
)

__all__ = ["SNAPSHOT_KEYS", "Mode", "carries_snapshots", "validate"]

Mode = Literal["strict", "polling"]
SNAPSHOT_KEYS: Final = ("error", "taskStartTimeUsecs", "taskEndTimeUsecs")
"""The wire keys that make an event a snapshot."""


@attrs.frozen
class _Event:
    status: Any
    at: int | None
    start: int | None = None
    end: int | None = None
    error: bool = False
    snapshot: bool = False


def _stamp(where: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRecord(where, value, "must be an integer of epoch microseconds or null")
    return value


def _error(where: str, value: Any) -> bool:
    if value is not None and not isinstance(value, str):
        raise InvalidRecord(where, value, "must be a string or null")
    return bool(value)


def _event(i: int, item: Any, snapshots: bool) -> _Event:
    where = f"history[{i}]"
    if isinstance(item, str | int) and not isinstance(item, bool):
        return _Event(item, None)
    if isinstance(item, tuple | list) and len(item) == 2:
        return _Event(item[0], _stamp(f"{where}[1]", item[1]))
    if isinstance(item, Mapping):
        if "status" not in item:
            raise InvalidRecord(f"{where}.status", item, "missing")
        return _Event(
            item["status"],
            _stamp(f"{where}.atUsecs", item.get("atUsecs")),
            _stamp(f"{where}.taskStartTimeUsecs", item.get("taskStartTimeUsecs")),
            _stamp(f"{where}.taskEndTimeUsecs", item.get("taskEndTimeUsecs")),
            _error(f"{where}.error", item.get("error")),
            snapshots,
        )
    if hasattr(item, "status"):
        return _Event(
            getattr(item, "status", None),
            None,
            _stamp(f"{where}.task_start_time_usecs", getattr(item, "task_start_time_usecs", None)),
            _stamp(f"{where}.task_end_time_usecs", getattr(item, "task_end_time_usecs", None)),
            _error(f"{where}.error", getattr(item, "error", None)),
            True,
        )
    raise InvalidRecord(
        where, item, "expected a status, a (status, at_usecs) pair, a snapshot dict or a record"
    )


def carries_snapshots(history: Sequence[Any]) -> bool:
    """Whether any dict of ``history`` has a snapshot key (records always are snapshots)."""
    return any(isinstance(h, Mapping) and any(k in h for k in SNAPSHOT_KEYS) for h in history)


def _facts(rules: StateRules, state: str, ev: _Event, prev_start: int, prev_end: int) -> Facts:
    """The :class:`~tasklife.validation.kinds.Facts` of one snapshot."""
    start = MISSING if ev.start is None else ev.start
    end = MISSING if ev.end is None else ev.end
    final = state in rules.final
    return Facts(
        start=start,
        prev_start=prev_start,
        end=end,
        prev_end=prev_end,
        has_start=start != MISSING,
        no_start=start == MISSING,
        had_start=prev_start != MISSING,
        has_end=end != MISSING,
        no_end=end == MISSING,
        had_end=prev_end != MISSING,
        error=ev.error,
        no_error=not ev.error,
        final=final,
        not_final=not final,
        needs_start=state in rules.needs_start,
        error_required=state in rules.error_required,
        error_forbidden=state in rules.error_forbidden,
    )


def validate(
    history: Iterable[Any],
    *,
    mode: Mode | str = "strict",
    lifecycle: LifecycleSpec = "copy-task",
    vocabulary: str = "auto",
    snapshots: bool | None = None,
    require_final: bool = False,
) -> ValidationReport:
    """Judge the history of one task against ``lifecycle``.

    ``history`` holds statuses (v1, v2 or numeric codes), ``(status, at_usecs)`` pairs, or
    snapshots (wire dicts or records with ``status``, ``error``, ``task_start_time_usecs``,
    ``task_end_time_usecs``). ``vocabulary`` (``auto``, ``v1``, ``v2``, ``code``) restricts the
    accepted names; the report speaks the vocabulary of the first known status (or the one
    given). ``require_final`` makes a history that does not end in a final status a
    ``still-active`` violation. ``snapshots`` forces dicts to be judged as snapshots or not
    (default: when any dict has a snapshot key). Items of the wrong shape raise
    :class:`~tasklife.errors.InvalidRecord`. A record's journal is judged as the
    ``(status, at_usecs)`` history it stands for.

    >>> print(validate([("Accepted", 1), ("Finalizing", 2)]).violations[0].message)
    ... # doctest: +NORMALIZE_WHITESPACE
    unknown status 'Finalizing': not a status of lifecycle 'copy-task'; it is one of
    'copy-task-6.8' (pass lifecycle='copy-task-6.8')
    >>> r = validate([{"status": "kFailure", "error": None}])
    >>> [v.kind for v in r.violations]
    ['failure-without-error']
    """
    check_mode(mode)
    check_vocabulary(vocabulary)
    lc = get_lifecycle(lifecycle)
    items = list(history)
    if items and all(isinstance(item, JournalEntry) for item in items):
        items = journal_statuses(items)
    snap = carries_snapshots(items) if snapshots is None else snapshots
    events = [_event(i, item, snap) for i, item in enumerate(items)]
    vocab = vocabulary
    if vocab == "auto":
        vocab = next((v for v in (lc.vocabulary(e.status) for e in events) if v is not None), "v1")
    judge = _Judge(lc, mode, vocabulary, vocab)
    for i, ev in enumerate(events):
        judge.event(i, ev)
    if require_final and judge.prev is not None and not lc.is_final(judge.prev):
        judge.add(judge.prev_index, "still-active", judge.prev, judge.prev)
    return ValidationReport(
        tuple(judge.violations), tuple(judge.gaps), mode, lc.name, vocab, len(events)
    )


class _Judge:
    """The state of judging one history, event by event (see the module docstring)."""

    def __init__(self, lc: Lifecycle, mode: str, accepted: str, vocab: str) -> None:
        self.lc, self.mode, self.accepted, self.vocab = lc, mode, accepted, vocab
        self.rules = state_rules(lc)
        self.violations: list[Violation] = []
        self.gaps: list[Gap] = []
        self.prev: str | None = None
        self.prev_index = 0
        self.stamps: dict[str, int | None] = {"prev_at": None}
        self.prev_start = self.prev_end = MISSING

    def say(self, state: str | None) -> StatusName | None:
        return None if state is None else self.lc.translate(state, self.vocab)

    def add(self, i: int, kind: str, src: str | None, dst: Any, **said: Any) -> None:
        row = KIND[kind]
        s, t = self.say(src), (self.say(dst) if kind != "unknown-status" else dst)
        value, before = row.values(self.stamps)
        text = row.describe(Said(s, t, self.lc.name, self.mode, value=value, before=before, **said))
        self.violations.append(Violation(i, kind, s, t, text, said.get("path")))

    def event(self, i: int, ev: _Event) -> None:
        lc, prev = self.lc, self.prev
        state, reason = accept_status(lc, ev.status, self.accepted)
        if state is None:
            self.add(i, "unknown-status", prev, ev.status, reason=reason or "")
        elif prev is not None and state != prev:
            kind, path = transition_verdict(lc, prev, state, self.mode)
            if kind is not None:
                self.add(i, kind, prev, state, path=path)
            elif len(path or ()) > 1:
                self.gaps.append(
                    Gap(
                        i,
                        lc.translate(prev, self.vocab),
                        lc.translate(state, self.vocab),
                        path or (),
                    )
                )
        if ev.at is not None:
            self.stamps["at"] = ev.at
            prev_at = self.stamps["prev_at"]
            if prev_at is not None and ev.at < prev_at:
                self.add(i, "time-went-backwards", prev, state)
            self.stamps["prev_at"] = ev.at
        if state is None:
            return
        self.prev, self.prev_index = state, i
        if ev.snapshot:
            self.snapshot(i, state, prev, ev)

    def snapshot(self, i: int, state: str, last: str | None, ev: _Event) -> None:
        facts = _facts(self.rules, state, ev, self.prev_start, self.prev_end)
        self.stamps.update(
            start=facts.start, end=facts.end, prev_start=self.prev_start, prev_end=self.prev_end
        )
        for kind in SNAPSHOT_KINDS:
            assert kind.rule is not None
            if kind.rule(facts):
                self.add(i, kind.name, last, state)
        self.prev_start = facts.start if facts.has_start else self.prev_start
        self.prev_end = facts.end if facts.has_end else self.prev_end
