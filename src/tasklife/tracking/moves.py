"""One move of a record: checked, then applied in one step (the one place a record changes).

Every path that changes a record (the fast path of ``fire``, transitions' path, ``observe``)
checks a move with :func:`check_move` and applies it with :func:`apply_move`, under the
record's stripe lock. The lifecycle table compiled for that is :class:`Tables`.

The rules, all read from the lifecycle table: the trigger must be legal from the status; a
move into a ``failure`` state needs a non-empty ``error`` and no other move accepts one; the
start stamp is set on the first entry into an ``active`` state, the end stamp on entry into a
final state; the time is ``at_usecs``, else the record's clock, else the wall clock.

>>> from tasklife.lifecycle import COPY_TASK
>>> tables = Tables(COPY_TASK)
>>> tables.table["start", "kAccepted"], sorted(tables.ends)[:2]
('kRunning', ['kCanceled', 'kFailure'])
"""

from __future__ import annotations

import time
from typing import Any

from tasklife.errors import InvalidRecord, InvalidTransition
from tasklife.lifecycle import Lifecycle
from tasklife.tracking.journal import JournalEntry

__all__ = ["Tables", "apply_move", "check_move", "now_usecs", "refuse", "wall_clock_usecs"]


def wall_clock_usecs() -> int:
    """The wall clock in epoch microseconds (the default clock)."""
    return time.time_ns() // 1000


class Tables:
    """What a move reads of one lifecycle: ``{(trigger, source): dest}`` and classes of states."""

    __slots__ = ("ends", "fails", "lifecycle", "starts", "table")

    def __init__(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle
        self.table = dict(lifecycle.table)
        self.starts = lifecycle.states_of("active")
        self.ends = lifecycle.final_states
        self.fails = lifecycle.states_of("failure")


def refuse(record: Any, trigger: str, source: str, lifecycle: Lifecycle) -> InvalidTransition:
    """The error for a trigger that is not legal from ``source`` (the record is untouched)."""
    allowed = lifecycle.triggers_from(source)
    return InvalidTransition(trigger, source, allowed, lifecycle.name, record=record)


def check_error(tables: Tables, trigger: str, dest: str, error: str | None) -> None:
    """A move into a failure state needs a non-empty message; no other move takes one."""
    if dest in tables.fails:
        if not isinstance(error, str) or not error:
            raise InvalidRecord("error", error, f"{trigger!r} needs a non-empty error message")
    elif error is not None:
        raise InvalidRecord("error", error, f"error is only set on failure, not by {trigger!r}")


def now_usecs(record: Any, at_usecs: int | None) -> int:
    """``at_usecs`` checked, else the record's clock, else the wall clock."""
    if at_usecs is None:
        clock = record.clock
        return clock() if clock is not None else time.time_ns() // 1000
    if at_usecs.__class__ is not int or at_usecs < 0:
        raise InvalidRecord("at_usecs", at_usecs, "must be a non-negative integer")
    return at_usecs


def check_move(
    record: Any, tables: Tables, trigger: str, at_usecs: int | None, error: str | None
) -> tuple[str, str, int]:
    """``(source, dest, at_usecs)`` of ``trigger`` from the record's status, or the error."""
    source = record.status
    dest = tables.table.get((trigger, source))
    if dest is None:
        raise refuse(record, trigger, source, tables.lifecycle)
    check_error(tables, trigger, dest, error)
    return source, dest, now_usecs(record, at_usecs)


def apply_move(
    record: Any, tables: Tables, source: str, dest: str, trigger: str, at: int, error: str | None
) -> None:
    """Status, stamps, error, journal and the time of the change, in one step."""
    if dest in tables.starts and record.task_start_time_usecs is None:
        record.task_start_time_usecs = at
    if dest in tables.ends:
        record.task_end_time_usecs = at
    if record.error is not None or error is not None:
        record.error = error
    record.status = dest
    record.changed_usecs = at
    journal = record.journal
    if journal is not None:
        journal.append(JournalEntry(trigger, source, dest, at, error))
