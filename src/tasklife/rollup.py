"""Roll-up of a copy run: one status, counts per status and aggregated stats from its tasks.

Theory of operation
-------------------
Cohesity's ``CopyRun`` carries ``copySnapshotTasks`` (one ``CopySnapshotTaskStatus`` per
protected object) next to its own ``status`` and ``stats``, which the SDK documents only as
"the aggregated status of copy tasks" (the same values as a task's status) and "aggregated
stats for one copy task or a Copy Run". Cohesity publishes no aggregation rule. Public
monitoring scripts read ``copyRun[i].status``, keep polling a run until it reaches kCanceled,
kSuccess or kFailure, and report a run as failed when any object failed; backup products
commonly rank a run failed > warning > ok by its worst task. :func:`roll_up` follows that
and decides from the *classes* the lifecycle table gives each state, never from status names,
so it works for ``copy-task``, ``copy-task-6.8`` and user lifecycles alike:

1. While any task is not final, the run is unfinished and its *unfinished* tasks decide, the
   first phase present among them in the order :data:`RUN_PHASE_ORDER` winning:
   running > canceling > held > queued (kRunning > kCanceling > kOnHold > kAccepted).

   a. a running unfinished task makes the run running: the least advanced ``active`` state of
      the unfinished tasks when every one is in one (``kFinalizing`` only once every
      unfinished task finalizes), else the lifecycle's first ``active`` state (``kRunning``):
      work is still to be done;
   b. otherwise a pending cancel decides where the run is going (a run whose unfinished
      tasks all cancel is canceling, as pollers treat it, however many tasks ran before), then
      a held task, which needs an operator before the run can finish;
   c. a run whose unfinished tasks are all queued is queued (kAccepted), unless a task of it
      has run (it is final in a state only reached by running, or has a start time): then the
      run is running (kRunning), its queued tasks waiting for a slot in a run under way.

2. Once every task is final, the first outcome class present in :data:`RUN_OUTCOME_ORDER`
   wins: failure > canceled > missed > warning > success. A failed object needs attention
   whatever else happened; a cancel is an operator's decision about the run; a missed object
   was not copied at all, which is worse than copied with a warning.

When several states share the winning class, the least advanced one (fewest triggers from the
initial state, then table order) is reported. Stats: byte counts are summed, the start is the
earliest task start, the end the latest task end (only once the run is final), the transfer
rate is logical bytes per elapsed second (rounded down, as the per-task rates of real
documents are) and the run is incremental when every task is. A field no task reports stays
None; a run whose tasks report neither stats nor times has ``stats=None``.

An empty run is an error, not a made-up status: Cohesity creates a run's copy tasks with the
run, so no tasks means the caller passed the wrong list (for example the ``copyRun`` list
instead of one run's ``copySnapshotTasks``). Bad input raises :class:`InvalidRunTask` (an
:class:`~tasklife.errors.InvalidRecord`) naming ``copySnapshotTasks[i]`` and the field.

>>> run = roll_up([
...     {"status": "kSuccess", "stats": {"startTimeUsecs": 0, "endTimeUsecs": 4_000_000,
...      "logicalBytesTransferred": 400, "isIncremental": True}},
...     {"status": "kFailure", "error": "disk full", "stats": {"startTimeUsecs": 1_000_000,
...      "endTimeUsecs": 2_000_000, "logicalBytesTransferred": 0, "isIncremental": True}},
... ])
>>> run.status, run.counts["kSuccess"], run.counts["kFailure"], run.task_count
('kFailure', 1, 1, 2)
>>> run.stats.logical_transfer_rate_bps, run.stats.end_time_usecs
(100, 4000000)
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs

from tasklife.errors import InvalidRecord, InvalidRunTask
from tasklife.lifecycle import VOCABULARIES, Lifecycle, LifecycleSpec, get_lifecycle
from tasklife.models import CopyRunStats, CopySnapshotTaskStatus

__all__ = ["RUN_OUTCOME_ORDER", "RUN_PHASE_ORDER", "RunRollUp", "roll_up"]

RUN_OUTCOME_ORDER: Final = ("failure", "canceled", "missed", "warning", "success")
"""Which outcome class decides a finished run: the first one any task has."""
RUN_PHASE_ORDER: Final = ("active", "canceling", "held", "queued")
"""Which phase of its unfinished tasks decides an unfinished run: the first one present."""
INT64_MAX: Final = (1 << 63) - 1
"""The largest sum or rate a run's stats hold: int64, as the SDKs and stores do."""
_V2_RESULT_KEYS: Final = {
    "startTimeUsecs": "taskStartTimeUsecs",
    "endTimeUsecs": "taskEndTimeUsecs",
    "message": "error",
}
"""A v2 result document's keys for a task's times and message, and their v1 keys."""
USECS_PER_SECOND: Final = 1_000_000
"""Times are epoch microseconds; the transfer rate is per second."""

_SUMMED: Final = ("logical_bytes_transferred", "logical_size_bytes", "physical_bytes_transferred")
_KEYS: Final = {  # attribute -> wire path within a task, for error messages
    "start_time_usecs": "stats.startTimeUsecs",
    "end_time_usecs": "stats.endTimeUsecs",
    "logical_bytes_transferred": "stats.logicalBytesTransferred",
    "logical_size_bytes": "stats.logicalSizeBytes",
    "physical_bytes_transferred": "stats.physicalBytesTransferred",
    "task_start_time_usecs": "taskStartTimeUsecs",
    "task_end_time_usecs": "taskEndTimeUsecs",
}


@attrs.frozen
class RunRollUp:
    """The roll-up of one copy run.

    ``counts`` has every state of ``lifecycle``, in table order (zero when no task is in it).

    >>> r = roll_up([{"status": "kRunning"}, {"status": "kAccepted"}])
    >>> r.status, r.is_final, r.stats
    ('kRunning', False, None)
    """

    status: str
    counts: Mapping[str, int]
    stats: CopyRunStats | None
    task_count: int
    lifecycle: Lifecycle = attrs.field(repr=False)

    @property
    def is_final(self) -> bool:
        """Whether every task of the run has finished (the run status is a final state)."""
        return self.lifecycle.is_final(self.status)

    def to_dictionary(self, vocabulary: str = "v1") -> dict[str, Any]:
        """The run's own fields in the wire format of the SDK's ``CopyRun``: ``status`` (in
        ``vocabulary``: v1 names, v2 names or codes) and ``stats`` when the tasks gave any.
        Merge it into the run's document to write the roll-up back.

        >>> roll_up([{"status": "kSuccess"}, {"status": "kWarning"}]).to_dictionary("v2")
        {'status': 'SucceededWithWarning'}
        """
        if vocabulary not in VOCABULARIES:
            raise ValueError(
                f"vocabulary must be one of {', '.join(VOCABULARIES)}, got {vocabulary!r}"
            )
        wire: dict[str, Any] = {"status": self.lifecycle.translate(self.status, vocabulary)}
        if self.stats is not None:
            wire["stats"] = self.stats.to_dictionary()
        return wire


@attrs.frozen
class _Plan:
    """What :func:`roll_up` needs from a lifecycle, derived once from its table."""

    rank: tuple[str, ...]
    """States, least advanced first: by trigger count from the initial state, then table order."""
    klass: tuple[str, ...]
    """The class of each state, in index order."""
    ran: tuple[bool, ...]
    """By index: a task in this state has run (an active state, or only reachable via one)."""
    running: str | None
    """The least advanced ``active`` state: the run status while work remains."""


_plans: weakref.WeakKeyDictionary[Lifecycle, _Plan] = weakref.WeakKeyDictionary()


def _plan(lc: Lifecycle) -> _Plan:
    plan = _plans.get(lc)
    if plan is None:
        plan = _plans[lc] = _derive_plan(lc)
    return plan


def _derive_plan(lc: Lifecycle) -> _Plan:
    far = len(lc.state_names)
    distance = {
        s: len(p) if (p := lc.path(lc.initial, s)) is not None else far for s in lc.state_names
    }
    rank = tuple(sorted(lc.state_names, key=lambda s: (distance[s], lc.index[s])))
    klass = tuple(lc.state(s).klass for s in lc.state_names)
    active = lc.states_of("active")
    ran = tuple(s in lc.ran_states for s in lc.state_names)
    running = next((s for s in rank if s in active), None)
    return _Plan(rank, klass, ran, running)


def roll_up(
    tasks: Iterable[CopySnapshotTaskStatus | Mapping[str, Any] | Any],
    *,
    lifecycle: LifecycleSpec = "copy-task",
) -> RunRollUp:
    """Roll the tasks of one copy run up into the run's status, counts and stats.

    ``tasks`` are ``CopySnapshotTaskStatus`` records, their wire objects (read with
    ``from_dictionary`` for ``lifecycle``), or any record with ``status`` and the task time
    fields (a :class:`tasklife.tracking.Task`, an SDK object). Statuses may be v1, v2 or
    numeric codes. See the module docstring for the precedence rules. A task that cannot be
    rolled up raises :class:`~tasklife.errors.InvalidRunTask` naming it.

    >>> roll_up([{"status": "Succeeded"}, {"status": "SucceededWithWarning"}]).status
    'kWarning'
    >>> roll_up([{"status": "kRunning"}, {"status": "kBogus"}])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    tasklife.errors.InvalidRunTask: copySnapshotTasks[1].status: not a status of ...
    """
    lc = get_lifecycle(lifecycle)
    plan = _plan(lc)
    if isinstance(tasks, (Mapping, str, bytes)) or not isinstance(tasks, Iterable):
        raise InvalidRunTask(None, "", tasks, "expected the list of a run's tasks")
    seen = _Tasks(lc, [0] * len(lc.state_names))
    reader = CopySnapshotTaskStatus.for_lifecycle(lc)
    for i, task in enumerate(tasks):
        seen.add(i, _record(i, task, reader))
    if not seen.task_count:
        raise InvalidRunTask(None, "", [], "a copy run has at least one task")
    has_run = any(n and ran for n, ran in zip(seen.counts, plan.ran, strict=True))
    status = _status(lc, plan, seen.counts, has_run or bool(seen.starts))
    return RunRollUp(
        status=status,
        counts=dict(zip(lc.state_names, seen.counts, strict=True)),
        stats=seen.run_stats(lc.is_final(status)),
        task_count=seen.task_count,
        lifecycle=lc,
    )


@attrs.define
class _Tasks:
    """What the tasks of a run add up to, a task at a time."""

    lc: Lifecycle
    counts: list[int]
    """Tasks per state, by index."""
    task_count: int = 0
    starts: list[int] = attrs.Factory(list)
    ends: list[int] = attrs.Factory(list)
    sums: dict[str, list[int]] = attrs.Factory(lambda: {name: [] for name in _SUMMED})
    incremental: list[bool] = attrs.Factory(list)
    has_stats: bool = False

    def add(self, i: int, record: Any) -> None:
        """Count task ``i``; a value that cannot be rolled up raises ``InvalidRunTask``."""
        state = self.lc.canonical(record.status)
        if state is None:
            reason = self.lc.unknown_status_reason(record.status)
            raise InvalidRunTask(i, "status", record.status, reason)
        self.counts[self.lc.index[state]] += 1
        self.task_count += 1
        stats = _stats(i, getattr(record, "stats", None))
        self.has_stats = self.has_stats or stats is not None
        start, _ = _time(i, stats, record, "start_time_usecs", "task_start_time_usecs")
        end, end_key = _time(i, stats, record, "end_time_usecs", "task_end_time_usecs")
        if start is not None:
            self.starts.append(start)
        if end is not None:
            if start is not None and end < start:
                raise InvalidRunTask(i, end_key, end, f"ends before it starts ({start})")
            self.ends.append(end)
        for name in _SUMMED:
            if (n := _count(i, stats, name, _KEYS[name])) is not None:
                self.sums[name].append(n)
        flag = getattr(stats, "is_incremental", None)
        if flag is not None:
            if not isinstance(flag, bool):
                raise InvalidRunTask(i, "stats.isIncremental", flag, "expected true or false")
            self.incremental.append(flag)

    def run_stats(self, final: bool) -> CopyRunStats | None:
        """The run's stats (the end only once the run is ``final``); None without any."""
        if not (self.has_stats or self.starts or self.ends):
            return None
        start = min(self.starts) if self.starts else None
        end = max(self.ends) if final and self.ends else None
        total = {name: _fits(name, sum(ns)) if ns else None for name, ns in self.sums.items()}
        logical = total["logical_bytes_transferred"]
        rate = None
        if start is not None and end is not None and end > start and logical is not None:
            rate = _fits("logical_transfer_rate_bps", logical * USECS_PER_SECOND // (end - start))
        return CopyRunStats(
            start_time_usecs=start,
            end_time_usecs=end,
            logical_transfer_rate_bps=rate,
            is_incremental=all(self.incremental) if self.incremental else None,
            logical_bytes_transferred=logical,
            logical_size_bytes=total["logical_size_bytes"],
            physical_bytes_transferred=total["physical_bytes_transferred"],
        )


def _fits(name: str, total: int) -> int:
    """A run's sum or rate, refused when int64 cannot hold it (no store or SDK could)."""
    if total > INT64_MAX:
        key = "stats.logicalTransferRateBps" if name.endswith("_bps") else _KEYS[name]
        raise InvalidRunTask(None, key, total, "the run's total is beyond int64 (2**63-1)")
    return total


def _stats(i: int, stats: Any) -> Any:
    """A task's stats: a ``CopyRunStats``, an object with its attributes, or its wire object
    (read, so a plain dict is never silently ignored)."""
    if isinstance(stats, Mapping):
        try:
            return CopyRunStats.from_dictionary(stats)
        except InvalidRecord as exc:
            raise InvalidRunTask(i, f"stats.{exc.path}", exc.value, exc.reason) from None
    return stats


def _v1_document(task: Mapping[str, Any], lc: Lifecycle) -> Mapping[str, Any]:
    """A task's wire object in v1: a v2 name or code as its state; a v2 result document
    (``startTimeUsecs``, ``endTimeUsecs``, ``message`` beside the status, no v1 keys for them)
    read as that snapshot: its times as the task's, its message as the error where the
    state's error rule takes one (elsewhere it stays an unmodelled key)."""
    status = task.get("status")
    state = lc.canonical(status)
    if state is None or state == status:
        return task
    doc = {**task, "status": state}
    if lc.vocabulary(status) == "v2":
        takes_error = lc.state(state).error_rule != "forbidden"
        for v2_key, v1_key in _V2_RESULT_KEYS.items():
            if v2_key in doc and v1_key not in doc and (v1_key != "error" or takes_error):
                doc[v1_key] = doc.pop(v2_key)
    return doc


def _record(i: int, task: Any, reader: type[CopySnapshotTaskStatus]) -> Any:
    """The task as a record: wire objects are read, records with a ``status`` pass as they are."""
    if isinstance(task, Mapping):
        task = _v1_document(task, reader.lifecycle)
        try:
            return reader.from_dictionary(task)
        except InvalidRecord as exc:
            raise InvalidRunTask(i, exc.path, exc.value, exc.reason) from None
    if not hasattr(task, "status"):
        raise InvalidRunTask(
            i, "", task, "expected a CopySnapshotTaskStatus record or its wire object"
        )
    return task


def _count(i: int, owner: Any, name: str, key: str) -> int | None:
    """A non-negative integer attribute (None when unset); ``key`` is its wire path."""
    value = getattr(owner, name, None)
    if value is not None and (type(value) is not int or value < 0):
        raise InvalidRunTask(i, key, value, "expected a non-negative integer")
    return value


def _time(i: int, stats: Any, record: Any, name: str, fallback: str) -> tuple[int | None, str]:
    """A task's time from its stats, else from the record's own stamp: ``(value, wire path)``."""
    value = _count(i, stats, name, _KEYS[name])
    if value is not None:
        return value, _KEYS[name]
    return _count(i, record, fallback, _KEYS[fallback]), _KEYS[fallback]


def _status(lc: Lifecycle, plan: _Plan, counts: list[int], has_run: bool) -> str:
    """The run status from the number of tasks in each state (see the module docstring)."""
    present = [s for s in plan.rank if counts[lc.index[s]]]
    unfinished = [s for s in present if not lc.is_final(s)]
    klass = {s: plan.klass[lc.index[s]] for s in present}
    if not unfinished:
        return next(s for outcome in RUN_OUTCOME_ORDER for s in present if klass[s] == outcome)
    phase = next(p for p in RUN_PHASE_ORDER if any(klass[s] == p for s in unfinished))
    if phase == "active":
        if all(klass[s] == "active" for s in unfinished):
            return unfinished[0]
        return plan.running or unfinished[0]
    if phase == "queued" and has_run and plan.running is not None:
        return plan.running
    return next(s for s in unfinished if klass[s] == phase)
