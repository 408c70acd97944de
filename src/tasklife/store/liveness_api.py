"""The store's liveness face: heartbeats, reaping, deadlines, retries, watching and waiting
(a part of :class:`~tasklife.store.Store`; the rules are in :mod:`tasklife.store.liveness`
and :mod:`tasklife.store.watching`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tasklife.errors import InvalidRecord, TaskLifeError, TaskNotFound
from tasklife.store.backend import Backend
from tasklife.store.lifecycles import LifecycleRegistry
from tasklife.store.liveness import (
    Reaped,
    heartbeat,
    heartbeat_many,
    reap_batch,
    retry,
    set_run_deadline,
)
from tasklife.store.records import INT64_MAX, check_text
from tasklife.store.transition import Fired, HistoryRow, TaskState
from tasklife.store.watching import DEFAULT_POLL_S, Watch, wait_for_events
from tasklife.tracking import Clock

__all__ = ["LivenessAPI", "check_usecs"]


def check_usecs(path: str, value: object) -> None:
    """A time in epoch microseconds a store can hold (None passes)."""
    if value is not None and (value.__class__ is not int or not 0 <= value <= INT64_MAX):
        raise InvalidRecord(path, value, "must be a non-negative integer (epoch microseconds)")


class LivenessAPI:
    """Heartbeats, reaping, deadlines, retries and watching, on any backend.

    >>> from tasklife.store import open_store
    >>> with open_store("sqlite://", clock=iter(range(0, 10**9, 10**6)).__next__) as store:
    ...     _ = store.add({"status": "kRunning"}, task_id="t")
    ...     expires = store.heartbeat("t", worker="w1", lease_usecs=1_500_000)
    ...     reaped = store.reap(now=expires)
    ...     reaped[0].result.dest, store.get("t").error[:30]
    ...     store.retry("t").dest, store.events()[-1]["attempt"]
    ('kFailure', "worker 'w1' stopped heartbeati")
    ('kAccepted', 2)
    """

    _backend: Backend
    _clock: Clock
    _lifecycle: LifecycleRegistry

    def _tell(self, history: Sequence[HistoryRow], applied: Sequence[TaskState]) -> None:
        raise NotImplementedError

    def events(self, *, after: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        raise NotImplementedError

    def heartbeat(
        self,
        task_id: str,
        *,
        worker: str,
        lease_usecs: int,
        at_usecs: int | None = None,
        attempt: int | None = None,
    ) -> int:
        """Record that ``worker`` holds ``task_id`` for ``lease_usecs`` more microseconds
        (from ``at_usecs``, else the store's clock); returns when the lease expires. Call it
        every third of the lease or so. Raises :class:`~tasklife.errors.LeaseLost` when the
        worker no longer holds the task (reaped, ended, held by another worker, or, given
        the ``attempt`` it works on, retried since): it should stop working on it."""
        check_usecs("at_usecs", at_usecs)
        with self._backend.transaction() as tx:
            now = self._clock() if at_usecs is None else at_usecs
            return heartbeat(tx, self._lifecycle, task_id, worker, lease_usecs, now, attempt)

    def heartbeat_many(
        self,
        task_ids: Sequence[str],
        *,
        worker: str,
        lease_usecs: int,
        at_usecs: int | None = None,
    ) -> list[int | TaskLifeError]:
        """:meth:`heartbeat` of every task a worker holds, in one transaction: per task its
        lease's expiry, or the error (``LeaseLost``, ``TaskNotFound``) that refused it."""
        check_usecs("at_usecs", at_usecs)
        with self._backend.transaction() as tx:
            now = self._clock() if at_usecs is None else at_usecs
            return heartbeat_many(tx, self._lifecycle, task_ids, worker, lease_usecs, now)

    def reap(self, *, now: int | None = None) -> list[Reaped]:
        """Fire the lifecycle's ``lost`` trigger at every task whose lease expired (by
        ``now``, else the store's clock), with an error naming the worker and its last
        heartbeat, and its ``deadline`` trigger at every task still in its initial state
        past its deadline. Atomic per batch of tasks; two reapers at once never fire twice
        at one task (see :mod:`tasklife.store.liveness`). What it did, per task."""
        check_usecs("now", now)
        done: list[Reaped] = []
        while True:
            with self._backend.transaction() as tx:
                at = self._clock() if now is None else now
                reaped, history, applied = reap_batch(tx, self._lifecycle, self._clock, at)
            if history:
                self._tell(history, applied)
            done += reaped
            if not reaped:
                return done

    def retry(self, task_id: str, *, at_usecs: int | None = None) -> Fired:
        """Start the next attempt of a task in a final state its lifecycle lets be retried
        (``[liveness] retry`` in its table): back to the initial state, stamps and error
        cleared, ``attempt`` + 1; earlier attempts stay in the history. Raises
        :class:`~tasklife.errors.RetryRefused` (nothing written) or ``TaskNotFound``."""
        check_usecs("at_usecs", at_usecs)
        with self._backend.transaction() as tx:
            now = self._clock() if at_usecs is None else at_usecs
            fired, _ = retry(tx, self._lifecycle, task_id, now)
        return fired

    def set_run_deadline(self, run_id: str, deadline_usecs: int | None) -> None:
        """The deadline of the tasks added to ``run_id`` from now on without one of their
        own (None: no default)."""
        check_text("run_id", run_id)
        check_usecs("deadline_usecs", deadline_usecs)
        with self._backend.transaction() as tx:
            set_run_deadline(tx, run_id, deadline_usecs)

    def last_cursor(self) -> int:
        """The cursor of the newest committed event (0 when there is none): watch from it
        to see only what happens from now on."""
        return self._backend.last_cursor()

    def watch(self, *, after: int = 0, poll_s: float = DEFAULT_POLL_S) -> Watch:
        """Committed events past cursor ``after`` as they commit, in commit order (an
        iterator that does not end; see :class:`~tasklife.store.watching.Watch`). SQLite
        reads every ``poll_s`` seconds; PostgreSQL wakes up on each commit."""
        return Watch(
            lambda cursor, limit: self.events(after=cursor, limit=limit),
            self._backend.waker,
            after,
            poll_s,
        )

    def wait_for(
        self,
        task_id: str,
        *,
        final: bool = False,
        status: str | None = None,
        timeout: float | None = None,
        poll_s: float = DEFAULT_POLL_S,
    ) -> str:
        """Wait until ``task_id`` is in a final state (``final=True``) or in ``status``;
        returns the status. :class:`~tasklife.errors.WaitTimeout` after ``timeout``
        seconds. Built on :meth:`watch`."""
        if final == (status is not None):
            raise TypeError("wait_for takes final=True or status=..., one of them")
        after = self.last_cursor()
        row = self._backend.task_row(task_id)
        if row is None:
            raise TaskNotFound(task_id)
        lc = self._lifecycle(row[0])

        def reached(now: str) -> bool:
            return lc.is_final(now) if final else now == status

        if reached(row[1]):
            return str(row[1])
        awaited = "a final state" if final else repr(status)
        with self.watch(after=after, poll_s=poll_s) as watch:
            event = wait_for_events(
                watch,
                lambda e: e["taskId"] == task_id and reached(e["status"]),
                timeout,
                awaited,
                lambda: str((self._backend.task_row(task_id) or ("?", "?"))[1]),
            )
        return str(event["status"])
