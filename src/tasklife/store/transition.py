"""Firing triggers at stored tasks: the one function that applies transitions in a transaction.

Theory of operation
-------------------
Every change a store makes to a task goes through :func:`apply_fires`, inside one write
transaction of a backend (:class:`Tx`), in four steps:

1. **read, exclusively**: the rows of the tasks named (``Tx.read_states``). Nobody else can
   change them until the commit. SQLite: the transaction began with ``BEGIN IMMEDIATE``, which
   takes the database's single write lock before reading. PostgreSQL: transaction-scoped
   advisory locks on the task ids, in a fixed order (no deadlocks), then the rows, in one
   call of ``tasklife_lock_read``: the locks come before the transaction writes anything
   (see :mod:`tasklife.store.postgres` for why);
2. **idempotency keys**: a fire whose ``(task_id, key)`` already produced a history row
   returns that row's result and changes nothing (``Tx.read_keys``; read after step 1, so of
   two fires racing with one key, the second sees the first's row);
3. **decide, in Python, with the tracker's own rules**: the shared machine's
   :func:`~tasklife.tracking.moves.check_move` (the trigger is legal from the stored
   status; ``error`` exactly into failure states; a valid time) and
   :func:`~tasklife.tracking.moves.apply_move` (status, the start stamp on the first
   entry into an ``active`` state, the end stamp on entry into a final state, ``error``) on a
   :class:`TaskState`, so a stored task moves exactly as an in-memory record does. The time,
   unless given, is read from the store's clock here, once per transaction, under the lock,
   so a task's history never goes back in time between processes of one machine;
4. **write** (``Tx.write``): each changed task with a compare-and-set on the version read in
   step 1 (``UPDATE ... WHERE task_id = ? AND version = ?``), one history row per transition
   (``(task_id, version)`` is unique, so a writer that bypassed the locks could not record the
   same step twice) and the new idempotency keys; each history row's position is its cursor.

A refused trigger raises (``fire``) or becomes that item's result (``fire_many``) and writes
nothing; the backend commits, or rolls everything back on any database error. Only after the
commit do the lifecycle machines' listeners hear the transitions (:func:`tell_listeners`).
Of conflicting triggers racing on one task, from threads, processes or machines, step 1
serialises them: exactly one wins, the others read its result and are refused by step 3.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, NamedTuple, Protocol

import attrs

from tasklife.errors import InvalidRecord, InvalidTransition, TaskLifeError, TaskNotFound
from tasklife.lifecycle import Lifecycle
from tasklife.store.records import check_int64, check_text
from tasklife.tracking import Clock, LifecycleMachine, machine_for
from tasklife.tracking.moves import apply_move, check_move
from tasklife.tracking.outside import announce, announce_async, has_listeners

__all__ = [
    "HISTORY_COLUMNS",
    "STATE_COLUMNS",
    "Applied",
    "Fire",
    "Fired",
    "HistoryRow",
    "StoredTask",
    "TaskState",
    "Tx",
    "apply_fires",
    "tell_listeners",
    "tell_listeners_async",
]

STATE_COLUMNS = (
    "task_id, run_id, lifecycle_id, status, error, start_usecs, end_usecs, version, attempt"
)
"""The task columns :meth:`Tx.read_states` returns, in this order."""
HISTORY_COLUMNS = (
    "task_id, version, attempt, trigger_name, source, dest, at_usecs, error, start_usecs, end_usecs"
)
"""The history columns of a :class:`HistoryRow`, in its order."""


class Fire(NamedTuple):
    """One trigger to fire at a stored task (an item of ``fire_many``); ``key`` is an
    idempotency key: firing again with it returns the first result.

    >>> Fire("copy-1", "fail", error="quota exceeded").error
    'quota exceeded'
    """

    task_id: str
    trigger: str
    error: str | None = None
    at_usecs: int | None = None
    key: str | None = None


class Fired(NamedTuple):
    """A committed transition of a stored task; ``cursor`` is its position in ``events()``."""

    task_id: str
    trigger: str
    source: str
    dest: str
    at_usecs: int
    error: str | None
    cursor: int


@attrs.frozen
class StoredTask:
    """A stored task's lifecycle fields (what ``tasks()`` yields and listeners receive)."""

    task_id: str
    run_id: str | None
    lifecycle: Lifecycle = attrs.field(repr=lambda lc: repr(lc.name))
    status: str
    error: str | None
    task_start_time_usecs: int | None
    task_end_time_usecs: int | None
    attempt: int = 1

    @property
    def is_final(self) -> bool:
        """Whether the status is a final state of the task's lifecycle."""
        return self.lifecycle.is_final(self.status)


@attrs.define(slots=True)
class TaskState:
    """A task row being moved: what the shared machine's ``apply`` updates in place."""

    task_id: str
    run_id: str | None
    lifecycle: Lifecycle
    status: str
    error: str | None
    task_start_time_usecs: int | None
    task_end_time_usecs: int | None
    version: int
    attempt: int
    machine: LifecycleMachine = attrs.field(repr=False)
    changed_usecs: int | None = attrs.field(default=None, repr=False)
    clock: ClassVar[None] = None
    journal: ClassVar[None] = None


class HistoryRow(NamedTuple):
    """One history row, in :data:`HISTORY_COLUMNS` order (``trigger`` None: the task's
    creation)."""

    task_id: str
    version: int
    attempt: int
    trigger: str | None
    source: str | None
    dest: str
    at_usecs: int
    error: str | None
    start_usecs: int | None
    end_usecs: int | None


Applied = tuple[HistoryRow, TaskState]
"""A committed transition and its task (for the listeners)."""


class Tx(Protocol):
    """A backend's write transaction, as :func:`apply_fires` uses it."""

    def read_states(self, task_ids: Sequence[str]) -> list[tuple[Any, ...]]:
        """The rows (:data:`STATE_COLUMNS`) of these tasks, which nobody else may change
        before the commit."""

    def read_keys(self, keys: Sequence[tuple[str, str]]) -> list[tuple[Any, ...]]:
        """``(task_id, key, trigger, source, dest, at_usecs, error, cursor)`` of the keys
        that already fired."""

    def write(
        self,
        changed: Sequence[tuple[TaskState, int]],
        history: Sequence[HistoryRow],
        keys: Sequence[tuple[str, str, int]],
    ) -> list[int]:
        """Write the tasks (compare-and-set on the version read), the history rows and the
        keys ``(task_id, key, version)``; return each history row's cursor."""


def apply_fires(
    tx: Tx,
    fires: Sequence[Fire],
    clock: Clock,
    lifecycle_of: Callable[[int], Lifecycle],
) -> tuple[list[Fired | TaskLifeError], list[Applied]]:
    """Apply ``fires`` in order inside ``tx``: a result per fire (a :class:`Fired` or the
    error that refused it) and what was applied. See the module docstring."""
    ids = list({f.task_id: None for f in fires if f.task_id.__class__ is str})
    states: dict[str, TaskState] = {}
    machines: dict[int, tuple[Lifecycle, LifecycleMachine]] = {}
    for row in tx.read_states(ids):
        lc, machine = machines.get(row[2]) or machines.setdefault(
            row[2], _machine(lifecycle_of, row[2])
        )
        task_id, run_id, _, status, error, start, end, version, attempt = row
        states[task_id] = TaskState(
            task_id, run_id, lc, status, error, start, end, version, attempt, machine
        )
    wanted = [(f.task_id, f.key) for f in fires if isinstance(f.key, str) and f.task_id in states]
    earlier = tx.read_keys(wanted) if wanted else []
    done: dict[tuple[str, str], Fired | int] = {
        (row[0], row[1]): Fired(row[0], *row[2:]) for row in earlier
    }
    read_versions = {task_id: state.version for task_id, state in states.items()}
    results: list[Fired | TaskLifeError | int] = []
    history: list[HistoryRow] = []
    keys: list[tuple[str, str, int]] = []
    now = None  # one reading of the clock for the whole transaction
    for fire in fires:
        try:
            if fire.key is not None:
                first = done.get((fire.task_id, _key(fire.key)))
                if first is not None:
                    results.append(_replayed(fire, first, history))
                    continue
            state = states.get(fire.task_id)
            if state is None:
                raise TaskNotFound(fire.task_id)
            at = fire.at_usecs
            if at is None:
                at = now = clock() if now is None else now
            row = _move(state, fire.trigger, at, fire.error)
        except (InvalidTransition, InvalidRecord, TaskNotFound) as exc:
            results.append(exc)
            continue
        results.append(len(history))
        if fire.key is not None:
            done[(fire.task_id, fire.key)] = len(history)
            keys.append((fire.task_id, fire.key, row.version))
        history.append(row)
    changed = [(states[t], v) for t, v in read_versions.items() if states[t].version != v]
    cursors = tx.write(changed, history, keys) if history else []
    out = [r if not isinstance(r, int) else _fired(history[r], cursors[r]) for r in results]
    return out, [(row, states[row.task_id]) for row in history]


def _move(state: TaskState, trigger: str, at: int, error: str | None) -> HistoryRow:
    """Move ``state`` by ``trigger`` with the tracker's own rules; its history row."""
    tables = state.machine.tables
    source, dest, at = check_move(state, tables, trigger, at, error)
    check_int64("at_usecs", at)
    check_text("error", error)
    apply_move(state, tables, source, dest, trigger, at, error)
    state.version += 1
    return HistoryRow(
        state.task_id,
        state.version,
        state.attempt,
        trigger,
        source,
        dest,
        at,
        state.error,
        state.task_start_time_usecs,
        state.task_end_time_usecs,
    )


def _machine(
    lifecycle_of: Callable[[int], Lifecycle], lifecycle_id: int
) -> tuple[Lifecycle, LifecycleMachine]:
    lc = lifecycle_of(lifecycle_id)
    return lc, machine_for(lc)


def _key(key: object) -> str:
    if not isinstance(key, str) or not key:
        raise InvalidRecord("key", key, "an idempotency key is a non-empty string")
    return key


def _replayed(fire: Fire, earlier: Fired | int, history: list[HistoryRow]) -> Fired | int:
    """The first result of a key, after checking it was fired with the same trigger."""
    trigger = earlier.trigger if isinstance(earlier, Fired) else history[earlier].trigger
    if trigger != fire.trigger:
        raise InvalidRecord(
            "key", fire.key, f"already used for {trigger!r} on task {fire.task_id!r}"
        )
    return earlier


def _fired(row: HistoryRow, cursor: int) -> Fired:
    assert row.trigger is not None and row.source is not None
    return Fired(row.task_id, row.trigger, row.source, row.dest, row.at_usecs, row.error, cursor)


def _stored(row: HistoryRow, state: TaskState) -> tuple[StoredTask, tuple[str, str, str, int]]:
    """What listeners hear of one committed transition: the task and the change."""
    record = StoredTask(
        row.task_id,
        state.run_id,
        state.lifecycle,
        row.dest,
        row.error,
        row.start_usecs,
        row.end_usecs,
        row.attempt,
    )
    assert row.trigger is not None and row.source is not None
    return record, (row.trigger, row.source, row.dest, row.at_usecs)


def tell_listeners(applied: Sequence[Applied]) -> None:
    """The one place store transitions reach the listeners of their lifecycle's machine,
    after the commit: each hears ``(StoredTask, source, dest, trigger, at_usecs)``, under the
    rules of :mod:`tasklife.tracking.delivery` (errors raised after all listeners ran)."""
    for row, state in applied:
        if has_listeners(state.lifecycle):  # nobody listens: build no record
            record, change = _stored(row, state)
            announce(record, state.lifecycle, change)


async def tell_listeners_async(applied: Sequence[Applied]) -> None:
    """:func:`tell_listeners` for the asyncio face: coroutine listeners are awaited."""
    for row, state in applied:
        if has_listeners(state.lifecycle):
            record, change = _stored(row, state)
            await announce_async(record, state.lifecycle, change)
