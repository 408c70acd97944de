"""The observed flow of many tasks through a lifecycle, counted from an event log for
:func:`~tasklife.diagrams.overlay.flow_overlay` to draw.

>>> flow = observed_flow({"a": ["kAccepted", "kRunning", "kSuccess"],
...                       "b": ["kAccepted", "kSuccess"]})
>>> flow.state_tasks["kSuccess"], flow.edge_tasks[("kAccepted", "kSuccess")], flow.illegal
(2, 1, frozenset({('kAccepted', 'kSuccess')}))
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from tasklife.eventlog.order import task_order
from tasklife.eventlog.reading import events_from_objects, read_events
from tasklife.eventlog.table import EventLog
from tasklife.lifecycle import Lifecycle, LifecycleSpec, get_lifecycle

__all__ = ["ObservedFlow", "observed_flow"]


@attrs.frozen
class ObservedFlow:
    """How many tasks reached each state and took each observed status change.

    ``illegal`` holds the observed pairs that are not one transition of the lifecycle.
    """

    tasks: int
    state_tasks: dict[str, int]
    edge_tasks: dict[tuple[str, str], int]
    illegal: frozenset[tuple[str, str]]


def observed_flow(
    events_or_paths: Any,
    *,
    lifecycle: LifecycleSpec = "copy-task",
    vocabulary: str = "auto",
) -> ObservedFlow:
    """Count the flow of many tasks through ``lifecycle`` (states by their own names).

    ``events_or_paths``: an event-log path or a list of them, an
    :class:`~tasklife.eventlog.table.EventLog`, an iterable of event dicts (``taskId``,
    ``status``, ``atUsecs``), or a mapping of task id to a sequence of statuses. Malformed
    events are left out.
    """
    lc = get_lifecycle(lifecycle)
    log = _as_log(events_or_paths, lc, vocabulary)
    table = log.table
    m = len(lc.state_names)
    order = task_order(table)
    s = (table.status if order is None else table.status[order]).astype(np.int64)
    t = (table.task if order is None else table.task[order]).astype(np.int64)
    state_keys = np.unique(t * m + s)
    per_state = np.bincount(state_keys % m, minlength=m)
    change = (t[1:] == t[:-1]) & (s[1:] != s[:-1])
    pair = s[:-1][change] * m + s[1:][change]
    edge_keys = np.unique(t[1:][change] * (m * m) + pair)
    per_edge = np.bincount(edge_keys % (m * m), minlength=m * m)
    names = lc.state_names
    edges = {(names[p // m], names[p % m]): int(c) for p, c in enumerate(per_edge.tolist()) if c}
    return ObservedFlow(
        tasks=len(np.unique(t)),
        state_tasks={name: int(c) for name, c in zip(names, per_state.tolist(), strict=True)},
        edge_tasks=edges,
        illegal=frozenset(e for e in edges if lc.trigger_between(*e) is None),
    )


def _as_log(source: Any, lc: Lifecycle, vocabulary: str) -> EventLog:
    if isinstance(source, EventLog):
        return source
    if isinstance(source, str | os.PathLike):
        return read_events([source], lifecycle=lc, vocabulary=vocabulary)
    if isinstance(source, Mapping):
        return events_from_objects(_histories(source), lifecycle=lc, vocabulary=vocabulary)
    items = list(source) if isinstance(source, Iterable) else [source]
    if items and all(isinstance(p, str | os.PathLike) for p in items):
        return read_events(items, lifecycle=lc, vocabulary=vocabulary)
    return events_from_objects(items, lifecycle=lc, vocabulary=vocabulary)


def _histories(histories: Mapping[Any, Sequence[Any]]) -> Iterable[dict[str, Any]]:
    for task, history in histories.items():
        for at, status in enumerate(history):
            yield {"taskId": task, "status": status, "atUsecs": at}
