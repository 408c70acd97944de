"""``store.roll_up(run)``: exactly :func:`tasklife.roll_up` of the run's tasks, added up by
the database instead of loading every task.

``roll_up`` folds its tasks with associative steps only: it counts statuses, looks at which
statuses are present and whether any task has run, takes the earliest start and the latest
end, sums byte counts, and and-s the incremental flags. So the database groups a run's tasks
by status and adds each group up (:meth:`~tasklife.store.backend.Backend.run_groups`), and
``roll_up`` itself is run on two representatives per group: one carrying the group's earliest
start, sums and flags (with stats when any task of the group has stats), one carrying its
latest end. Only the counts are the database's. A run with a task that ends before it starts
is rolled up from its records, for ``roll_up``'s own error naming that task.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import attrs

from tasklife.errors import InvalidRunTask
from tasklife.lifecycle import Lifecycle
from tasklife.models import CopyRunStats, CopySnapshotTaskStatus
from tasklife.rollup import RunRollUp, roll_up
from tasklife.tracking import Task

__all__ = ["run_roll_up"]


def run_roll_up(
    groups: list[tuple[Any, ...]],
    run_id: str,
    *,
    lifecycle_of: Callable[[int], Lifecycle],
    records: Callable[[], Iterable[Any]],
) -> RunRollUp:
    """The roll-up of run ``run_id`` from its per-status ``groups`` (see the module doc);
    ``lifecycle_of`` names a group's lifecycle, ``records`` loads the run's records (for the
    rare run that must be rolled up from them)."""
    if not groups:
        return roll_up([])  # raises roll_up's own error for an empty run
    lifecycles = {lifecycle_of(g[0]) for g in groups}
    if len(lifecycles) > 1:
        names = sorted(lc.name for lc in lifecycles)
        raise InvalidRunTask(None, "", names, f"run {run_id!r} mixes lifecycles")
    (lc,) = lifecycles
    if any(g[11] for g in groups):
        return roll_up(list(records()), lifecycle=lc)
    wire = CopySnapshotTaskStatus.for_lifecycle(lc)
    light = Task.for_lifecycle(lc)
    representatives: list[Any] = []
    counts = dict.fromkeys(lc.state_names, 0)
    for _, status, n, start, end, logical, size, physical, flags, all_flags, stats, _ in groups:
        counts[status] += n
        if stats:
            incremental = bool(all_flags) if flags else None
            sums = CopyRunStats(
                start_time_usecs=start,
                is_incremental=incremental,
                logical_bytes_transferred=_int(logical),
                logical_size_bytes=_int(size),
                physical_bytes_transferred=_int(physical),
            )
            representatives.append(wire(status=status, stats=sums))
        else:
            representatives.append(light(status, task_start_time_usecs=start))
        if end is not None:
            representatives.append(light(status, task_end_time_usecs=end))
    run = roll_up(representatives, lifecycle=lc)
    return attrs.evolve(run, counts=counts, task_count=sum(counts.values()))


def _int(value: Any) -> int | None:
    """A database sum (PostgreSQL's are decimals) as an integer."""
    return None if value is None else int(value)
