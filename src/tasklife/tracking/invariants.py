"""What a record may hold: the rules every way of making or moving one checks.

A record must never hold what the library's own :func:`~tasklife.validate` rejects of it,
nor what cannot be written back. The rules, each read from the lifecycle table, the wire
format or the validator's table of kinds:

* ``status`` is a state of the record's lifecycle (a wire record may have none: a document
  without a status);
* the stamps ``task_start_time_usecs``, ``task_end_time_usecs`` and ``changed_usecs`` are None
  or integers of epoch microseconds in ``[0, 2**63 - 1]`` (int64: what every store, event
  table and Cohesity SDK holds);
* ``error`` is None or text that can be written as JSON (no lone surrogate);
* the record, judged as one snapshot, breaks none of the snapshot rules of
  :data:`~tasklife.validation.kinds.KINDS`: an error only where the state's error rule allows
  one, an end time only in a final state and never before the start, and (a key the
  document *gave* as null: null is a missing value, an absent key no observation) no missing
  start time in a state reached only by running, no missing end time once a started task is
  final, no missing error where one is required;
* ``clock`` is None or a callable; ``journal`` is None or a list of
  :class:`~tasklife.tracking.JournalEntry`, which the record takes a copy of, so two records
  (``attrs.evolve``, ``copy.copy``) never share one.

:func:`check_record` applies them; the constructors call it (and so do ``attrs.evolve``,
which constructs, and ``from_dictionary``, which constructs with the document's nulls).
Moves keep them by construction (:mod:`tasklife.tracking.moves`): a move's time is checked
like a stamp, is never before the record's last transition or its start, and the error
follows the destination's rule. Setting a field by hand (``record.status = ...``) is not
checked when it happens: a check there would cost every trigger its speed (a Python
``__setattr__`` costs each of a trigger's three to five assignments about twenty times a
slot store); the next move refuses, naming the field, a status that is no state, a stamp
that is not an integer and a journal that cannot take the entry, and changes nothing. To
change a record checked, use ``attrs.evolve``.

>>> from tasklife.tracking import Task
>>> Task(status="kSuccess", task_start_time_usecs=9, task_end_time_usecs=5)
Traceback (most recent call last):
tasklife.errors.InvalidRecord: task_end_time_usecs: end-time-before-start: taskEndTimeUsecs 5 \
is before taskStartTimeUsecs 9 (got 5)
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from functools import cache
from typing import TYPE_CHECKING, Any, Final

from tasklife.errors import InvalidRecord
from tasklife.lifecycle import Lifecycle
from tasklife.tracking.journal import JournalEntry

if TYPE_CHECKING:
    from tasklife.validation.kinds import Kind

__all__ = [
    "ATTRIBUTE_NAMES",
    "INT64_MAX",
    "WIRE_KEYS",
    "check_record",
    "check_snapshot",
    "check_stamp",
    "check_text",
    "own_journal",
]

INT64_MAX: Final = (1 << 63) - 1
"""The largest time or count a record holds: int64, as stores, event tables and SDKs do."""
WIRE_KEYS: Final = {
    "status": "status",
    "error": "error",
    "task_start_time_usecs": "taskStartTimeUsecs",
    "task_end_time_usecs": "taskEndTimeUsecs",
    "changed_usecs": "changed_usecs",
    "clock": "clock",
    "journal": "journal",
}
"""How errors name a wire record's fields (and which nulls it remembers, by key)."""
ATTRIBUTE_NAMES: Final = {name: name for name in WIRE_KEYS}
"""How errors name the fields of a record with no wire format."""

_FIELD_OF_KIND: Final = {
    "start-time-missing": "task_start_time_usecs",
    "end-time-missing": "task_end_time_usecs",
    "end-time-before-start": "task_end_time_usecs",
    "end-time-while-active": "task_end_time_usecs",
    "error-without-failure": "error",
    "failure-without-error": "error",
}


def check_stamp(where: str, value: Any) -> None:
    """Refuse a time that is not an int64 of non-negative epoch microseconds."""
    if value.__class__ is not int or not 0 <= value <= INT64_MAX:
        raise InvalidRecord(where, value, "expected epoch microseconds: an integer 0 .. 2**63-1")


def check_text(where: str, value: Any) -> None:
    """Refuse text that is not a ``str`` JSON can hold (a lone surrogate cannot be UTF-8)."""
    if value.__class__ is not str:
        raise InvalidRecord(where, value, "expected a string")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidRecord(where, value, "not text: a lone surrogate") from None


def own_journal(record: Any, keys: Mapping[str, str]) -> None:
    """Give ``record`` its own copy of the journal it was made with (checked)."""
    journal = record.journal
    if journal is None:
        return
    if type(journal) is not list:
        raise InvalidRecord(keys["journal"], journal, "a journal is a list of JournalEntry")
    for i, entry in enumerate(journal):
        if type(entry) is not JournalEntry:
            raise InvalidRecord(f"{keys['journal']}[{i}]", entry, "expected a JournalEntry")
    record.journal = journal.copy()


def check_record(
    record: Any, keys: Mapping[str, str] = ATTRIBUTE_NAMES, nulls: AbstractSet[str] = frozenset()
) -> None:
    """Refuse, with :class:`~tasklife.errors.InvalidRecord` naming the field, a record that
    breaks a rule of the module docstring; ``nulls`` are the wire keys given as null."""
    start, end, error = record.task_start_time_usecs, record.task_end_time_usecs, record.error
    unset = start is None and end is None and error is None and record.changed_usecs is None
    if unset and not nulls and (record.clock is None or callable(record.clock)):
        return  # a new record's shape: nothing a rule speaks of
    for name in ("task_start_time_usecs", "task_end_time_usecs", "changed_usecs"):
        value = getattr(record, name)
        if value is not None:
            check_stamp(keys[name], value)
    if error is not None:
        check_text(keys["error"], error)
    clock = record.clock
    if clock is not None and not callable(clock):
        raise InvalidRecord(keys["clock"], clock, "a clock is a callable returning epoch usecs")
    check_snapshot(type(record).lifecycle, record.status, start, end, error, keys, nulls)


def check_snapshot(
    lifecycle: Lifecycle,
    status: str | None,
    start: int | None,
    end: int | None,
    error: str | None,
    keys: Mapping[str, str] = ATTRIBUTE_NAMES,
    nulls: AbstractSet[str] = frozenset(),
) -> None:
    """Refuse a snapshot (a status with its stamps and error, already checked one by one) that
    breaks a snapshot rule of the lifecycle; the store checks a clean wire dict with it."""
    if status is None or (start is None and end is None and error is None and not nulls):
        return  # nothing observed that a snapshot rule could speak of
    broken = _broken(
        lifecycle,
        status,
        start is not None,
        start is None and keys["task_start_time_usecs"] in nulls,
        end is not None,
        end is None and keys["task_end_time_usecs"] in nulls,
        bool(error),
        not error and (error is not None or keys["error"] in nulls),
        start is not None and end is not None and end < start,
    )
    if broken:
        from tasklife.validation.kinds import Said

        kind = broken[0]
        field = _FIELD_OF_KIND[kind.name]
        said = Said(status, status, value=end, before=start)
        value = {"task_start_time_usecs": start, "task_end_time_usecs": end, "error": error}
        raise InvalidRecord(keys[field], value[field], f"{kind.name}: {kind.describe(said)}")


@cache
def _broken(
    lc: Lifecycle,
    state: str,
    has_start: bool,
    no_start: bool,
    has_end: bool,
    no_end: bool,
    error: bool,
    no_error: bool,
    end_before_start: bool,
) -> tuple[Kind, ...]:
    """The snapshot kinds a lone snapshot of this shape breaks (at most a few hundred shapes
    per lifecycle, each judged once). The validator's table is imported only here: tracking
    records that hold nothing to judge never loads it."""
    from tasklife.validation.kinds import MISSING, SNAPSHOT_KINDS, Facts
    from tasklife.validation.rules import state_rules

    rules = state_rules(lc)
    final = state in rules.final
    facts = Facts(
        start=1 if has_start else MISSING,
        prev_start=MISSING,
        end=(0 if end_before_start else 2) if has_end else MISSING,
        prev_end=MISSING,
        has_start=has_start,
        no_start=no_start,
        had_start=False,
        has_end=has_end,
        no_end=no_end,
        had_end=False,
        error=error,
        no_error=no_error,
        final=final,
        not_final=not final,
        needs_start=state in rules.needs_start,
        error_required=state in rules.error_required,
        error_forbidden=state in rules.error_forbidden,
    )
    return tuple(kind for kind in SNAPSHOT_KINDS if kind.rule is not None and kind.rule(facts))
