"""Tracking: records driven through one shared ``transitions`` machine per lifecycle.

(Skeleton: interface under construction.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import attrs

from tasklife.lifecycle import COPY_TASK, Lifecycle

Clock = Callable[[], int]
"""A callable returning the time in epoch microseconds."""


@attrs.frozen
class JournalEntry:
    """One transition in a record's journal."""

    trigger: str
    source: str
    dest: str
    at_usecs: int


class Tracked:
    """Mixin for slotted attrs records whose ``status`` follows a lifecycle.

    A subclass is an ``@attrs.define(slots=True)`` class with the fields ``status``,
    ``error``, ``task_start_time_usecs``, ``task_end_time_usecs`` and the keyword-only
    non-wire fields ``clock: Clock | None = None`` and ``journal: list[JournalEntry] | None``.
    """

    __slots__ = ()
    lifecycle: ClassVar[Lifecycle] = COPY_TASK

    def fire(self, trigger: str, /, *, at_usecs: int | None = None, error: str | None = None) -> Any:
        raise NotImplementedError
