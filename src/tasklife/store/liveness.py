"""Liveness of stored tasks: heartbeats and leases, deadlines, and retries as attempts.

Theory of operation
-------------------
A worker that holds a task says so with ``heartbeat(task_id, worker=, lease_usecs=)``: a row
of ``tasklife_leases`` naming the worker, the task's attempt, the heartbeat and when the
lease expires. ``reap()`` looks for the leases expired and not yet reaped, and for the
deadlines passed (``tasklife_tasks.deadline_usecs``), through two partial indexes that hold
only those rows, so a reap of a huge store reads only what it acts on. For each batch of
them, in one write transaction:

1. the tasks are locked and read as a fire locks and reads them (``Tx.read_states``: SQLite's
   single write lock; PostgreSQL's advisory locks, taken by heartbeats and fires too);
2. the leases and deadlines are read again, under those locks: a heartbeat that landed in
   between renewed the lease, a reaper that ran in between reaped it already; either way
   nothing is done for that task. So two reapers never fire twice at one task;
3. each task still expired gets its lifecycle's ``[liveness]`` trigger, fired through the
   same kernel as every fire (:func:`~tasklife.store.transition.apply_fires`): ``lost`` for
   an expired lease (with an error naming the worker and its last heartbeat when the trigger
   leads to a failure state), ``deadline`` for a task still in its initial state after its
   deadline. A lease is marked reaped (kept: a late heartbeat of its worker then raises
   :class:`~tasklife.errors.LeaseLost`); a passed deadline is cleared.

A heartbeat takes the task's lock too, so it is ordered with the reap: before it (the lease
is renewed and not reaped) or after it (``LeaseLost``). A heartbeat on a task that ended, on
one another worker holds, or (given the ``attempt`` the worker works on) on one retried
since, raises ``LeaseLost`` as well. A lease of an earlier attempt is replaced.

``retry(task_id)`` starts a new attempt of a task in a final state its lifecycle lets be
retried (``[liveness] retry``): status back to the initial state, stamps and error cleared,
``attempt`` + 1, and a history row that opens the attempt (no trigger, like a creation row:
``events()`` reports it with its ``attempt``). Earlier attempts stay in the history.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from typing import Any, Final, NamedTuple

import orjson

from tasklife.errors import InvalidRecord, LeaseLost, RetryRefused, TaskLifeError, TaskNotFound
from tasklife.lifecycle import Lifecycle
from tasklife.store.backend import LEASE_COLUMNS, WriteTx
from tasklife.store.records import check_int64, check_text
from tasklife.store.transition import (
    Fired,
    HistoryRow,
    TaskState,
    apply_fires,
    tables_for,
)
from tasklife.tracking import Clock

__all__ = ["REAP_BATCH", "Reaped", "heartbeat", "heartbeat_many", "reap_batch", "retry"]

REAP_BATCH: Final = 1_000
"""Tasks a reap handles per transaction: large enough that a transaction's cost is spread,
small enough that fires and heartbeats of other tasks never wait long for the lock."""

LifecycleOf = Callable[[int], Lifecycle]


class Reaped(NamedTuple):
    """What ``reap`` did to one task: the trigger fired (``lost`` or ``deadline``), why, and
    the committed transition (or the error that refused it)."""

    task_id: str
    trigger: str
    reason: str
    result: Fired | TaskLifeError


def _when(usecs: int) -> str:
    """Epoch microseconds as an ISO time (UTC), for messages."""
    moment = datetime.datetime.fromtimestamp(usecs / 1e6, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds")


def _check_name(worker: object) -> str:
    if not isinstance(worker, str) or not worker:
        raise InvalidRecord("worker", worker, "a worker is named by a non-empty string")
    check_text("worker", worker)
    return worker


_UPSERT_LEASE: Final = (
    "INSERT INTO tasklife_leases (task_ref, worker, attempt, beat_usecs, expires_usecs) "
    "VALUES ({p}, {p}, {p}, {p}, {p}) ON CONFLICT (task_ref) DO UPDATE SET "
    "worker = excluded.worker, attempt = excluded.attempt, beat_usecs = excluded.beat_usecs, "
    "expires_usecs = excluded.expires_usecs, reaped_usecs = NULL"
)


def _check_lease(worker: object, lease_usecs: object) -> None:
    _check_name(worker)
    if lease_usecs.__class__ is not int or lease_usecs <= 0:
        raise InvalidRecord("lease_usecs", lease_usecs, "must be a positive integer")


def _renew(
    tx: WriteTx,
    task: TaskState,
    held: Sequence[Any] | None,
    worker: str,
    lease_usecs: int,
    now: int,
    attempt: int | None,
) -> int:
    """Renew ``worker``'s lease of ``task`` (read under its lock, with its lease row
    ``held``): the new expiry, or :class:`~tasklife.errors.LeaseLost`."""
    task_id = task.task_id
    if held is not None:
        other, held_attempt, beat, expires, reaped = held
        same = held_attempt == task.attempt
        if same and reaped is not None and other == worker:
            why = f"its lease was reaped at {_when(reaped)} (last heartbeat {_when(beat)})"
            raise LeaseLost(task_id, worker, why)
        if same and reaped is None and other != worker and expires > now:
            raise LeaseLost(task_id, worker, f"worker {other!r} holds it until {_when(expires)}")
    if attempt is not None and attempt != task.attempt:
        raise LeaseLost(task_id, worker, f"the task is at attempt {task.attempt}, not {attempt}")
    if task.tables.lifecycle.is_final(task.status):
        raise LeaseLost(task_id, worker, f"the task ended ({task.status})")
    expires = check_int64("expires", now + lease_usecs) or 0
    tx.run(_UPSERT_LEASE, (task.ref, worker, task.attempt, now, expires))
    return expires


def heartbeat(
    tx: WriteTx,
    lifecycle_of: LifecycleOf,
    task_id: str,
    worker: str,
    lease_usecs: int,
    now: int,
    attempt: int | None = None,
) -> int:
    """Record that ``worker`` holds ``task_id`` until ``now + lease_usecs``; the expiry.
    :class:`~tasklife.errors.LeaseLost` when the worker lost it (see the module docstring)."""
    _check_lease(worker, lease_usecs)
    row, held = tx.read_leased(task_id)
    if row is None:
        raise TaskNotFound(task_id)
    task = TaskState(row, tables_for(lifecycle_of(row[3])))
    return _renew(tx, task, held, worker, lease_usecs, now, attempt)


def heartbeat_many(
    tx: WriteTx,
    lifecycle_of: LifecycleOf,
    task_ids: Sequence[str],
    worker: str,
    lease_usecs: int,
    now: int,
) -> list[int | TaskLifeError]:
    """:func:`heartbeat` of many tasks in one transaction (a worker holding many): per task
    its expiry, or the error (``LeaseLost``, ``TaskNotFound``) that refused it."""
    _check_lease(worker, lease_usecs)
    rows, _ = tx.read_states(sorted(set(task_ids)), True)
    tasks = {row[1]: TaskState(row, tables_for(lifecycle_of(row[3]))) for row in rows}
    refs = orjson.dumps(sorted(t.ref for t in tasks.values())).decode()
    held = {
        ref: lease
        for ref, *lease in tx.run(
            "SELECT l.task_ref, " + LEASE_COLUMNS + " FROM tasklife_leases AS l "
            "WHERE l.task_ref IN ({ints})",
            (refs,),
        )
    }
    results: list[int | TaskLifeError] = []
    for task_id in task_ids:
        task = tasks.get(task_id)
        try:
            if task is None:
                raise TaskNotFound(task_id)
            results.append(_renew(tx, task, held.get(task.ref), worker, lease_usecs, now, None))
        except (LeaseLost, TaskNotFound) as exc:
            results.append(exc)
    return results


def reap_batch(
    tx: WriteTx, lifecycle_of: LifecycleOf, clock: Clock, now: int
) -> tuple[list[Reaped], list[HistoryRow], list[TaskState]]:
    """One transaction of ``reap`` (at most :data:`REAP_BATCH` tasks): what it did, and the
    history rows and tasks of its transitions (for the listeners, after the commit)."""
    candidates = tx.run(
        "SELECT t.task_id FROM tasklife_leases AS l JOIN tasklife_tasks AS t ON t.ref = l.task_ref "
        "WHERE l.reaped_usecs IS NULL AND l.expires_usecs <= {p} "
        "UNION SELECT task_id FROM tasklife_tasks WHERE deadline_usecs <= {p} LIMIT {p}",
        (now, now, REAP_BATCH),
    )
    if not candidates:
        return [], [], []
    rows, _ = tx.read_states(sorted(r[0] for r in candidates), True)  # locked from here on
    tasks = {row[0]: TaskState(row, tables_for(lifecycle_of(row[3]))) for row in rows}
    refs = orjson.dumps(sorted(tasks)).decode()
    leases = tx.run(
        "SELECT task_ref, worker, attempt, beat_usecs FROM tasklife_leases WHERE task_ref IN "
        "({ints}) AND reaped_usecs IS NULL AND expires_usecs <= {p}",
        (refs, now),
    )
    deadlines = tx.run(
        "SELECT ref FROM tasklife_tasks WHERE ref IN ({ints}) AND deadline_usecs <= {p}",
        (refs, now),
    )
    fires: list[tuple[str, str, str | None, int, None]] = []
    reasons: list[tuple[str, str]] = []
    for (ref,) in deadlines:
        task = tasks[ref]
        lc = task.tables.lifecycle
        trigger = lc.liveness.deadline
        if trigger is not None and task.status == lc.initial:
            fires.append((task.task_id, trigger, None, now, None))
            reasons.append((trigger, f"still {task.status} at its deadline"))
    missed = {f[0] for f in fires}
    for ref, worker, attempt, beat in leases:
        task = tasks[ref]
        lc = task.tables.lifecycle
        trigger = lc.liveness.lost
        if trigger is None or task.task_id in missed or attempt != task.attempt:
            continue
        if lc.is_final(task.status) or lc.dest(trigger, task.status) is None:
            continue
        reason = f"worker {worker!r} stopped heartbeating: last heartbeat at {_when(beat)}"
        dest = lc.dest(trigger, task.status)
        error = reason if dest in task.tables.needs_error else None
        fires.append((task.task_id, trigger, error, now, None))
        reasons.append((trigger, reason))
    tx.run(
        "UPDATE tasklife_leases SET reaped_usecs = {p} WHERE task_ref IN ({ints}) "
        "AND reaped_usecs IS NULL AND expires_usecs <= {p}",
        (now, refs, now),
    )
    tx.run(
        "UPDATE tasklife_tasks SET deadline_usecs = NULL WHERE ref IN ({ints}) "
        "AND deadline_usecs <= {p}",
        (refs, now),
    )
    if not fires:
        return [], [], []
    results, history, applied = apply_fires(tx, fires, clock, lifecycle_of)
    done = [
        Reaped(fire[0], trigger, reason, result)
        for fire, (trigger, reason), result in zip(fires, reasons, results, strict=True)
    ]
    return done, history, applied


def retry(tx: WriteTx, lifecycle_of: LifecycleOf, task_id: str, now: int) -> tuple[Fired, int]:
    """Start the next attempt of ``task_id`` (see the module docstring): the transition
    (trigger ``retry``) and the new attempt's number. :class:`~tasklife.errors.RetryRefused`
    when its lifecycle does not let it be retried, or no retries are left."""
    rows, _ = tx.read_states([task_id], True)
    if not rows:
        raise TaskNotFound(task_id)
    task = TaskState(rows[0], tables_for(lifecycle_of(rows[0][3])))
    lc = task.tables.lifecycle
    allowed = lc.liveness.retries(task.status)
    if not allowed:
        retryable = ", ".join(state for state, _ in lc.liveness.retry) or "none"
        raise RetryRefused(
            task_id,
            f"lifecycle {lc.name!r} does not retry a task in {task.status} "
            f"(retryable final states: {retryable})",
        )
    if task.attempt > allowed:
        raise RetryRefused(
            task_id,
            f"no retries left: attempt {task.attempt} was the last ({task.status} is retried "
            f"at most {allowed} times)",
        )
    source = task.status
    task.status, task.error = lc.initial, None
    task.task_start_time_usecs = task.task_end_time_usecs = None
    task.version += 1
    task.attempt += 1
    row: HistoryRow = (task.ref, task.version, task.attempt, None, source, lc.initial, now,
                       None, None, None)  # fmt: skip
    cursors = tx.write([task], [row], [])
    if cursors is None:  # a fresh read under the lock cannot miss
        raise AssertionError("retry's compare-and-set missed a row read under the lock")
    tx.run(
        "UPDATE tasklife_tasks SET attempt = {p}, deadline_usecs = NULL WHERE ref = {p}",
        (task.attempt, task.ref),
    )
    return Fired(task_id, "retry", source, lc.initial, now, None, cursors[0]), task.attempt


def set_deadlines(tx: WriteTx, refs: Sequence[int], deadline_usecs: int) -> None:
    """Give the tasks ``refs`` (just added) a deadline."""
    tx.run(
        "UPDATE tasklife_tasks SET deadline_usecs = {p} WHERE ref IN ({ints})",
        (deadline_usecs, orjson.dumps(list(refs)).decode()),
    )


def run_deadline(tx: WriteTx, run_id: str) -> int | None:
    """The default deadline of the tasks added to ``run_id`` (None when it has none)."""
    rows: list[Any] = tx.run(
        "SELECT deadline_usecs FROM tasklife_runs WHERE run_id = {p}", (run_id,)
    )
    return rows[0][0] if rows else None


def set_run_deadline(tx: WriteTx, run_id: str, deadline_usecs: int | None) -> None:
    """Set (None: remove) the default deadline of the tasks added to ``run_id`` from now on."""
    tx.run(
        "INSERT INTO tasklife_runs (run_id, deadline_usecs) VALUES ({p}, {p}) "
        "ON CONFLICT (run_id) DO UPDATE SET deadline_usecs = excluded.deadline_usecs",
        (run_id, deadline_usecs),
    )
