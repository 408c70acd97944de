"""The one table of violation kinds: each row a name, its place in the order, its message, how
the values its message names are recovered, and (for snapshot kinds) its rule.

:data:`KINDS` is in the order the violations of one event are reported; the reports of
:func:`~tasklife.validation.validate` and of event logs (:mod:`tasklife.eventlog`) sort by
it. The kinds come from four places:

* **statuses**: ``unknown-status`` (a value that names no state; an event log reports such a
  line as malformed instead);
* **pairs of statuses**: ``illegal-transition``, ``after-final``
  (:func:`~tasklife.validation.rules.transition_verdict` judges a pair, both for one history
  and for the vectorised table of every pair);
* **times**: ``time-went-backwards`` (one history only: an event log is ordered by time);
* **snapshots**: each kind with a :attr:`Kind.rule`, one expression over :class:`Facts` built
  of ``&`` and ``|``, so that the same rule judges one snapshot (Python booleans) and a whole
  log at once (numpy boolean arrays);
* **attempts**: ``attempts-interleaved`` (event logs whose events carry an ``attempt``: each
  ``(task, attempt)`` is a run of its own, and an event of an earlier attempt must not come
  after a later attempt began);
* **tasks**: ``still-active`` (a run's last status is not final, when that is asked for).

Adding a snapshot kind is one row here: both judges apply every rule of the table.

>>> [k.name for k in KINDS][:3]
['unknown-status', 'illegal-transition', 'after-final']
>>> print(KIND["start-time-changed"].describe(Said("kRunning", "kRunning", value=6, before=5)))
taskStartTimeUsecs changed from 5 to 6
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs

__all__ = ["KIND", "KINDS", "KIND_NAMES", "MISSING", "SNAPSHOT_KINDS", "Facts", "Kind", "Said"]

MISSING: Final = -(1 << 63)
"""An absent time stamp: the smallest int64, which no epoch-microsecond time can be (the
event tables' stamp columns are int64)."""


@attrs.frozen
class Facts:
    """What snapshots show, for the rules: each field a Python bool or int for one snapshot,
    or a numpy array with one entry per event for a whole log.

    ``start``/``end`` are this snapshot's stamps, ``prev_start``/``prev_end`` the last ones
    set earlier in the task (:data:`MISSING` when none). The booleans come in pairs
    (``has_start`` and ``no_start``, ...) so that every rule needs only ``&`` and ``|``.
    A rule about a field is judged only where the event carries that field's key: ``has_X``
    is "the key is there with a value", ``no_X`` "the key is there and null" (an empty error
    is no error); an absent key is no observation, so both are False (issue 12, item 2).
    """

    start: Any
    prev_start: Any
    end: Any
    prev_end: Any
    has_start: Any
    no_start: Any
    had_start: Any
    has_end: Any
    no_end: Any
    had_end: Any
    error: Any
    no_error: Any
    final: Any
    not_final: Any
    needs_start: Any
    """The state can only be reached through an active state, so the task has started."""
    error_required: Any
    """The lifecycle table says a record in this state has an error (``error = "required"``)."""
    error_forbidden: Any
    """The table says a record in this state has none (``error = "forbidden"``)."""


@attrs.frozen
class Said:
    """What a violation's message speaks of, in the input's vocabulary."""

    source: Any
    dest: Any
    lifecycle: str = ""
    mode: str = "strict"
    path: tuple[str, ...] | None = None
    value: int | None = None
    before: int | None = None
    reason: str = ""


@attrs.frozen
class Kind:
    """One row of the table (see the module docstring)."""

    name: str
    describe: Callable[[Said], str]
    """The message of a violation of this kind."""
    value: str | None = None
    """Which stamp the message calls the value: a key of the values an event has
    (``start``, ``end``, ``at``, or the earlier ``prev_start``, ``prev_end``, ``prev_at``)."""
    before: str | None = None
    """Which stamp the message compares it with (a key as for :attr:`value`)."""
    rule: Callable[[Facts], Any] | None = None
    """Snapshot kinds: where they occur, from :class:`Facts`."""

    def values(self, stamps: Mapping[str, int | None]) -> tuple[int | None, int | None]:
        """``(value, before)`` for the message, read from an event's ``stamps``; an absent
        stamp (:data:`MISSING`) is None."""
        value = stamps[self.value] if self.value else None
        before = stamps[self.before] if self.before else None
        return (None if value == MISSING else value), (None if before == MISSING else before)


def _illegal(s: Said) -> str:
    if s.path is None:
        return f"{s.source} -> {s.dest}: no transition of {s.lifecycle!r} leads there"
    return (
        f"{s.source} -> {s.dest} is not one transition; a poller would explain it by "
        f"{', '.join(s.path)} (mode polling)"
    )


def _start_missing(s: Said) -> str:
    if s.before is not None:
        return f"taskStartTimeUsecs was {s.before} and is now missing"
    return f"{s.dest} without taskStartTimeUsecs: the task must have started"


def _end_missing(s: Said) -> str:
    if s.before is not None:
        return f"taskEndTimeUsecs was {s.before} and is now missing"
    return f"{s.dest} without taskEndTimeUsecs although the task started"


KINDS: Final = (
    Kind("unknown-status", lambda s: s.reason),
    Kind("illegal-transition", _illegal),
    Kind("after-final", lambda s: f"{s.dest} after the final status {s.source}"),
    Kind(
        "time-went-backwards",
        lambda s: f"observed at {s.value} usecs, before the previous observation at {s.before}",
        value="at",
        before="prev_at",
    ),
    Kind(
        "start-time-missing",
        _start_missing,
        before="prev_start",
        rule=lambda f: f.no_start & (f.had_start | f.needs_start),
    ),
    Kind(
        "start-time-changed",
        lambda s: f"taskStartTimeUsecs changed from {s.before} to {s.value}",
        value="start",
        before="prev_start",
        rule=lambda f: f.has_start & f.had_start & (f.start != f.prev_start),
    ),
    Kind(
        "end-time-missing",
        _end_missing,
        before="prev_end",
        rule=lambda f: f.no_end & (f.had_end | (f.final & f.has_start)),
    ),
    Kind(
        "end-time-changed",
        lambda s: f"taskEndTimeUsecs changed from {s.before} to {s.value}",
        value="end",
        before="prev_end",
        rule=lambda f: f.has_end & f.had_end & (f.end != f.prev_end),
    ),
    Kind(
        "end-time-before-start",
        lambda s: f"taskEndTimeUsecs {s.value} is before taskStartTimeUsecs {s.before}",
        value="end",
        before="start",
        rule=lambda f: f.has_end & f.has_start & (f.end < f.start),
    ),
    Kind(
        "end-time-while-active",
        lambda s: f"taskEndTimeUsecs {s.value} set while {s.dest} is not final",
        value="end",
        rule=lambda f: f.has_end & f.not_final,
    ),
    Kind(
        "error-without-failure",
        lambda s: f"error set while {s.dest}: its lifecycle allows no error there",
        rule=lambda f: f.error & f.error_forbidden,
    ),
    Kind(
        "failure-without-error",
        lambda s: f"{s.dest} without an error: its lifecycle requires one",
        rule=lambda f: f.no_error & f.error_required,
    ),
    Kind(
        "attempts-interleaved",
        lambda s: f"attempt {s.value} observed after attempt {s.before} of the task began",
        value="attempt",
        before="prev_attempt",
    ),
    Kind(
        "still-active",
        lambda s: f"still active: the last status is {s.dest}, not a final one",
    ),
)
"""Every violation kind, in the order the violations of one event are reported."""

KIND_NAMES: Final = tuple(k.name for k in KINDS)
KIND: Final = {k.name: k for k in KINDS}
SNAPSHOT_KINDS: Final = tuple(k for k in KINDS if k.rule is not None)
"""The kinds judged by a rule over :class:`Facts`, in table order."""
