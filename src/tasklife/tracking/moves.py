"""One move of a record: checked, then applied in one step (the one place a record changes).

Every path that changes a record (the fast path of ``fire``, transitions' path, ``observe``)
checks a move with :func:`check_move` and applies it with :func:`apply_move`, under the
record's stripe lock. The lifecycle table compiled for that is :class:`Tables`.

The rules, all read from the lifecycle table: the trigger must be legal from the status
(a trigger that is not a name, or a status that is no state, is refused saying so); the
destination's error rule decides the error (``required``: a non-empty message;
``allowed``: one or none; ``forbidden``: none); the start stamp is set on the first entry into
an ``active`` state, the end stamp on entry into a final state; the time is ``at_usecs``, else
the record's clock, else the wall clock, and must be epoch microseconds (an int64 >= 0) no
earlier than the record's last transition (or, before its first, its start stamp), so that a
move never makes a record :func:`~tasklife.validate` rejects. A move journals first and
changes the record after, so a journal that refuses the entry leaves the record untouched.

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
from tasklife.tracking.invariants import INT64_MAX, check_stamp, check_text
from tasklife.tracking.journal import JournalEntry

__all__ = [
    "Tables",
    "apply_move",
    "check_error",
    "check_move",
    "floor_usecs",
    "journal_refused",
    "not_a_state",
    "now_usecs",
    "refuse",
    "too_early",
    "wall_clock_usecs",
]


def wall_clock_usecs() -> int:
    """The wall clock in epoch microseconds (the default clock)."""
    return time.time_ns() // 1000


class Tables:
    """What a move reads of one lifecycle: ``{(trigger, source): dest}`` and classes of states."""

    __slots__ = ("ends", "lifecycle", "needs_error", "starts", "table", "takes_error")

    def __init__(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle
        self.table = dict(lifecycle.table)
        self.starts = lifecycle.states_of("active")
        self.ends = lifecycle.final_states
        self.needs_error = lifecycle.states_with_error("required")
        self.takes_error = self.needs_error | lifecycle.states_with_error("allowed")


def refuse(record: Any, trigger: Any, source: Any, lifecycle: Lifecycle) -> InvalidTransition:
    """The error for a trigger that is not legal from ``source`` (the record is untouched):
    the allowed triggers, or why there are none to list."""
    reason = None
    if trigger.__class__ is not str:
        reason = f"a trigger is a name (a str), got {type(trigger).__name__}"
    elif not lifecycle.has_state(source):
        reason = not_a_state(source)
    allowed = lifecycle.triggers_from(source) if reason is None else ()
    return InvalidTransition(trigger, source, allowed, lifecycle.name, record=record, reason=reason)


def not_a_state(status: Any) -> str:
    """Why nothing moves a record whose status is no state of its lifecycle (set by hand)."""
    return (
        f"the record's status {status!r} is not a state of the lifecycle (set by hand?), "
        "so no trigger applies"
    )


def check_error(tables: Tables, trigger: str, dest: str, error: str | None) -> None:
    """The destination's error rule: required (a non-empty message), allowed (a non-empty
    message or none), forbidden (none)."""
    if error is None:
        if dest in tables.needs_error:
            raise InvalidRecord("error", error, f"{trigger!r} needs a non-empty error message")
        return
    if dest not in tables.takes_error:
        allowed = ", ".join(sorted(tables.takes_error)) or "no state"
        raise InvalidRecord(
            "error",
            error,
            f"error is only set on failure or where the lifecycle allows one ({allowed}), "
            f"not by {trigger!r} into {dest!r}",
        )
    check_text("error", error)
    if not error:
        raise InvalidRecord("error", error, f"{trigger!r} needs a non-empty error message")


def too_early(record: Any, at: int, last: int) -> InvalidRecord:
    """The error for a move at ``at``, before ``last``: the record's last transition, or (it
    has not moved yet) its start stamp."""
    what = "start (taskStartTimeUsecs)" if record.changed_usecs is None else "last transition"
    return InvalidRecord("at_usecs", at, f"before the record's {what} at {last}")


def journal_refused(record: Any, exc: Exception) -> InvalidRecord:
    """The error for a journal whose ``append`` failed (the record is left untouched)."""
    return InvalidRecord("journal", record.journal, f"cannot append the transition ({exc})")


def now_usecs(record: Any, at_usecs: int | None) -> int:
    """The time of a move now: ``at_usecs`` (checked), else the record's clock (its value
    checked), else the wall clock, held at the record's last transition if it stepped back."""
    if at_usecs is None:
        clock = record.clock
        if clock is None:
            now = time.time_ns() // 1000
            last = floor_usecs(record)
            return now if last is None or now >= last else last
        try:
            at_usecs = clock()
        except TypeError:
            if callable(clock):
                raise
            raise InvalidRecord("clock", clock, "a clock is a callable") from None
        where = "clock()"
    else:
        where = "at_usecs"
    if at_usecs.__class__ is not int or not 0 <= at_usecs <= INT64_MAX:
        raise InvalidRecord(where, at_usecs, "expected epoch microseconds: an integer 0 .. 2**63-1")
    return at_usecs


def floor_usecs(record: Any) -> int | None:
    """The earliest time a move of ``record`` may have: its last transition, else its start."""
    name = "changed_usecs"
    last: int | None = record.changed_usecs
    if last is None:
        name, last = "task_start_time_usecs", record.task_start_time_usecs
    if last is not None and last.__class__ is not int:  # set by hand, past the constructor
        check_stamp(name, last)
    return last


def check_move(
    record: Any, tables: Tables, trigger: str, at_usecs: int | None, error: str | None
) -> tuple[str, str, int]:
    """``(source, dest, at_usecs)`` of ``trigger`` from the record's status, or the error."""
    source = record.status
    try:
        dest = tables.table.get((trigger, source))
    except TypeError:  # an unhashable trigger
        dest = None
    if dest is None:
        raise refuse(record, trigger, source, tables.lifecycle)
    check_error(tables, trigger, dest, error)
    at = now_usecs(record, at_usecs)
    last = floor_usecs(record)
    if last is not None and at < last:
        raise too_early(record, at, last)
    return source, dest, at


def apply_move(
    record: Any, tables: Tables, source: str, dest: str, trigger: str, at: int, error: str | None
) -> None:
    """Journal, then status, stamps, error and the time of the change, in one step."""
    journal = record.journal
    if journal is not None:
        try:
            journal.append(JournalEntry(trigger, source, dest, at, error))
        except Exception as exc:  # not a list, or a list type that refuses: nothing changed
            raise journal_refused(record, exc) from None
    if dest in tables.starts and record.task_start_time_usecs is None:
        record.task_start_time_usecs = at
    if dest in tables.ends:
        record.task_end_time_usecs = at
    if record.error is not None or error is not None:
        record.error = error
    record.status = dest
    record.changed_usecs = at
