"""Transitions that happened outside a tracked record, told to a lifecycle's listeners.

A durable store (:mod:`tasklife.store`) moves tasks in a database transaction, not through a
:class:`~tasklife.tracking.records.Tracked` record. Once the transaction commits, each move
is announced here to the listeners of its lifecycle's machine (``machine_for(lc)
.add_listener``), under the rules of :mod:`tasklife.tracking.delivery`: in order per record,
every listener called, errors raised after all ran as one
:class:`~tasklife.errors.AfterTransitionError`, coroutine listeners on their own loop.

>>> from tasklife.tracking.machine import machine_for
>>> heard = []
>>> listener = machine_for("copy-task").add_listener(lambda *a: heard.append(a[1:]))
>>> announce(object(), "copy-task", ("start", "kAccepted", "kRunning", 5))
>>> heard
[('kAccepted', 'kRunning', 'start', 5)]
>>> machine_for("copy-task").remove_listener(listener)
"""

from __future__ import annotations

from typing import Any

from tasklife.lifecycle import LifecycleSpec
from tasklife.tracking.delivery import Delivery, enqueue
from tasklife.tracking.dispatch import deliver, deliver_async
from tasklife.tracking.locks import STRIPE_LOCKS, stripe
from tasklife.tracking.machine import machine_for

__all__ = ["announce", "announce_async", "has_listeners"]

Change = tuple[str, str, str, int]
"""``(trigger, source, dest, at_usecs)``."""


def has_listeners(lifecycle: LifecycleSpec) -> bool:
    """Whether anybody listens to ``lifecycle``'s machine (nothing to build otherwise)."""
    return bool(machine_for(lifecycle).listeners.registrations)


def _queued(record: Any, lifecycle: LifecycleSpec, change: Change, is_async: bool) -> Any:
    listeners = machine_for(lifecycle).listeners.registrations
    if not listeners:
        return None
    i = stripe(record)
    lock = STRIPE_LOCKS[i]
    with lock:
        d = Delivery(record, i, change, listeners, is_async=is_async)
        head = enqueue(d)
    return d, head


def announce(record: Any, lifecycle: LifecycleSpec, change: Change) -> None:
    """Tell ``lifecycle``'s listeners that ``record`` moved by ``change`` (sync callers)."""
    queued = _queued(record, lifecycle, change, is_async=False)
    if queued is not None:
        deliver(*queued)


async def announce_async(record: Any, lifecycle: LifecycleSpec, change: Change) -> None:
    """:func:`announce` for asyncio callers: coroutine listeners are awaited."""
    queued = _queued(record, lifecycle, change, is_async=True)
    if queued is not None:
        await deliver_async(*queued)
