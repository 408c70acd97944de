"""Validating the status history of one task, strictly or as a poller saw it.

Theory of operation
-------------------
A history is what somebody observed of one task, in order: bare statuses, ``(status,
at_usecs)`` pairs, or ``CopySnapshotTaskStatus`` snapshots (wire dicts or records). Every
verdict is read from the lifecycle table (:class:`tasklife.lifecycle.Lifecycle`):

* **Statuses.** A value that names no state of the lifecycle (in the accepted vocabulary) is
  ``unknown-status`` and is skipped: the next status is judged against the last known one.
* **Transitions.** The same status seen again is a re-observation. A different status after a
  final one is ``after-terminal``. Otherwise, in ``strict`` mode the pair must be one
  transition of the table (``adjacency``); in ``polling`` mode the target need only be
  reachable (``reachability``), and the report keeps the shortest trigger path that explains
  the gap (``Lifecycle.path``). A pair that fails is ``illegal-transition``; in strict mode its
  message names the path a poller would explain it by, when there is one.
* **Re-sync.** After a violation the judge continues from the observed status, as a replay
  through the state machine would after re-reading the task: each pair is judged on its own.
* **Times.** Observation times (``at_usecs``, ``atUsecs``) must not decrease.
* **Snapshots.** A history carries snapshots when its items are records or when a dict in it
  has ``error``, ``taskStartTimeUsecs`` or ``taskEndTimeUsecs`` (a missing key then means null,
  as on the wire). A stamp never changes once set, nor disappears; a state that can only be
  reached through an active state (``kRunning``) needs a start time; a final state of a started
  task needs an end time, and only final states have one, never before the start; an error is
  set exactly in the states of outcome class ``failure``.

:func:`validate` is the reference: :mod:`tasklife.batch` judges many interleaved tasks at once
with numpy and must agree with it, event for event.

>>> report = validate(["kAccepted", "kSuccess"])
>>> bool(report), report.violations[0].kind
(False, 'illegal-transition')
>>> report = validate(["kAccepted", "kSuccess"], mode="polling")
>>> bool(report), report.gaps[0].path
(True, ('start', 'succeed'))
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, Final, Literal

import attrs

from tasklife.errors import InvalidRecord
from tasklife.lifecycle import COPY_TASK, Lifecycle, get_lifecycle
from tasklife.tracking.journal import JournalEntry, journal_statuses

if TYPE_CHECKING:
    from tasklife.batch import LogReport

__all__ = [
    "KINDS",
    "MODES",
    "Gap",
    "ValidationReport",
    "Violation",
    "validate",
    "validate_log",
]

Mode = Literal["strict", "polling"]
MODES: Final = ("strict", "polling")
VOCABULARY_CHOICES: Final = ("auto", "v1", "v2", "code")

KINDS: Final = (
    "unknown-status",
    "illegal-transition",
    "after-terminal",
    "time-went-backwards",
    "start-time-missing",
    "start-time-changed",
    "end-time-missing",
    "end-time-changed",
    "end-time-before-start",
    "end-time-while-active",
    "error-without-failure",
    "failure-without-error",
    "still-active",
)
"""Violation kinds, in the order violations of one event are reported."""

SNAPSHOT_KEYS: Final = ("error", "taskStartTimeUsecs", "taskEndTimeUsecs")
"""The wire keys that make an event a snapshot."""

StatusName = str | int
"""A status as the input named it: a v1 or v2 name, or a numeric code."""


@attrs.frozen
class Violation:
    """One broken rule: at event ``index`` of a task's history, from ``source`` to ``target``.

    ``source``/``target`` are statuses in the vocabulary of the input (``source`` is None for a
    task's first event). ``path`` is the shortest trigger path between them when one exists.
    Event logs also set ``task``, the task id, and ``file``/``line`` where the event was read.

    >>> validate(["kRunning", "kAccepted"]).violations[0].message
    "kRunning -> kAccepted: no transition of 'copy-task' leads there"
    """

    index: int
    kind: str
    source: StatusName | None
    target: Any
    message: str
    path: tuple[str, ...] | None = None
    task: str | int | None = None
    file: str | None = None
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the shape of ``tasklife validate --format json``)."""
        d = {name: getattr(self, name) for name in _VIOLATION_FIELDS}
        d["path"] = list(self.path) if self.path is not None else None
        return d


_VIOLATION_FIELDS: Final = tuple(f.name for f in attrs.fields(Violation))


@attrs.frozen
class Gap:
    """A pair a poller saw, explained in ``polling`` mode by the trigger ``path``.

    >>> validate(["kAccepted", "kCanceled"], mode="polling").gaps[0].path
    ('cancel', 'confirm_cancel')
    """

    index: int
    source: StatusName
    target: StatusName
    path: tuple[str, ...]


@attrs.frozen
class ValidationReport:
    """The verdict on one history: truthy when there are no violations.

    >>> bool(validate(["kAccepted", "kRunning", "kRunning", "kSuccess"]))
    True
    """

    violations: tuple[Violation, ...]
    gaps: tuple[Gap, ...]
    mode: str
    lifecycle: str
    vocabulary: str
    """The vocabulary the report speaks (the input's, when detected)."""
    events: int

    def __bool__(self) -> bool:
        return not self.violations

    def kinds(self) -> dict[str, int]:
        """Number of violations per kind, in :data:`KINDS` order."""
        counts = {k: 0 for k in KINDS}
        for v in self.violations:
            counts[v.kind] += 1
        return {k: n for k, n in counts.items() if n}


# -- rules derived from the lifecycle table ---------------------------------------------------


@attrs.frozen
class Rules:
    """What one lifecycle implies for snapshots, computed once per lifecycle."""

    needs_start: frozenset[str]
    """States reachable from the initial state only through an active-phase state."""
    failure: frozenset[str]
    """States of outcome class ``failure`` (the only ones with an error)."""


@cache
def rules_for(lifecycle: Lifecycle) -> Rules:
    """The snapshot rules of ``lifecycle``.

    >>> sorted(rules_for(COPY_TASK).needs_start)
    ['kRunning', 'kSuccess', 'kWarning']
    """
    return Rules(
        needs_start=lifecycle.ran_states,
        failure=lifecycle.states_of("failure"),
    )


def accept_status(
    lifecycle: Lifecycle, raw: object, vocabulary: str
) -> tuple[str | None, str | None]:
    """``(state, reason)``: the state ``raw`` names, or None and why it is not accepted.

    >>> accept_status(COPY_TASK, "Running", "v1")
    (None, "'Running' is a v2 name; the vocabulary is v1")
    """
    state = lifecycle.canonical(raw)
    if state is None:
        return None, f"unknown status {raw!r}: {lifecycle.unknown_status_reason(raw)}"
    found = lifecycle.vocabulary(raw)
    if vocabulary != "auto" and found != vocabulary:
        return None, f"{raw!r} is a {found} name; the vocabulary is {vocabulary}"
    return state, None


def transition_verdict(
    lifecycle: Lifecycle, source: str, target: str, mode: str
) -> tuple[str | None, tuple[str, ...] | None]:
    """``(kind, path)`` for a change ``source`` -> ``target``: kind None when legal.

    >>> transition_verdict(COPY_TASK, "kAccepted", "kSuccess", "polling")
    (None, ('start', 'succeed'))
    """
    if lifecycle.is_terminal(source):
        return "after-terminal", None
    path = lifecycle.path(source, target)
    if path is not None and (len(path) == 1 or mode == "polling"):
        return None, path
    return "illegal-transition", path


def message(
    kind: str,
    lifecycle: Lifecycle,
    source: StatusName | None,
    target: Any,
    *,
    mode: str = "strict",
    path: tuple[str, ...] | None = None,
    value: int | None = None,
    before: int | None = None,
) -> str:
    """The message of a violation (shared by :func:`validate` and :mod:`tasklife.batch`).

    ``value``/``before`` are the times involved: the new and the earlier one.
    """
    if kind == "illegal-transition":
        if path is None:
            return f"{source} -> {target}: no transition of {lifecycle.name!r} leads there"
        return (
            f"{source} -> {target} is not one transition; a poller would explain it by "
            f"{', '.join(path)} (mode polling)"
        )
    if kind == "after-terminal":
        return f"{target} after the final status {source}"
    if kind == "time-went-backwards":
        return f"observed at {value} usecs, before the previous observation at {before}"
    if kind == "start-time-missing":
        if before is not None:
            return f"taskStartTimeUsecs was {before} and is now missing"
        return f"{target} without taskStartTimeUsecs: the task must have started"
    if kind == "start-time-changed":
        return f"taskStartTimeUsecs changed from {before} to {value}"
    if kind == "end-time-missing":
        if before is not None:
            return f"taskEndTimeUsecs was {before} and is now missing"
        return f"{target} without taskEndTimeUsecs although the task started"
    if kind == "end-time-changed":
        return f"taskEndTimeUsecs changed from {before} to {value}"
    if kind == "end-time-before-start":
        return f"taskEndTimeUsecs {value} is before taskStartTimeUsecs {before}"
    if kind == "end-time-while-active":
        return f"taskEndTimeUsecs {value} set while {target} is not final"
    if kind == "error-without-failure":
        return f"error set while {target} is not a failure"
    if kind == "failure-without-error":
        return f"{target} without an error"
    if kind == "still-active":
        return f"still active: the last status is {target}, not a final one"
    raise ValueError(f"unknown violation kind {kind!r}")


def snapshot_verdicts(
    rules: Rules,
    lifecycle: Lifecycle,
    state: str,
    start: int | None,
    end: int | None,
    error: bool,
    prev_start: int | None,
    prev_end: int | None,
) -> list[tuple[str, int | None, int | None]]:
    """``(kind, value, before)`` for each rule a snapshot breaks, in :data:`KINDS` order."""
    out: list[tuple[str, int | None, int | None]] = []
    final = lifecycle.is_terminal(state)
    if start is None:
        if prev_start is not None or state in rules.needs_start:
            out.append(("start-time-missing", None, prev_start))
    elif prev_start is not None and start != prev_start:
        out.append(("start-time-changed", start, prev_start))
    if end is None:
        if prev_end is not None or (final and start is not None):
            out.append(("end-time-missing", None, prev_end))
    else:
        if prev_end is not None and end != prev_end:
            out.append(("end-time-changed", end, prev_end))
        if start is not None and end < start:
            out.append(("end-time-before-start", end, start))
        if not final:
            out.append(("end-time-while-active", end, None))
    if error and state not in rules.failure:
        out.append(("error-without-failure", None, None))
    if not error and state in rules.failure:
        out.append(("failure-without-error", None, None))
    return out


# -- one history ------------------------------------------------------------------------------


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


def validate(
    history: Iterable[Any],
    mode: Mode | str = "strict",
    lifecycle: Lifecycle | str | os.PathLike[str] = COPY_TASK,
    *,
    vocabulary: str = "auto",
    snapshots: bool | None = None,
    require_terminal: bool = False,
) -> ValidationReport:
    """Judge the history of one task against ``lifecycle``.

    ``history`` holds statuses (v1, v2 or numeric codes), ``(status, at_usecs)`` pairs, or
    snapshots (wire dicts or records with ``status``, ``error``, ``task_start_time_usecs``,
    ``task_end_time_usecs``). ``vocabulary`` (``auto``, ``v1``, ``v2``, ``code``) restricts the
    accepted names; the report speaks the vocabulary of the first known status (or the one
    given). ``require_terminal`` makes a history that does not end in a final status a
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
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if vocabulary not in VOCABULARY_CHOICES:
        raise ValueError(
            f"vocabulary must be one of {', '.join(VOCABULARY_CHOICES)}, got {vocabulary!r}"
        )
    lc = get_lifecycle(lifecycle)
    rules = rules_for(lc)
    items = list(history)
    if items and all(isinstance(item, JournalEntry) for item in items):
        items = journal_statuses(items)
    snap = carries_snapshots(items) if snapshots is None else snapshots
    events = [_event(i, item, snap) for i, item in enumerate(items)]
    vocab = vocabulary
    if vocab == "auto":
        vocab = next((v for v in (lc.vocabulary(e.status) for e in events) if v is not None), "v1")

    def say(state: str | None) -> StatusName | None:
        return None if state is None else lc.translate(state, vocab)

    violations: list[Violation] = []
    gaps: list[Gap] = []

    def add(i: int, kind: str, src: str | None, dst: Any, **kw: Any) -> None:
        s, t = say(src), (say(dst) if kind != "unknown-status" else dst)
        path = kw.pop("path", None)
        text = kw.pop("text", None) or message(kind, lc, s, t, mode=mode, path=path, **kw)
        violations.append(Violation(i, kind, s, t, text, path))

    prev: str | None = None
    prev_index = 0
    prev_at: int | None = None
    prev_start: int | None = None
    prev_end: int | None = None
    for i, ev in enumerate(events):
        state, reason = accept_status(lc, ev.status, vocabulary)
        if state is None:
            add(i, "unknown-status", prev, ev.status, text=reason)
        elif prev is not None and state != prev:
            kind, path = transition_verdict(lc, prev, state, mode)
            if kind is not None:
                add(i, kind, prev, state, path=path)
            elif len(path or ()) > 1:
                gaps.append(
                    Gap(i, lc.translate(prev, vocab), lc.translate(state, vocab), path or ())
                )
        if ev.at is not None:
            if prev_at is not None and ev.at < prev_at:
                add(i, "time-went-backwards", prev, state, value=ev.at, before=prev_at)
            prev_at = ev.at
        if state is None:
            continue
        last, prev, prev_index = prev, state, i
        if ev.snapshot:
            for kind, value, before in snapshot_verdicts(
                rules, lc, state, ev.start, ev.end, ev.error, prev_start, prev_end
            ):
                add(i, kind, last, state, value=value, before=before)
            prev_start = ev.start if ev.start is not None else prev_start
            prev_end = ev.end if ev.end is not None else prev_end
    if require_terminal and prev is not None and not lc.is_terminal(prev):
        add(prev_index, "still-active", prev, prev)
    return ValidationReport(tuple(violations), tuple(gaps), mode, lc.name, vocab, len(events))


def validate_log(
    sources: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    mode: Mode = "strict",
    lifecycle: Lifecycle | str | os.PathLike[str] = COPY_TASK,
    vocabulary: str = "auto",
    require_terminal: bool = False,
    dask: str | None = None,
) -> LogReport:
    """Validate event logs of many tasks (JSON Lines or CSV files, ``-`` for stdin).

    The library face of ``tasklife validate``: events are grouped per task and ordered by
    time, every task is judged by the rules of :func:`validate`, vectorised
    (:func:`tasklife.batch.judge`), or on the Dask cluster at ``dask`` (``"local"`` starts
    one; needs ``tasklife[dask]``). The report is truthy when every task is valid and no line
    was malformed.

    >>> report = validate_log("examples/copy-run.jsonl", mode="polling")
    >>> bool(report), report.tasks
    (False, 300)
    """
    from tasklife.batch import judge
    from tasklife.eventlog import read_events

    paths = [sources] if isinstance(sources, str | os.PathLike) else list(sources)
    lc = get_lifecycle(lifecycle)
    if dask is not None:
        from tasklife.scale import validate_files

        return validate_files(
            paths, dask, lc, mode=mode, vocabulary=vocabulary, require_terminal=require_terminal
        )
    log = read_events(paths, lc, vocabulary=vocabulary)
    return judge(log, lc, mode, require_terminal=require_terminal).report()
