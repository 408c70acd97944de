"""The copy-task records' typed trigger methods, and :class:`Task`, the light record.

:class:`CopyTaskTriggers` writes the copy-task triggers out as typed methods (visible to
type checkers and IDEs, as Automat's inputs are); importing this module checks them against
the copy-task table. :class:`Task` is a tracked record with no wire format, for any
lifecycle through ``Task.for_lifecycle``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from tasklife.errors import InvalidRecord
from tasklife.lifecycle import COPY_TASK
from tasklife.tracking.invariants import ATTRIBUTE_NAMES, check_record, own_journal
from tasklife.tracking.journal import JournalEntry
from tasklife.tracking.records import Clock, Tracked
from tasklife.tracking.triggers import check_typed_triggers
from tasklife.wire.travel import LOCAL, Portable

__all__ = ["CopyTaskTriggers", "Task"]


class CopyTaskTriggers(Tracked):
    """The copy-task triggers as typed methods (checked against the copy-task table)."""

    __slots__ = ()
    _trigger_methods_: ClassVar[frozenset[str]] = frozenset(COPY_TASK.triggers)

    def start(self, *, at_usecs: int | None = None) -> bool:
        """kAccepted -> kRunning; stamps the start time."""
        return self.fire("start", at_usecs=at_usecs)

    def hold(self, *, at_usecs: int | None = None) -> bool:
        """kAccepted, kRunning -> kOnHold."""
        return self.fire("hold", at_usecs=at_usecs)

    def resume(self, *, at_usecs: int | None = None) -> bool:
        """kOnHold -> kRunning; the original start time is kept."""
        return self.fire("resume", at_usecs=at_usecs)

    def succeed(self, *, at_usecs: int | None = None) -> bool:
        """kRunning -> kSuccess; stamps the end time."""
        return self.fire("succeed", at_usecs=at_usecs)

    def warn(self, error: str | None = None, *, at_usecs: int | None = None) -> bool:
        """kRunning -> kWarning; stamps the end time; ``error``, when given, says why it
        warned (the table allows one on kWarning)."""
        return self.fire("warn", at_usecs=at_usecs, error=error)

    def fail(self, error: str, *, at_usecs: int | None = None) -> bool:
        """kAccepted, kRunning, kOnHold -> kFailure with a non-empty ``error``."""
        return self.fire("fail", at_usecs=at_usecs, error=error)

    def cancel(self, *, at_usecs: int | None = None) -> bool:
        """kAccepted, kRunning, kOnHold -> kCanceling."""
        return self.fire("cancel", at_usecs=at_usecs)

    def confirm_cancel(self, *, at_usecs: int | None = None) -> bool:
        """kCanceling -> kCanceled; stamps the end time."""
        return self.fire("confirm_cancel", at_usecs=at_usecs)

    def miss(self, *, at_usecs: int | None = None) -> bool:
        """kAccepted -> kMissed; stamps the end time."""
        return self.fire("miss", at_usecs=at_usecs)


check_typed_triggers(CopyTaskTriggers, COPY_TASK)


def _initial_status(record: Tracked) -> str:
    return type(record).lifecycle.initial


@attrs.define(slots=True, eq=False, weakref_slot=True)
class Task(CopyTaskTriggers, Portable):
    """A light tracked task with no wire format: any lifecycle, via ``for_lifecycle``.

    Compared by identity: two tasks are two tasks.

    >>> t = Task(clock=iter(range(10, 100, 10)).__next__)
    >>> t.start(); t.fail("disk full")
    True
    True
    >>> t.status, t.task_start_time_usecs, t.task_end_time_usecs, t.error
    ('kFailure', 10, 20, 'disk full')
    """

    status: Any = attrs.field(default=attrs.Factory(_initial_status, takes_self=True))
    error: str | None = None
    task_start_time_usecs: int | None = None
    task_end_time_usecs: int | None = None
    clock: Clock | None = attrs.field(
        default=None, kw_only=True, repr=False, metadata={LOCAL: True}
    )
    journal: list[JournalEntry] | None = attrs.field(default=None, kw_only=True, repr=False)
    changed_usecs: int | None = attrs.field(default=None, kw_only=True, repr=False)
    """When the record last moved (epoch microseconds; None before its first transition)."""

    def __attrs_post_init__(self) -> None:
        lifecycle = type(self).lifecycle
        state = lifecycle.canonical(self.status)  # a name, v2 name or code: the state's name
        if state is None:
            raise InvalidRecord("status", self.status, lifecycle.unknown_status_reason(self.status))
        self.status = state
        own_journal(self, ATTRIBUTE_NAMES)
        check_record(self)
