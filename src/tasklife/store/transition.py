"""Firing triggers at stored tasks: the one function that applies transitions in a transaction.

Theory of operation
-------------------
Every change a store makes to a task goes through :func:`apply_fires`, inside one write
transaction of a backend (:class:`Tx`), set-wise: one read for all the tasks of a call, one
decision per fire in plain Python, one batch of writes.

1. **read, exclusively**: the rows of the tasks named (``Tx.read_states``). Nobody else can
   change them until the commit. SQLite: the transaction began with ``BEGIN IMMEDIATE``, which
   takes the database's single write lock before reading. PostgreSQL: transaction-scoped
   advisory locks on the task ids, in a fixed order (no deadlocks), then the rows, in one
   round trip (``tasklife_lock_read``, or for one task its two plain statements): the locks
   come before the transaction writes anything
   (see :mod:`tasklife.store.postgres` for why). A SQLite store may instead answer a single
   task from the row it last committed or read (:mod:`tasklife.store.sqlite`): such a row is
   only a guess, checked by step 4's compare-and-set;
2. **idempotency keys**: a fire whose ``(task, key)`` already produced a history row
   returns that row's result and changes nothing (``Tx.read_keys``; read after step 1, so of
   two fires racing with one key, the second sees the first's row);
3. **decide, with the tracker's own rules**: :func:`~tasklife.tracking.moves.check_move`
   (the trigger is legal from the stored status; ``error`` exactly into failure states; a
   valid time) and :func:`~tasklife.tracking.moves.apply_move` (status, the start stamp on
   the first entry into an ``active`` state, the end stamp on entry into a final state,
   ``error``) on a :class:`TaskState`, with the lifecycle's compiled
   :class:`~tasklife.tracking.moves.Tables`: the very functions an in-memory record moves
   by, so a stored task moves exactly as a record does, and a refused fire gets the
   tracker's own error. The store adds only what its columns need (a time within int64, an
   error without NUL). The time, unless given, is read from the store's clock here, once per
   transaction, under the lock, so a task's history never goes back in time between
   processes of one machine;
4. **write** (``Tx.write``): each changed task with a compare-and-set on the version and
   status read in step 1 (``UPDATE ... WHERE ref = ? AND version = ? AND status = ?``; every
   change of a task's row bumps its version, so a row with the version read is the row
   read), one history row per transition (``(task_ref, version)`` is unique, so a writer
   that bypassed the locks could not record the same step twice) and the new idempotency
   keys; each history row's position is its cursor. When step 1's row was a guess, a missed
   compare-and-set or a refusal sends the call back to step 1 for the row itself, still
   inside the transaction.

A refused trigger raises (``fire``) or becomes that item's result (``fire_many``) and writes
nothing; the backend commits, or rolls everything back on any database error. Only after the
commit do the lifecycle machines' listeners hear the transitions (:func:`tell_listeners`),
and only when somebody listens is a record built for them. Of conflicting triggers racing on
one task, from threads, processes or machines, step 1 serialises them: exactly one wins, the
others read its result and are refused by step 3.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, NamedTuple, Protocol

import attrs

from tasklife.errors import (
    InvalidRecord,
    InvalidTransition,
    StoreError,
    TaskLifeError,
    TaskNotFound,
)
from tasklife.lifecycle import Lifecycle
from tasklife.store.records import check_int64, check_text
from tasklife.tracking import Clock
from tasklife.tracking.moves import Tables, apply_move, check_move
from tasklife.tracking.outside import announce, announce_async, has_listeners

__all__ = [
    "CHANGED_BY_HAND",
    "HISTORY_COLUMNS",
    "STATE_COLUMNS",
    "Fire",
    "FireRow",
    "Fired",
    "HistoryRow",
    "StoredTask",
    "TaskState",
    "Tx",
    "apply_fires",
    "apply_one",
    "listening",
    "tables_for",
    "tell_listeners",
    "tell_listeners_async",
]

STATE_COLUMNS = (
    "ref, task_id, run_id, lifecycle_id, status, error, start_usecs, end_usecs, version, attempt"
)
"""The task columns :meth:`Tx.read_states` returns, in this order."""
HISTORY_COLUMNS = (
    "task_ref, version, attempt, trigger_name, source, dest, at_usecs, error, start_usecs, "
    "end_usecs"
)
"""The history columns of a :data:`HistoryRow`, in its order."""

HistoryRow = tuple[
    int, int, int, str | None, str | None, str, int, str | None, int | None, int | None
]
"""One history row in :data:`HISTORY_COLUMNS` order (a plain tuple: a thousand are built per
``fire_many``); ``trigger_name`` None: the task's creation."""


CHANGED_BY_HAND = "a task changed under its write lock (edited by hand?); rolled back"
"""Why a transaction failed whose compare-and-set missed though it read the task itself."""


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


FireRow = tuple[str, str, str | None, int | None, str | None]
"""A fire as :func:`apply_fires` takes it: a :class:`Fire` or a plain tuple of its fields."""


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


_tables: dict[Lifecycle, Tables] = {}
_lifecycles: tuple[Lifecycle, ...] = ()
"""The lifecycles of ``_tables``, replaced (never changed) as lifecycles are added: threads
read it without a lock."""


def tables_for(lc: Lifecycle) -> Tables:
    """The compiled :class:`~tasklife.tracking.moves.Tables` of ``lc`` (built once).

    >>> from tasklife import COPY_TASK
    >>> tables_for(COPY_TASK).table[("fail", "kRunning")]
    'kFailure'
    """
    global _lifecycles
    tables = _tables.get(lc)
    if tables is None:
        tables = _tables[lc] = Tables(lc)
        _lifecycles = (*_lifecycles, lc)
    return tables


class TaskState:
    """A task row being moved by one transaction (:data:`STATE_COLUMNS`, its lifecycle's
    tables, and the version and status it was read with). Its field names are a record's,
    so :func:`~tasklife.tracking.moves.apply_move` moves it as it moves a record."""

    __slots__ = (
        "attempt",
        "changed_usecs",
        "error",
        "lifecycle_id",
        "read_status",
        "read_version",
        "ref",
        "run_id",
        "status",
        "tables",
        "task_end_time_usecs",
        "task_id",
        "task_start_time_usecs",
        "version",
    )
    clock: ClassVar[None] = None
    journal: ClassVar[None] = None

    def __init__(self, row: Sequence[Any], tables: Tables) -> None:
        (self.ref, self.task_id, self.run_id, self.lifecycle_id, self.status, self.error,
         self.task_start_time_usecs, self.task_end_time_usecs, self.version,
         self.attempt) = row  # fmt: skip
        self.read_version: int = self.version
        self.read_status: str = self.status
        self.changed_usecs: int | None = None
        self.tables = tables

    def row(self) -> tuple[Any, ...]:
        """The task's row now, in :data:`STATE_COLUMNS` order."""
        return (self.ref, self.task_id, self.run_id, self.lifecycle_id, self.status,
                self.error, self.task_start_time_usecs, self.task_end_time_usecs,
                self.version, self.attempt)  # fmt: skip


class Tx(Protocol):
    """A backend's write transaction, as :func:`apply_fires` uses it."""

    def read_states(self, task_ids: Sequence[str], fresh: bool) -> tuple[list[Any], bool]:
        """The rows (:data:`STATE_COLUMNS`) of these tasks, which nobody else may change
        before the commit, and whether they are a guess (a row remembered, not read: only
        for one task, and when ``fresh`` is false)."""

    def read_keys(self, keys: Sequence[tuple[int, str]]) -> list[tuple[Any, ...]]:
        """``(task_ref, key, trigger, source, dest, at_usecs, error, cursor)`` of the keys
        ``(task_ref, key)`` that already fired."""

    def write(
        self,
        changed: Sequence[TaskState],
        history: Sequence[HistoryRow],
        keys: Sequence[tuple[int, str, int]],
    ) -> list[int] | None:
        """Write the tasks (compare-and-set on ``read_version`` and ``read_status``), the
        history rows and the keys ``(task_ref, key, version)``; each history row's cursor.
        When a task was not as read: None, having written nothing, for a single fire (whose
        row may have been a guess), else StoreError."""


Decided = tuple[list[Any], list[HistoryRow], list[TaskState], list[tuple[int, str, int]], bool]
"""Step 3's decisions for a call's fires (nothing written yet): a result per fire (a
:class:`Fired` of an earlier key, an error, or the index of its history row), the history
rows, the task of each, the new keys ``(task_ref, key, version)``, and whether any fire was
refused."""


def apply_fires(
    tx: Tx,
    fires: Sequence[FireRow],
    clock: Clock,
    lifecycle_of: Callable[[int], Lifecycle],
) -> tuple[list[Fired | TaskLifeError], list[HistoryRow], list[TaskState]]:
    """Apply ``fires`` (:class:`Fire` s or plain 5-tuples) in order inside ``tx``: a result
    per fire (a :class:`Fired` or the error that refused it), the history rows written and
    the task of each (for :func:`tell_listeners`). See the module docstring."""
    if len(fires) == 1:  # one fire: no sets, no key lookup without a key
        task_id, _, _, _, key = fires[0]
        ids, keyed = ([task_id] if task_id.__class__ is str else []), key is not None
    else:
        ids, keyed = list(dict.fromkeys(f[0] for f in fires if f[0].__class__ is str)), True
    rows, guessed = tx.read_states(ids, len(fires) != 1)  # only a single fire may guess
    now: list[int] = []  # the one clock reading of the transaction, once taken
    while True:
        tasks = _tasks(rows, lifecycle_of)
        done = _earlier_keys(tx, fires, tasks) if keyed else {}
        results, history, applied, keys, refused = _decide(fires, tasks, done, clock, now)
        if guessed and refused:  # refused by a remembered row: ask the database
            rows, guessed = tx.read_states(ids, True)
            continue
        changed = [t for t in tasks.values() if t.version != t.read_version]
        cursors = tx.write(changed, history, keys) if history else []
        if cursors is not None:
            break
        if not guessed:
            raise StoreError(CHANGED_BY_HAND)
        rows, guessed = tx.read_states(ids, True)
    for i, r in enumerate(results):
        if r.__class__ is int:
            _, _, _, trigger, source, dest, at, error, _, _ = history[r]
            # tuple.__new__: a NamedTuple's own __new__ is a Python call per result
            results[i] = _new(Fired, (applied[r].task_id, trigger, source, dest, at, error,
                                      cursors[r]))  # fmt: skip
    return results, history, applied


_new = tuple.__new__


def apply_one(
    tx: Tx,
    task_id: str,
    trigger: str,
    error: str | None,
    at: int | None,
    clock: Clock,
    lifecycle_of: Callable[[int], Lifecycle],
) -> tuple[Fired, HistoryRow, TaskState]:
    """:func:`apply_fires` of one fire without an idempotency key: the same steps and the
    same decision (:func:`_step`), without a batch's lists and dicts (this is every
    ``fire``). Raises the error that refused it."""
    ids = [task_id]
    rows, guessed = tx.read_states(ids, False)
    when = at
    while True:
        if not rows:
            raise TaskNotFound(task_id)
        row = rows[0]
        task = TaskState(row, tables_for(lifecycle_of(row[3])))
        if when is None:
            when = clock()  # once: a second try keeps the transaction's one reading
        source = task.status
        try:
            history = _step(task, trigger, error, when)
        except (InvalidTransition, InvalidRecord):
            if not guessed:
                raise
        else:
            cursors = tx.write((task,), (history,), ())
            if cursors is not None:
                fired = Fired(task_id, trigger, source, task.status, when, error, cursors[0])
                return fired, history, task
            if not guessed:
                raise StoreError(CHANGED_BY_HAND)
        rows, guessed = tx.read_states(ids, True)  # the remembered row was not the stored one


def _tasks(rows: list[Any], lifecycle_of: Callable[[int], Lifecycle]) -> dict[str, TaskState]:
    tasks: dict[str, TaskState] = {}
    by_id: dict[int, Tables] = {}
    for row in rows:
        tables = by_id.get(row[3])
        if tables is None:
            tables = by_id[row[3]] = tables_for(lifecycle_of(row[3]))
        tasks[row[1]] = TaskState(row, tables)
    return tasks


def _decide(
    fires: Sequence[FireRow],
    tasks: dict[str, TaskState],
    done: dict[tuple[str, str], Fired | int],
    clock: Clock,
    now: list[int],
) -> Decided:
    """Step 3 for every fire of a batch, in order."""
    results: list[Any] = []
    history: list[HistoryRow] = []
    applied: list[TaskState] = []
    keys: list[tuple[int, str, int]] = []
    refused = False
    for fire in fires:
        task_id, trigger, error, at, key = fire
        task = tasks.get(task_id)
        try:
            if key is not None:
                first = done.get((task_id, _key(key)))
                if first is not None:
                    results.append(_replayed(fire, first, history))
                    continue
            if task is None:
                raise TaskNotFound(task_id)
            if at is None:
                if not now:
                    now.append(clock())
                at = now[0]
            row = _step(task, trigger, error, at)
        except (InvalidTransition, InvalidRecord, TaskNotFound) as exc:
            results.append(exc)
            refused = True
            continue
        if key is not None:
            done[(task_id, key)] = len(history)
            keys.append((task.ref, key, task.version))
        results.append(len(history))
        history.append(row)
        applied.append(task)
    return results, history, applied, keys, refused


def _step(task: TaskState, trigger: str, error: str | None, at: Any) -> HistoryRow:
    """Step 3 for one fire: move ``task`` by ``trigger`` with the tracker's own
    :func:`~tasklife.tracking.moves.check_move` and ``apply_move`` and return its history
    row, or raise the tracker's own error."""
    tables = task.tables
    source, dest, at = check_move(task, tables, trigger, at, error)
    check_int64("at_usecs", at)
    check_text("error", error)
    apply_move(task, tables, source, dest, trigger, at, error)
    task.version = version = task.version + 1
    return (task.ref, version, task.attempt, trigger, source, dest, at, error,
            task.task_start_time_usecs, task.task_end_time_usecs)  # fmt: skip


def _earlier_keys(
    tx: Tx, fires: Sequence[FireRow], tasks: dict[str, TaskState]
) -> dict[tuple[str, str], Fired | int]:
    """The results of the keys already fired, by ``(task_id, key)``."""
    wanted = [(tasks[f[0]].ref, f[4]) for f in fires if f[4].__class__ is str and f[0] in tasks]
    if not wanted:
        return {}
    by_ref = {t.ref: t.task_id for t in tasks.values()}
    return {
        (by_ref[ref], key): Fired(by_ref[ref], *rest) for ref, key, *rest in tx.read_keys(wanted)
    }


def _key(key: object) -> str:
    if not isinstance(key, str) or not key:
        raise InvalidRecord("key", key, "an idempotency key is a non-empty string")
    return key


def _replayed(fire: FireRow, earlier: Fired | int, history: list[HistoryRow]) -> Fired | int:
    """The first result of a key, after checking it was fired with the same trigger."""
    trigger = earlier.trigger if isinstance(earlier, Fired) else history[earlier][3]
    if trigger != fire[1]:
        raise InvalidRecord("key", fire[4], f"already used for {trigger!r} on task {fire[0]!r}")
    return earlier


def listening() -> bool:
    """Whether anybody listens to a lifecycle a store has moved a task of (a look at a
    handful of machines, whatever the size of a batch)."""
    return any(has_listeners(lc) for lc in _lifecycles)


def _stored(row: HistoryRow, task: TaskState) -> tuple[StoredTask, tuple[str, str, str, int]]:
    """What listeners hear of one committed transition: the task and the change."""
    _, _, attempt, trigger, source, dest, at, error, start, end = row
    assert trigger is not None and source is not None
    lc = task.tables.lifecycle
    record = StoredTask(task.task_id, task.run_id, lc, dest, error, start, end, attempt)
    return record, (trigger, source, dest, at)


def tell_listeners(history: Sequence[HistoryRow], applied: Sequence[TaskState]) -> None:
    """The one place store transitions reach the listeners of their lifecycle's machine,
    after the commit: each hears ``(StoredTask, source, dest, trigger, at_usecs)``, under the
    rules of :mod:`tasklife.tracking.delivery` (errors raised after all listeners ran)."""
    for row, task in zip(history, applied, strict=True):
        lc = task.tables.lifecycle
        if has_listeners(lc):  # nobody listens: build no record
            record, change = _stored(row, task)
            announce(record, lc, change)


async def tell_listeners_async(history: Sequence[HistoryRow], applied: Sequence[TaskState]) -> None:
    """:func:`tell_listeners` for the asyncio face: coroutine listeners are awaited."""
    for row, task in zip(history, applied, strict=True):
        lc = task.tables.lifecycle
        if has_listeners(lc):
            record, change = _stored(row, task)
            await announce_async(record, lc, change)
