"""What a database backend gives the store: write transactions and the reads both dialects
share (written once here with the dialect's placeholder); each backend adds its locking,
batched writes and events cursor (:mod:`tasklife.store.sqlite`, :mod:`tasklife.store.postgres`).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar

from tasklife.store.transition import Tx
from tasklife.store.url import StoreURL
from tasklife.store.watching import Waker

__all__ = ["LEASE_COLUMNS", "SHORT_TASK_COLUMNS", "TASK_COLUMNS", "Backend", "WriteTx"]

LEASE_COLUMNS = "l.worker, l.attempt, l.beat_usecs, l.expires_usecs, l.reaped_usecs"
"""A lease row as :meth:`WriteTx.read_leased` returns it (``l``: ``tasklife_leases``)."""

Rows = list[tuple[Any, ...]]

TASK_COLUMNS = (
    "ref, task_id, run_id, lifecycle_id, status, error, start_usecs, end_usecs, stats_present, "
    "stats_start_usecs, stats_end_usecs, logical_bytes, logical_size_bytes, physical_bytes, "
    "incremental"
)
"""The columns of the rows :meth:`WriteTx.insert_tasks` writes, in this order: the ref and
ids, then a :data:`~tasklife.store.records.NewRow` (a short one ends before the stats)."""
SHORT_TASK_COLUMNS = ", ".join(TASK_COLUMNS.split(", ")[:8])
"""The columns of a row without stats."""


class _Sleeper:
    def wait(self, timeout_s: float) -> None:
        time.sleep(timeout_s)

    def close(self) -> None:
        pass


class WriteTx(Tx, ABC):
    """A write transaction: :class:`~tasklife.store.transition.Tx` plus adding tasks, and
    plain statements for what :mod:`tasklife.store.liveness` writes."""

    placeholder: ClassVar[str]
    json_ints: ClassVar[str]
    """A subquery over the integers of one JSON array parameter (``x IN (...)``)."""

    @abstractmethod
    def read_leased(self, task_id: str) -> tuple[tuple[Any, ...] | None, tuple[Any, ...] | None]:
        """A task's row (:data:`~tasklife.store.transition.STATE_COLUMNS`, locked as
        ``read_states`` locks it) and its lease row (:data:`LEASE_COLUMNS`), either None
        when absent: what a heartbeat reads, in one round trip."""

    @abstractmethod
    def run(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        """Run one statement in this transaction (``{p}`` marks a parameter and ``{ints}``
        a JSON array of integers); its rows."""

    @abstractmethod
    def lifecycle_id(self, name: str, definition: str) -> tuple[int, str]:
        """The id of lifecycle ``name`` (stored with ``definition`` when new) and the
        definition stored under that name."""

    @abstractmethod
    def new_refs(self, count: int) -> Sequence[int]:
        """``count`` refs for new tasks, unused and increasing."""

    @abstractmethod
    def insert_tasks(
        self, tasks: Sequence[tuple[Any, ...]], documents: Sequence[tuple[int, str]], at: int
    ) -> None:
        """Insert tasks (:data:`TASK_COLUMNS`, version 0), their ``(ref, document)`` and
        their creation rows (at ``at``, in the order of ``tasks``); TaskExists naming the
        first id already stored."""


class Backend(ABC):
    """One store's database connections and the statements it runs."""

    dialect: ClassVar[str]
    placeholder: ClassVar[str]

    null: ClassVar[Any] = None
    """What stands for an absent value in the rows this backend's writes take."""

    def __init__(self, url: StoreURL) -> None:
        self.url = url

    @abstractmethod
    def transaction(self) -> AbstractContextManager[WriteTx]:
        """A write transaction: committed when the block ends, rolled back on an error."""

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any]) -> Rows:
        """Run one read statement (``{p}`` marks a parameter) on its own snapshot."""

    @abstractmethod
    def event_rows(self, after: int, limit: int) -> Rows:
        """``(cursor, task_id, dest, at_usecs, error, start_usecs, end_usecs, attempt)`` of
        committed history rows past ``after``, in cursor order."""

    @abstractmethod
    def close(self) -> None:
        """Close every connection."""

    def waker(self) -> Waker:
        """How a watch waits for the next commit: here, by sleeping (polling)."""
        return _Sleeper()

    def last_cursor(self) -> int:
        """The cursor of the newest event ``event_rows`` can return now (0: none)."""
        rows = self.event_rows(self._newest_before(), 1)
        return int(rows[-1][0]) if rows else 0

    @abstractmethod
    def _newest_before(self) -> int:
        """A cursor just before the newest committed history row (``event_rows`` from it
        returns that row, when visible)."""

    def _q(self, sql: str, *params: Any) -> Rows:
        return self.query(sql.format(p=self.placeholder), params)

    def lifecycles(self) -> Rows:
        return self._q("SELECT id, name, definition FROM tasklife_lifecycles")

    def task_row(self, task_id: str) -> tuple[Any, ...] | None:
        """``(lifecycle_id, status, error, start_usecs, end_usecs, document)``."""
        rows = self._q(
            "SELECT t.lifecycle_id, t.status, t.error, t.start_usecs, t.end_usecs, d.document "
            "FROM tasklife_tasks AS t LEFT JOIN tasklife_documents AS d "
            "ON d.task_ref = t.ref WHERE t.task_id = {p}",
            task_id,
        )
        return rows[0] if rows else None

    def history_rows(self, task_id: str) -> Rows:
        """``(trigger, source, dest, at_usecs, error, attempt)`` of every row of a task,
        creation first (``error`` is the task's error after the row: the message of a move
        into failure; ``trigger`` is None for its creation and the start of each retry)."""
        return self._q(
            "SELECT h.trigger_name, h.source, h.dest, h.at_usecs, h.error, h.attempt "
            "FROM tasklife_tasks AS t "
            "JOIN tasklife_history AS h ON h.task_ref = t.ref WHERE t.task_id = {p} "
            "ORDER BY h.version",
            task_id,
        )

    def task_rows(self, where: dict[str, Any], after: str | None, limit: int) -> Rows:
        """Tasks matching ``where`` (column: value), after task id ``after``, by task id."""
        terms = [f"{column} = {{p}}" for column in where]
        params = list(where.values())
        if after is not None:
            terms.append("task_id > {p}")
            params.append(after)
        condition = f"WHERE {' AND '.join(terms)} " if terms else ""
        return self._q(
            "SELECT task_id, run_id, lifecycle_id, status, error, start_usecs, end_usecs, "
            f"attempt FROM tasklife_tasks {condition}ORDER BY task_id LIMIT {{p}}",
            *params,
            limit,
        )

    def count_rows(self, run_id: str | None) -> Rows:
        """``(lifecycle_id, status, count)`` of a run's tasks (None: every task)."""
        condition = "WHERE run_id = {p} " if run_id is not None else ""
        params = (run_id,) if run_id is not None else ()
        return self._q(
            "SELECT lifecycle_id, status, count(*) FROM tasklife_tasks "
            f"{condition}GROUP BY lifecycle_id, status",
            *params,
        )

    def run_groups(self, run_id: str) -> Rows:
        """Per lifecycle and status of a run's tasks: ``(lifecycle_id, status, count, earliest
        start, latest end, logical bytes, logical size, physical bytes, incremental flags,
        all incremental, any stats, tasks ending before they start)``; a task's times are
        its stats' else its own stamps, as ``roll_up`` reads them."""
        start = "coalesce(stats_start_usecs, start_usecs)"
        end = "coalesce(stats_end_usecs, end_usecs)"
        return self._q(
            f"SELECT lifecycle_id, status, count(*), min({start}), max({end}), "
            "sum(logical_bytes), sum(logical_size_bytes), sum(physical_bytes), "
            "count(incremental), min(incremental), max(stats_present), "
            f"sum(CASE WHEN {end} < {start} THEN 1 ELSE 0 END) "
            "FROM tasklife_tasks WHERE run_id = {p} GROUP BY lifecycle_id, status",
            run_id,
        )
