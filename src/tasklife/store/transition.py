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
   call of ``tasklife_lock_read``: the locks come before the transaction writes anything
   (see :mod:`tasklife.store.postgres` for why). A SQLite store may instead answer a single
   task from the row it last committed or read (:mod:`tasklife.store.sqlite`): such a row is
   only a guess, checked by step 4's compare-and-set;
2. **idempotency keys**: a fire whose ``(task, key)`` already produced a history row
   returns that row's result and changes nothing (``Tx.read_keys``; read after step 1, so of
   two fires racing with one key, the second sees the first's row);
3. **decide, with the lifecycle table's rules** compiled per lifecycle into one dict lookup
   (:class:`Rules`): the trigger is legal from the stored status, ``error`` is a non-empty
   message exactly when the destination is a failure state, the time is a valid one; the
   start stamp is set on the first entry into an ``active`` state, the end stamp on entry
   into a final state, ``error`` to the fire's. These are the rules of the shared machine
   (:meth:`~tasklife.tracking.LifecycleMachine.check` and ``apply``), derived from the same
   table, so a stored task moves exactly as an in-memory record does (a differential test
   holds them together); a refused fire gets the machine's own error. The time, unless
   given, is read from the store's clock here, once per transaction, under the lock, so a
   task's history never goes back in time between processes of one machine;
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

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NamedTuple, Protocol

import attrs

from tasklife.errors import (
    InvalidRecord,
    InvalidTransition,
    StoreError,
    TaskLifeError,
    TaskNotFound,
)
from tasklife.lifecycle import Lifecycle
from tasklife.store.records import INT64_MAX, check_int64, check_text
from tasklife.tracking import Clock, LifecycleMachine, machine_for

__all__ = [
    "CHANGED_BY_HAND",
    "HISTORY_COLUMNS",
    "STATE_COLUMNS",
    "Fire",
    "FireRow",
    "Fired",
    "HistoryRow",
    "Rules",
    "StoredTask",
    "TaskState",
    "Tx",
    "apply_fires",
    "apply_one",
    "listening",
    "rules_for",
    "tell_listeners",
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


class Move(NamedTuple):
    """What one legal ``(trigger, source)`` does, from the lifecycle table."""

    dest: str
    needs_error: bool
    """The destination is a failure state: the fire must carry a non-empty error."""
    starts: bool
    """The destination is active: the start stamp is set, unless it already is."""
    ends: bool
    """The destination is final: the end stamp is set."""


@attrs.frozen
class Rules:
    """A lifecycle's table compiled for deciding fires: one dict lookup per fire.

    >>> from tasklife import COPY_TASK
    >>> rules_for(COPY_TASK).moves[("fail", "kRunning")]
    Move(dest='kFailure', needs_error=True, starts=False, ends=True)
    """

    lifecycle: Lifecycle
    machine: LifecycleMachine
    moves: dict[tuple[str, str], Move]


_rules: dict[Lifecycle, Rules] = {}
_machines: tuple[LifecycleMachine, ...] = ()
"""The machines of ``_rules``, replaced (never changed) as lifecycles are added: threads
read it without a lock."""


def rules_for(lc: Lifecycle) -> Rules:
    """The compiled :class:`Rules` of ``lc`` (built once per lifecycle)."""
    global _machines
    rules = _rules.get(lc)
    if rules is None:
        fails, starts, ends = lc.states_of("failure"), lc.states_of("active"), lc.final_states
        moves = {
            move: Move(dest, dest in fails, dest in starts, dest in ends)
            for move, dest in lc.table.items()
        }
        rules = _rules[lc] = Rules(lc, machine_for(lc), moves)
        _machines = (*_machines, rules.machine)
    return rules


class TaskState:
    """A task row being moved by one transaction (:data:`STATE_COLUMNS`, its rules, and the
    version and status it was read with)."""

    __slots__ = (
        "attempt",
        "end",
        "error",
        "lifecycle_id",
        "read_status",
        "read_version",
        "ref",
        "rules",
        "run_id",
        "start",
        "status",
        "task_id",
        "version",
    )

    def __init__(self, row: Sequence[Any], rules: Rules) -> None:
        (self.ref, self.task_id, self.run_id, self.lifecycle_id, self.status, self.error,
         self.start, self.end, self.version, self.attempt) = row  # fmt: skip
        self.read_version: int = self.version
        self.read_status: str = self.status
        self.rules = rules

    def row(self) -> tuple[Any, ...]:
        """The task's row now, in :data:`STATE_COLUMNS` order."""
        return (self.ref, self.task_id, self.run_id, self.lifecycle_id, self.status,
                self.error, self.start, self.end, self.version, self.attempt)  # fmt: skip


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
        task = TaskState(row, rules_for(lifecycle_of(row[3])))
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
    by_id: dict[int, Rules] = {}
    for row in rows:
        rules = by_id.get(row[3])
        if rules is None:
            rules = by_id[row[3]] = rules_for(lifecycle_of(row[3]))
        tasks[row[1]] = TaskState(row, rules)
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
    """Step 3 for one fire: move ``task`` by ``trigger`` and return its history row, or
    raise the shared machine's own error (the usual move costs one dict lookup and a few
    tests, no other call: this runs once per transition)."""
    move = task.rules.moves.get((trigger, task.status))
    if (
        move is None
        or at.__class__ is not int
        or not 0 <= at <= INT64_MAX
        or (
            (error.__class__ is not str or not error or "\x00" in error)
            if move.needs_error
            else error is not None
        )
    ):
        move = _checked(task, trigger, error, at)  # raises the machine's own error
    source = task.status
    task.status = dest = move.dest
    if move.starts and task.start is None:
        task.start = at
    if move.ends:
        task.end = at
    task.error = error
    task.version = version = task.version + 1
    return (task.ref, version, task.attempt, trigger, source, dest, at, error, task.start,
            task.end)  # fmt: skip


def _checked(task: TaskState, trigger: str, error: str | None, at: Any) -> Move:
    """The move of a fire the quick test did not pass: the shared machine's check raises
    its own error; what it lets through (an ``error`` of a str subclass) is still a move."""
    task.rules.machine.check(task.status, trigger, error, at)
    check_int64("at_usecs", at)
    check_text("error", error)
    return task.rules.moves[(trigger, task.status)]


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
    """Whether the machine of any lifecycle a store has moved a task of has a listener (a
    look at a handful of machines, whatever the size of a batch)."""
    return any(machine._listeners for machine in _machines)


def tell_listeners(history: Sequence[HistoryRow], applied: Sequence[TaskState]) -> list[Any]:
    """The one place store transitions reach the listeners of their lifecycle's machine,
    after the commit: each hears ``(StoredTask, source, dest, trigger, at_usecs)``. Returns
    the awaitables of coroutine listeners."""
    pending: list[Awaitable[None]] = []
    if not listening():
        return pending  # nobody listens: build no record
    for row, task in zip(history, applied, strict=True):
        _, _, attempt, trigger, source, dest, at, error, start, end = row
        assert trigger is not None and source is not None
        rules = task.rules
        record = StoredTask(task.task_id, task.run_id, rules.lifecycle, dest, error, start, end,
                            attempt)  # fmt: skip
        pending += rules.machine.notify(record, trigger, (source, dest, at))
    return pending


def run_detached(pending: list[Awaitable[None]]) -> None:
    """Coroutine listeners heard from sync code, as ``Tracked.fire`` runs them."""
    from tasklife.tracking import _run_detached

    _run_detached(pending)
