"""What validation reports: violations, the gaps polling mode explained, and the verdict on
one history. (An event log's verdict is :class:`tasklife.eventlog.LogReport`.)"""

from __future__ import annotations

from typing import Any, Final

import attrs

from tasklife.validation.kinds import KIND_NAMES

__all__ = ["Gap", "StatusName", "ValidationReport", "Violation"]

StatusName = str | int
"""A status as the input named it: a v1 or v2 name, or a numeric code."""


@attrs.frozen
class Violation:
    """One broken rule: at event ``index`` of a task's history, from ``source`` to ``dest``.

    ``source``/``dest`` are statuses in the vocabulary of the input (``source`` is None for a
    task's first event). ``path`` is the shortest trigger path between them when one exists.
    Event logs also set ``task``, the task id, and ``file``/``line`` where the event was read.

    >>> from tasklife.validation import validate
    >>> validate(["kRunning", "kAccepted"]).violations[0].message
    "kRunning -> kAccepted: no transition of 'copy-task' leads there"
    """

    index: int
    kind: str
    source: StatusName | None
    dest: Any
    message: str
    path: tuple[str, ...] | None = None
    task: str | int | None = None
    file: str | None = None
    line: int | None = None
    attempt: int | None = None
    """Event logs with attempts: the attempt (a run of the task) the event belongs to."""

    def to_dictionary(self) -> dict[str, Any]:
        """A JSON-ready dict (the shape of ``tasklife validate --format json``); ``attempt``
        only when the event has one.

        >>> Violation(0, "still-active", "kRunning", "kRunning", "...").to_dictionary()["dest"]
        'kRunning'
        """
        d = {name: getattr(self, name) for name in _VIOLATION_FIELDS}
        d["path"] = list(self.path) if self.path is not None else None
        if self.attempt is None:
            del d["attempt"]
        return d


_VIOLATION_FIELDS: Final = tuple(f.name for f in attrs.fields(Violation))


@attrs.frozen
class Gap:
    """A pair a poller saw, explained in ``polling`` mode by the trigger ``path``.

    >>> from tasklife.validation import validate
    >>> validate(["kAccepted", "kCanceled"], mode="polling").gaps[0].path
    ('cancel', 'confirm_cancel')
    """

    index: int
    source: StatusName
    dest: StatusName
    path: tuple[str, ...]


@attrs.frozen
class ValidationReport:
    """The verdict on one history: truthy when there are no violations.

    >>> from tasklife.validation import validate
    >>> bool(validate(["kAccepted", "kRunning", "kRunning", "kSuccess"]))
    True
    """

    violations: tuple[Violation, ...]
    gaps: tuple[Gap, ...]
    mode: str
    lifecycle: str
    vocabulary: str
    """The vocabulary the report speaks (the input's, when detected)."""
    events: int

    def __bool__(self) -> bool:
        return not self.violations

    @property
    def counts(self) -> dict[str, int]:
        """Number of violations per kind (only kinds that occur), in the order of
        :data:`~tasklife.validation.kinds.KINDS`.

        >>> from tasklife.validation import validate
        >>> validate(["kRunning", "kAccepted", "kSuccess"]).counts
        {'illegal-transition': 2}
        """
        counts = dict.fromkeys(KIND_NAMES, 0)
        for v in self.violations:
            counts[v.kind] += 1
        return {k: n for k, n in counts.items() if n}
