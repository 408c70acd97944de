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
* **Snapshots.** Records are snapshots; a dict is judged on the snapshot fields whose keys it
  carries (``taskStartTimeUsecs``/``startTimeUsecs``, ``taskEndTimeUsecs``/``endTimeUsecs``,
  ``error``/``message``; see :mod:`tasklife.validation.fields`): an absent key is no
  observation, a null one a missing value. A stamp never changes once set, nor disappears;
  a state that can only be reached through an active state (``kRunning``) needs a start
  time; a final state of a started task needs an end time, and only final states have one,
  never before the start; an error is set where the state's error rule requires one, and never
  where it forbids one.

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

import sys
from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal

import attrs

from tasklife.errors import InvalidRecord
from tasklife.lifecycle import Lifecycle, LifecycleSpec, get_lifecycle
from tasklife.validation.fields import (
    ALL_KEYS,
    END,
    ERROR,
    JSON_NAMES,
    START,
    Snap,
    is_int64,
    read_snapshot,
)
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

__all__ = [
    "MIXED",
    "SNAPSHOT_KEYS",
    "Mode",
    "facts",
    "spoken_vocabulary",
    "validate",
]

Mode = Literal["strict", "polling"]
SNAPSHOT_KEYS: Final = JSON_NAMES.all()
"""The wire keys that make an event a snapshot (v1 and v2)."""
MIXED: Final = "mixed"
"""The vocabulary of a report on input that names statuses in several vocabularies."""


@attrs.frozen
class _Event:
    status: Any
    at: int | None
    snap: Snap | None = None
    """None: not judged as a snapshot (no snapshot key, or ``snapshots=False``)."""
    attempt: int | None = None
    """A store event's attempt (``attempt`` key): a retry starts the lifecycle afresh."""


def _stamp(where: str, value: Any) -> int | None:
    if value is None:
        return None
    if not is_int64(value):
        raise InvalidRecord(where, value, "must be an integer of epoch microseconds or null")
    return int(value)


def _record_snap(where: str, item: Any) -> Snap:
    """A record's snapshot: it carries every field (``None`` is null)."""
    error = getattr(item, "error", None)
    if error is not None and not isinstance(error, str):
        raise InvalidRecord(f"{where}.error", error, "must be a string or null")
    return Snap(
        _stamp(f"{where}.task_start_time_usecs", getattr(item, "task_start_time_usecs", None)),
        _stamp(f"{where}.task_end_time_usecs", getattr(item, "task_end_time_usecs", None)),
        bool(error),
        ALL_KEYS,
    )


def _dict_snap(where: str, item: Mapping[str, Any], snapshots: bool | None) -> Snap | None:
    """A wire dict's snapshot (v1 or v2 keys): only the fields whose keys it carries, or
    every field when ``snapshots`` forces it (absent then means null); None when not one."""
    if snapshots is False:
        return None
    snap = read_snapshot(item)
    if not isinstance(snap, Snap):
        key, value, what = snap
        if what.startswith("the same value"):
            raise InvalidRecord(f"{where}.{key}", value, f"must be {what}")
        if key in JSON_NAMES.error:
            raise InvalidRecord(f"{where}.{key}", value, "must be a string or null")
        raise InvalidRecord(
            f"{where}.{key}", value, "must be an integer of epoch microseconds or null"
        )
    if snapshots:
        return snap._replace(keys=ALL_KEYS)
    return snap if snap.keys else None


def _event(i: int, item: Any, snapshots: bool | None) -> _Event:
    where = f"history[{i}]"
    if isinstance(item, str | int) and not isinstance(item, bool):
        return _Event(item, None)
    if isinstance(item, tuple | list) and len(item) == 2:
        return _Event(item[0], _stamp(f"{where}[1]", item[1]))
    if isinstance(item, Mapping):
        if "status" not in item:
            raise InvalidRecord(f"{where}.status", item, "missing")
        at = _stamp(f"{where}.atUsecs", item.get("atUsecs"))
        attempt = _stamp(f"{where}.attempt", item.get("attempt"))
        return _Event(item["status"], at, _dict_snap(where, item, snapshots), attempt)
    if hasattr(item, "status"):
        snap = None if snapshots is False else _record_snap(where, item)
        return _Event(getattr(item, "status", None), None, snap)
    raise InvalidRecord(
        where, item, "expected a status, a (status, at_usecs) pair, a snapshot dict or a record"
    )


def facts(rules: StateRules, state: str, snap: Snap, prev_start: int, prev_end: int) -> Facts:
    """The :class:`~tasklife.validation.kinds.Facts` of one snapshot: a field is judged only
    when its key is there (see :mod:`tasklife.validation.fields`)."""
    start = MISSING if snap.start is None else snap.start
    end = MISSING if snap.end is None else snap.end
    has_start_key, has_end_key = bool(snap.keys & START), bool(snap.keys & END)
    has_error_key = bool(snap.keys & ERROR)
    final = state in rules.final
    return Facts(
        start=start,
        prev_start=prev_start,
        end=end,
        prev_end=prev_end,
        has_start=has_start_key and start != MISSING,
        no_start=has_start_key and start == MISSING,
        had_start=prev_start != MISSING,
        has_end=has_end_key and end != MISSING,
        no_end=has_end_key and end == MISSING,
        had_end=prev_end != MISSING,
        error=has_error_key and snap.error,
        no_error=has_error_key and not snap.error,
        final=final,
        not_final=not final,
        needs_start=state in rules.needs_start,
        error_required=state in rules.error_required,
        error_forbidden=state in rules.error_forbidden,
    )


def spoken_vocabulary(found: Iterable[str | None], accepted: str) -> str:
    """The vocabulary a report speaks: the accepted one when forced; else the one vocabulary
    of the known statuses, ``mixed`` when they come from several (names are then the
    lifecycle's own, v1), ``v1`` when none is known (issue 12, item 22).

    >>> spoken_vocabulary(["v2", "v2"], "auto"), spoken_vocabulary(["v2", "code"], "auto")
    ('v2', 'mixed')
    """
    if accepted != "auto":
        return accepted
    seen = {v for v in found if v is not None}
    if len(seen) > 1:
        return MIXED
    return seen.pop() if seen else "v1"


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
    ``task_end_time_usecs``; v2 result documents with ``startTimeUsecs``, ``endTimeUsecs``,
    ``message``). ``vocabulary`` (``auto``, ``v1``, ``v2``, ``code``) restricts the accepted
    names; the report speaks the vocabulary of the known statuses (``mixed``, with the
    lifecycle's own names, when they come from several) or the one given. ``require_final``
    makes a history that does not end in a final status a ``still-active`` violation. A dict
    is judged on the snapshot fields whose keys it carries; ``snapshots=True`` judges every
    field of every dict (an absent key then means null), ``False`` none. Items of the wrong
    shape, or a string instead of a history, raise :class:`~tasklife.errors.InvalidRecord`. A
    record's journal is judged as the ``(status, at_usecs)`` history it stands for. Dicts
    with an ``attempt`` key (a store's ``events()`` of a retried task) are judged one attempt
    at a time, each from the start.

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
    if isinstance(history, str | bytes | Mapping):
        raise InvalidRecord(
            "history", history, "expected a sequence of statuses, pairs, snapshots or records"
        )
    items = list(history)
    journal = sys.modules.get("tasklife.tracking.journal")  # no entry exists before it loads
    if journal is not None and items and all(isinstance(i, journal.JournalEntry) for i in items):
        items = journal.journal_statuses(items)
    events = [_event(i, item, snapshots) for i, item in enumerate(items)]
    vocab = spoken_vocabulary(
        (lc.vocabulary(e.status) for e in events if accept_status(lc, e.status, vocabulary)[0]),
        vocabulary,
    )
    judge = _Judge(lc, mode, vocabulary, vocab)
    attempt = None
    for i, ev in enumerate(events):
        if ev.attempt is not None and attempt is not None and ev.attempt != attempt:
            if ev.attempt != attempt + 1:
                raise InvalidRecord(f"history[{i}].attempt", ev.attempt,
                                    f"attempts go up one at a time (after {attempt})")  # fmt: skip
            judge = _Judge(lc, mode, vocabulary, vocab, judge)  # each attempt judged afresh
        attempt = ev.attempt if ev.attempt is not None else attempt
        judge.event(i, ev)
    if require_final and judge.prev is not None and not lc.is_final(judge.prev):
        judge.add(judge.prev_index, "still-active", judge.prev, judge.prev)
    return ValidationReport(
        tuple(judge.violations), tuple(judge.gaps), mode, lc.name, vocab, len(events)
    )


class _Judge:
    """The state of judging one history, event by event (see the module docstring)."""

    def __init__(
        self, lc: Lifecycle, mode: str, accepted: str, vocab: str, before: _Judge | None = None
    ) -> None:
        self.lc, self.mode, self.accepted, self.vocab = lc, mode, accepted, vocab
        self.rules = state_rules(lc)
        # a new attempt's judge keeps the verdicts on the earlier attempts
        self.violations: list[Violation] = before.violations if before else []
        self.gaps: list[Gap] = before.gaps if before else []
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
        if ev.snap is not None:
            self.snapshot(i, state, prev, ev.snap)

    def snapshot(self, i: int, state: str, last: str | None, snap: Snap) -> None:
        seen = facts(self.rules, state, snap, self.prev_start, self.prev_end)
        self.stamps.update(
            start=seen.start, end=seen.end, prev_start=self.prev_start, prev_end=self.prev_end
        )
        for kind in SNAPSHOT_KINDS:
            assert kind.rule is not None
            if kind.rule(seen):
                self.add(i, kind.name, last, state)
        self.prev_start = seen.start if seen.has_start else self.prev_start
        self.prev_end = seen.end if seen.has_end else self.prev_end
