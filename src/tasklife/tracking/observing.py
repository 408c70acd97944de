"""``observe()``: track what a poller sees, not only the triggers you fire.

Cohesity clients poll a task's status; orchestrators deliver events late or out of order.
:func:`observe` moves a record to an observed status by the shortest legal path (the path
``validate(mode="polling")`` explains the same change by), every step at the observation's
time, so the stamps are what that path implies; the path is journaled and delivered to
listeners step by step. An observation older than the record's last transition changes nothing
and says so. The whole path is applied under the record's stripe lock at once, so no other
trigger interleaves; with transitions callbacks attached it runs trigger by trigger through
them (the record claimed), and a condition that refuses a step stops the path there.
"""

from __future__ import annotations

from typing import Any

import attrs

from tasklife.errors import InvalidRecord, InvalidTransition
from tasklife.tracking.delivery import Delivery, enqueue
from tasklife.tracking.dispatch import deliver_steps
from tasklife.tracking.journal import explained_path
from tasklife.tracking.locks import STRIPE_LOCKS, claim, release, stripe
from tasklife.tracking.machine import LifecycleMachine
from tasklife.tracking.moves import (
    Tables,
    apply_move,
    check_error,
    floor_usecs,
    not_a_state,
    now_usecs,
)

__all__ = ["Observation", "observe"]


@attrs.frozen
class Observation:
    """What an observation did: the record's ``status`` after it and the triggers applied.

    ``ignored`` says why nothing changed when the observation was older than the record's last
    transition; ``stopped_by`` names the trigger a transitions condition refused (the path
    stops before it).
    """

    status: str
    path: tuple[str, ...] = ()
    ignored: str | None = None
    stopped_by: str | None = None


def _target(record: Any, status: str | int) -> str:
    lc = type(record).lifecycle
    target = lc.canonical(status)
    if target is None:
        raise InvalidRecord("status", status, lc.unknown_status_reason(status))
    return str(target)


def observe(record: Any, status: str | int, at_usecs: int | None, error: str | None) -> Observation:
    """Move ``record`` to the observed ``status`` (see :meth:`Tracked.observe`)."""
    target = _target(record, status)
    machine: LifecycleMachine = type(record)._machine
    tables = machine.fast
    if tables is None:
        return _observe_through_machine(machine, record, target, at_usecs, error)
    i = stripe(record)
    steps: list[tuple[Delivery, bool]] = []
    with STRIPE_LOCKS[i]:
        at, path, ignored = _plan(record, machine.tables, target, at_usecs, error)
        if ignored is not None or not path:
            return Observation(record.status, (), ignored)
        here = record.status
        listeners = type(record)._listeners
        for trigger in path:
            dest = tables.table[trigger, here]
            apply_move(record, tables, here, dest, trigger, at, error if dest == target else None)
            if listeners:
                d = Delivery(record, i, (trigger, here, dest, at), listeners, is_async=False)
                steps.append((d, enqueue(d)))
            here = dest
    deliver_steps(steps)
    return Observation(target, path)


def _plan(
    record: Any, tables: Tables, target: str, at_usecs: int | None, error: str | None
) -> tuple[int, tuple[str, ...], str | None]:
    """``(time, path, why ignored)`` of observing ``target`` now (under the stripe lock)."""
    lc = tables.lifecycle
    at = now_usecs(record, at_usecs)
    last = floor_usecs(record)
    if last is not None and at < last:
        what = "last transition" if record.changed_usecs is not None else "start"
        return at, (), f"observed at {at}, before the record's {what} at {last}"
    current = record.status
    if target == current:
        return at, (), None
    path = explained_path(lc, current, target) if lc.has_state(current) else None
    if path is None:
        allowed = lc.triggers_from(current)
        reason = None if lc.has_state(current) else not_a_state(current)
        raise InvalidTransition(
            None, current, allowed, lc.name, record=record, target=target, reason=reason
        )
    check_error(tables, path[-1], target, error)
    return at, path, None


def _observe_through_machine(
    machine: LifecycleMachine, record: Any, target: str, at_usecs: int | None, error: str | None
) -> Observation:
    steps: list[tuple[Delivery, bool]] = []
    known: list[Exception] = []
    applied: list[str] = []
    stopped = None
    key, i = claim(record)
    try:
        with STRIPE_LOCKS[i]:
            at, path, ignored = _plan(record, machine.tables, target, at_usecs, error)
        if ignored is not None or not path:
            return Observation(record.status, (), ignored)
        for trigger in path:
            last = len(applied) == len(path) - 1
            run, callback_error = machine.run(record, trigger, at, error if last else None, {})
            if not run.applied:
                stopped = trigger
                break
            applied.append(trigger)
            if callback_error is not None:
                known.append(callback_error)
            if run.delivery is not None:
                steps.append((run.delivery, run.head))
    finally:
        release(key, i)
    deliver_steps(steps, known)
    return Observation(record.status, tuple(applied), None, stopped)
