"""The store's synchronous face: the same API on every backend (get one with ``open_store``)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, Final, cast

from tasklife.errors import (
    CorruptTask,
    InvalidRecord,
    TaskExists,
    TaskLifeError,
    TaskNotFound,
)
from tasklife.lifecycle import COPY_TASK, Lifecycle, get_lifecycle
from tasklife.models import CopySnapshotTaskStatus
from tasklife.rollup import RunRollUp
from tasklife.store.backend import Backend
from tasklife.store.lifecycles import LifecycleRegistry
from tasklife.store.liveness import run_deadline, set_deadlines
from tasklife.store.liveness_api import LivenessAPI, check_usecs
from tasklife.store.records import check_text, new_row, read_record
from tasklife.store.rollup import run_roll_up
from tasklife.store.transition import (
    Fire,
    Fired,
    FireRow,
    HistoryRow,
    StoredTask,
    TaskState,
    apply_fires,
    apply_one,
    listening,
    tell_listeners,
)
from tasklife.store.url import StoreURL
from tasklife.tracking import Clock, JournalEntry, Task, Tracked

__all__ = ["Store"]

ADD_BATCH: Final = 10_000
"""Tasks prepared and inserted at a time by ``add_many`` (all in one transaction): bounds
the memory of a bulk add, and is large enough that per-statement costs vanish. At most
65,536: a generated id numbers its task within the batch in four hex digits."""
PAGE: Final = 1_000
"""Tasks fetched per query while ``tasks()`` iterates."""

FireItem = Fire | tuple[str, str] | tuple[str, str, str | None]
"""An item of ``fire_many``: a :class:`Fire` or a tuple of its first fields,
``(task_id, trigger[, error])``."""
_FIRE_FIELDS: Final = len(Fire._fields)
_TASK_AND_TRIGGER: Final = 2
"""The length of the usual ``fire_many`` item, ``(task_id, trigger)``."""


class Store(LivenessAPI):
    """A durable task store: every process and thread that opens it sees one lifecycle per
    task, moved atomically. Open one with :func:`tasklife.store.open_store`; threads may
    share it, a forked child opens its own.

    >>> from tasklife.store import open_store
    >>> with open_store("sqlite://", clock=iter(range(10, 100, 10)).__next__) as store:
    ...     task_id = store.add({"status": "kAccepted"}, task_id="copy-1", run_id="run-1")
    ...     store.fire("copy-1", "start").dest
    ...     store.fire("copy-1", "fail", error="quota exceeded").dest
    ...     record = store.get("copy-1")
    ...     record.error, record.task_start_time_usecs, record.task_end_time_usecs
    ...     [e.trigger for e in store.history("copy-1")], store.roll_up("run-1").status
    'kRunning'
    'kFailure'
    ('quota exceeded', 20, 30)
    (['start', 'fail'], 'kFailure')
    """

    def __init__(self, backend: Backend, clock: Clock) -> None:
        self._backend = backend
        self._clock = clock
        self._lifecycle = LifecycleRegistry(backend.lifecycles)

    @property
    def url(self) -> StoreURL:
        """Where the store is (its repr hides the password)."""
        return self._backend.url

    def __repr__(self) -> str:
        return f"<Store {self.url.redacted!r} durability={self.url.durability}>"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every connection (the store's data stays where it is)."""
        self._backend.close()

    # -- adding ------------------------------------------------------------------------------

    def add(
        self,
        task: Any,
        *,
        task_id: str | None = None,
        run_id: str | None = None,
        lifecycle: str | Lifecycle | None = None,
        deadline_usecs: int | None = None,
    ) -> str:
        """Add one task (a record, its wire dict, an SDK object or a ``Task``); its id.

        ``task_id`` defaults to a new UUID; ``lifecycle`` to the record's own (copy-task for
        a dict). ``deadline_usecs`` (default: the run's, :meth:`set_run_deadline`): when
        ``reap`` fires the lifecycle's deadline trigger at the task if it is still in its
        initial state. A duplicate id raises :class:`~tasklife.errors.TaskExists`; a bad
        document :class:`~tasklife.errors.InvalidRecord`. Nothing is written unless all is
        well.
        """
        ids = None if task_id is None else [task_id]
        return self._add([task], ids, run_id, lifecycle, "", deadline_usecs)[0]

    def add_many(
        self,
        tasks: Iterable[Any],
        *,
        task_ids: Iterable[str] | None = None,
        run_id: str | None = None,
        lifecycle: str | Lifecycle | None = None,
        deadline_usecs: int | None = None,
    ) -> list[str]:
        """Add many tasks in one transaction (all or none); their ids, in order. Errors name
        the item: ``[3].stats.startTimeUsecs``. ``deadline_usecs``: as for :meth:`add`."""
        return self._add(tasks, task_ids, run_id, lifecycle, "[{}]", deadline_usecs)

    def _add(
        self,
        tasks: Iterable[Any],
        task_ids: Iterable[str] | None,
        run_id: str | None,
        lifecycle: str | Lifecycle | None,
        where: str,
        deadline_usecs: int | None,
    ) -> list[str]:
        given = None if lifecycle is None else get_lifecycle(lifecycle)
        check_usecs("deadline_usecs", deadline_usecs)
        if run_id is not None and (not isinstance(run_id, str) or not run_id):
            raise InvalidRecord("run_id", run_id, "a run id is a non-empty string")
        check_text("run_id", run_id)
        null = self._backend.null
        run = null if run_id is None else run_id
        ids_in = iter(task_ids) if task_ids is not None else None
        items = iter(tasks)
        added: list[str] = []
        seen: set[str] = set()
        new: dict[int, Lifecycle] = {}
        last_lc: Lifecycle | None = None
        lifecycle_id = 0
        with self._backend.transaction() as tx:
            deadline = deadline_usecs
            if deadline is None and run_id is not None:
                deadline = run_deadline(tx, run_id)
            while batch := list(islice(items, ADD_BATCH)):
                at = self._clock()
                refs = tx.new_refs(len(batch))
                ids = _new_ids(len(batch)) if ids_in is None else None
                rows: list[tuple[Any, ...]] = []
                documents: list[tuple[int, str]] = []
                for n, task in enumerate(batch):
                    i = len(added)
                    task_id = ids[n] if ids is not None else _task_id(ids_in, seen, where, i)
                    lc = given or (type(task).lifecycle if isinstance(task, Tracked) else COPY_TASK)
                    try:
                        document, row = new_row(task, lc, null)
                    except InvalidRecord as exc:
                        if not where:
                            raise
                        path = where.format(i) + ("." + exc.path if exc.path else "")
                        raise InvalidRecord(path, exc.value, exc.reason) from None
                    if lc is not last_lc:
                        last_lc, lifecycle_id = lc, self._lifecycle.id_in(tx, lc, new)
                    ref = refs[n]
                    rows.append((ref, task_id, run, lifecycle_id, *row))
                    if document is not None:
                        documents.append((ref, document))
                    added.append(task_id)
                tx.insert_tasks(rows, documents, at)
                if deadline is not None:
                    set_deadlines(tx, refs, deadline)
        self._lifecycle.committed(new)
        return added

    # -- reading -----------------------------------------------------------------------------

    def get(self, task_id: str) -> CopySnapshotTaskStatus | Task:
        """The task as a record: a ``CopySnapshotTaskStatus`` (bound to its lifecycle) whose
        ``to_dictionary()`` is the added document moved by its transitions, or a ``Task``.
        :class:`~tasklife.errors.TaskNotFound` for an unknown id."""
        row = self._backend.task_row(task_id)
        if row is None:
            raise TaskNotFound(task_id)
        lifecycle_id, *fields = row
        try:
            lc = self._lifecycle(lifecycle_id)
        except CorruptTask as exc:
            raise CorruptTask(task_id, exc.reason) from None
        return read_record(task_id, lc, *fields)

    def history(self, task_id: str, *, attempt: int | None = None) -> list[JournalEntry]:
        """The task's transitions, oldest first: of every attempt, or of ``attempt`` (its
        creation, and the start of each retry, are not transitions)."""
        rows = self._backend.history_rows(task_id)
        if not rows:
            raise TaskNotFound(task_id)
        return [
            JournalEntry(*row[:5])
            for row in rows
            if row[0] is not None and (attempt is None or row[5] == attempt)
        ]

    def events(self, *, after: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """Committed changes after cursor ``after``, in tasklife's event-log shape (what
        ``validate_log`` and ``tasklife validate`` read), each with its ``cursor``: pass the
        last one back as ``after`` to continue. A task's creation is an event too."""
        rows = self._backend.event_rows(after, limit if limit is not None else 2**62)
        return [_event(*row) for row in rows]

    def tasks(
        self,
        *,
        status: str | None = None,
        run_id: str | None = None,
        lifecycle: str | Lifecycle | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> Iterator[StoredTask]:
        """The tasks matching every filter given, by task id, after task id ``after``;
        fetched a page at a time, so a huge store streams."""
        where: dict[str, Any] = {}
        if status is not None:
            where["status"] = status
        if run_id is not None:
            where["run_id"] = run_id
        if lifecycle is not None:
            name = lifecycle if isinstance(lifecycle, str) else lifecycle.name
            if name not in self._lifecycle.ids:
                self._lifecycle.load()
            if name not in self._lifecycle.ids:
                return
            where["lifecycle_id"] = self._lifecycle.ids[name]
        left = limit if limit is not None else -1
        while left != 0:
            rows = self._backend.task_rows(where, after, PAGE if left < 0 else min(PAGE, left))
            for task_id, run, lifecycle_id, *fields in rows:
                yield StoredTask(task_id, run, self._lifecycle(lifecycle_id), *fields)
            if len(rows) < PAGE:
                return
            after = rows[-1][0]
            left = left - len(rows) if left > 0 else left

    def counts(self, run_id: str | None = None) -> dict[str, int]:
        """How many of a run's tasks (None: all tasks) are in each status, in table order."""
        counts: dict[str, int] = {}
        ordered = sorted(
            self._backend.count_rows(run_id),
            key=lambda r: (r[0], self._lifecycle(r[0]).index.get(r[1], -1)),
        )
        for _, status, n in ordered:
            counts[status] = counts.get(status, 0) + n
        return counts

    def roll_up(self, run_id: str) -> RunRollUp:
        """What :func:`tasklife.roll_up` gives on the run's tasks, added up by the database."""
        return run_roll_up(
            self._backend.run_groups(run_id),
            run_id,
            lifecycle_of=self._lifecycle,
            records=lambda: (self.get(t.task_id) for t in self.tasks(run_id=run_id)),
        )

    # -- firing ------------------------------------------------------------------------------

    def fire(
        self,
        task_id: str,
        trigger: str,
        *,
        at_usecs: int | None = None,
        error: str | None = None,
        key: str | None = None,
    ) -> Fired:
        """Fire ``trigger`` at a stored task, atomically (see :mod:`tasklife.store.transition`).

        Raises ``InvalidTransition`` (illegal from the stored status), ``InvalidRecord`` (an
        ``error`` where none belongs, or none where one must be) or ``TaskNotFound``, and
        then writes nothing. With ``key``, firing again returns the first result.
        """
        fired, history, applied = self._fire(task_id, trigger, error, at_usecs, key)
        if listening():
            self._tell(history, applied)
        return fired

    def fire_many(self, fires: Iterable[FireItem]) -> list[Fired | TaskLifeError]:
        """Apply many triggers, in order, in one transaction; per item its :class:`Fired`
        or the error that refused it (refused items write nothing, the others commit)."""
        # plain tuples, padded to all five fields: a Fire costs a Python call per item
        items: list[FireRow] = [
            cast(FireRow, f) if len(f) == _FIRE_FIELDS
            else (f[0], f[1], None, None, None) if len(f) == _TASK_AND_TRIGGER
            else Fire(*f)
            for f in fires
        ]  # fmt: skip
        if not items:
            return []
        results, history, applied = self._apply(items, raise_first=False)
        if applied and listening():
            self._tell(history, applied)
        return results

    def _fire(
        self, task_id: str, trigger: str, error: str | None, at: int | None, key: str | None
    ) -> tuple[Fired, Sequence[HistoryRow], Sequence[TaskState]]:
        """One fire (a key's goes the way of a batch: its earlier result is read too)."""
        if key is not None:
            results, history, applied = self._apply(
                ((task_id, trigger, error, at, key),), raise_first=True
            )
            return cast(Fired, results[0]), history, applied
        with self._backend.transaction() as tx:
            fired, row, task = apply_one(
                tx, task_id, trigger, error, at, self._clock, self._lifecycle
            )
        return fired, (row,), (task,)

    def _apply(
        self, fires: Sequence[FireRow], *, raise_first: bool
    ) -> tuple[list[Fired | TaskLifeError], list[HistoryRow], list[TaskState]]:
        with self._backend.transaction() as tx:
            done = apply_fires(tx, fires, self._clock, self._lifecycle)
            if raise_first and isinstance(done[0][0], TaskLifeError):
                raise done[0][0]
        return done

    def _tell(self, history: Sequence[HistoryRow], applied: Sequence[TaskState]) -> None:
        tell_listeners(history, applied)


def _new_ids(count: int) -> list[str]:
    """``count`` new task ids: the time first (as UUIDv7), so new ids sort after older ones
    and the task-id index grows at its end instead of at random pages; then 48 random bits
    drawn once per batch (unique across processes) and the place in the batch."""
    prefix = f"{time.time_ns():016x}{os.urandom(6).hex()}"
    return [prefix + place for place in _PLACES[:count]]


_PLACES: Final = [f"{n:04x}" for n in range(ADD_BATCH)]


def _task_id(ids: Iterator[str] | None, seen: set[str], where: str, i: int) -> str:
    assert ids is not None
    try:
        task_id = next(ids)
    except StopIteration:
        raise InvalidRecord("task_ids", None, "fewer task ids than tasks") from None
    if not isinstance(task_id, str) or not task_id:
        raise InvalidRecord(f"task_id{where.format(i)}", task_id, "a task id is a non-empty string")
    check_text(f"task_id{where.format(i)}", task_id)
    if task_id in seen:
        raise TaskExists(task_id)
    seen.add(task_id)
    return task_id


def _event(
    cursor: int,
    task_id: str,
    status: str,
    at: int,
    error: str | None,
    start: int | None,
    end: int | None,
    attempt: int,
) -> dict[str, Any]:
    event: dict[str, Any] = {"taskId": task_id, "status": status, "atUsecs": at}
    event["attempt"] = attempt
    if error is not None:
        event["error"] = error
    if start is not None:
        event["taskStartTimeUsecs"] = start
    if end is not None:
        event["taskEndTimeUsecs"] = end
    event["cursor"] = cursor
    return event
