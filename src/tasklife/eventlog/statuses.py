"""Statuses as read, mapped to state indices once per distinct value, and the vocabulary a
report speaks.

A status value is looked up by its exact value: the code ``1`` and the name ``"1"`` are two
different values (so a numeric code never turns into an unknown status because of what else
a chunk holds: issue 12, item 1). The vocabulary of the report is read from the set of
vocabularies of the accepted values, which no order of the lines changes (issue 12, item 22):
one vocabulary is spoken as is, several give ``mixed`` with the lifecycle's own (v1) names.

>>> from tasklife.lifecycle import COPY_TASK
>>> statuses = StatusMap(COPY_TASK, "auto")
>>> statuses.code(1), statuses.code("1"), statuses.code("Running")
(1, -1, 1)
>>> statuses.vocabulary()
'mixed'
"""

from __future__ import annotations

from typing import Final

from tasklife.eventlog.lines import Event
from tasklife.eventlog.report import Malformed
from tasklife.lifecycle import Lifecycle
from tasklife.validation.history import spoken_vocabulary
from tasklife.validation.rules import accept_status

__all__ = ["UNKNOWN_STATE", "StatusMap"]

UNKNOWN_STATE: Final = -1
"""The code of a status that names no state."""


class StatusMap:
    """Status value -> state index (or :data:`UNKNOWN_STATE` and the reason)."""

    def __init__(self, lifecycle: Lifecycle, accepted: str) -> None:
        self.lifecycle, self.accepted = lifecycle, accepted
        self.codes: dict[str | int, int] = {}
        """Every value looked up so far (read it directly in a hot loop; miss: :meth:`code`)."""
        self.reasons: dict[str | int, str] = {}
        self.seen: set[str | None] = set()

    def code(self, value: str | int) -> int:
        """The state index ``value`` names (remembered), or :data:`UNKNOWN_STATE`."""
        code = self.codes.get(value)
        if code is None:  # values are str or int, never bool: 1 and True cannot meet
            state, reason = accept_status(self.lifecycle, value, self.accepted)
            if state is None:
                code = UNKNOWN_STATE
                self.reasons[value] = reason or ""
            else:
                code = self.lifecycle.index[state]
                self.seen.add(self.lifecycle.vocabulary(value))
            self.codes[value] = code
        return code

    def state_of(self, file: str, line: int, got: Event | str) -> int | Malformed:
        """What a line the reference read (:func:`~tasklife.eventlog.lines.read_json_line`)
        holds for every engine: its event's state index, or the :class:`Malformed` it is:
        the reason it holds no event, or an ``unknown-status`` naming its task."""
        if isinstance(got, str):
            return Malformed(file, line, got)
        state = self.code(got.status)
        if state == UNKNOWN_STATE:
            reason = self.reasons[got.status]
            return Malformed(file, line, reason, "unknown-status", got.task)
        return state

    def vocabulary(self) -> str:
        """The vocabulary the report speaks (see the module docstring)."""
        return spoken_vocabulary(self.seen, self.accepted)

    def merge(self, other: StatusMap) -> None:
        """Add what ``other`` (of another part of the same log) saw."""
        for value, code in other.codes.items():
            self.codes.setdefault(value, code)
        self.reasons.update(other.reasons)
        self.seen |= other.seen
