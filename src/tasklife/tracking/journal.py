"""The journal: a record's transitions as data, and the JSON Lines events they stand for.

A record built with ``journal=[]`` appends one :class:`JournalEntry` per transition. A journal
converts to the event shape :func:`tasklife.validate_log` reads (``taskId``, ``status``,
``atUsecs``, and the snapshot keys ``error``, ``taskStartTimeUsecs``, ``taskEndTimeUsecs``)
and back, and is written next to the record's document as a ``.jsonl`` file.

Converting a journal gives one event for the status it started from (at the time of the first
transition) and one per transition. The snapshot keys of each event are what the record held
right after that transition: the start stamp once the task entered an active state, the end
stamp in a final state, the error in a failure state. Converting events back replays them the
way :meth:`~tasklife.tracking.Tracked.observe` does: a change that skips statuses is explained
by the shortest legal path, each step at the event's time.

>>> journal = [JournalEntry("start", "kAccepted", "kRunning", 10),
...            JournalEntry("fail", "kRunning", "kFailure", 20, error="disk full")]
>>> events = journal_to_events(journal, task_id=7)
>>> [(e["status"], e["atUsecs"], e.get("error")) for e in events]
[('kAccepted', 10, None), ('kRunning', 10, None), ('kFailure', 20, 'disk full')]
>>> journal_from_events(events) == journal
True
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import orjson

from tasklife.errors import InvalidRecord, InvalidTransition
from tasklife.lifecycle import COPY_TASK, Lifecycle, get_lifecycle

__all__ = [
    "JournalEntry",
    "explained_path",
    "journal_from_events",
    "journal_statuses",
    "journal_to_events",
    "read_journal",
    "write_journal",
]

LifecycleSpec = str | os.PathLike[str] | Lifecycle


@attrs.frozen
class JournalEntry:
    """One transition in a record's journal (``error`` is the message of a failure).

    >>> JournalEntry("start", "kAccepted", "kRunning", 1_718_000_000_000_000).dest
    'kRunning'
    """

    trigger: str
    source: str
    dest: str
    at_usecs: int
    error: str | None = None

    def __reduce__(self) -> tuple[Any, ...]:  # five values, not a dict of their names
        return (JournalEntry, (self.trigger, self.source, self.dest, self.at_usecs, self.error))


def explained_path(lc: Lifecycle, current: str, target: str) -> tuple[str, ...] | None:
    """The shortest legal trigger path from ``current`` to ``target`` (``()`` when they are
    the same); None when none leads there, a final state included: the polling rule.

    >>> from tasklife.lifecycle import COPY_TASK
    >>> explained_path(COPY_TASK, "kAccepted", "kSuccess")
    ('start', 'succeed')
    >>> explained_path(COPY_TASK, "kSuccess", "kRunning") is None
    True
    """
    if current == target:
        return ()
    if lc.is_final(current):
        return None
    return lc.path(current, target)


def journal_statuses(journal: Sequence[JournalEntry]) -> list[tuple[str, int]]:
    """The ``(status, at_usecs)`` history a journal stands for (what ``validate`` judges).

    >>> journal_statuses([JournalEntry("start", "kAccepted", "kRunning", 5)])
    [('kAccepted', 5), ('kRunning', 5)]
    """
    if not journal:
        return []
    return [(journal[0].source, journal[0].at_usecs)] + [(e.dest, e.at_usecs) for e in journal]


def journal_to_events(
    journal: Sequence[JournalEntry],
    *,
    task_id: str | int,
    lifecycle: LifecycleSpec = COPY_TASK,
    vocabulary: str = "v1",
    snapshots: bool = True,
    start_usecs: int | None = None,
) -> list[dict[str, Any]]:
    """The JSON Lines events of one task's journal, statuses in ``vocabulary``.

    ``start_usecs`` is the start stamp the record had before the journal began (for a record
    loaded mid-life); ``snapshots=False`` leaves out the snapshot keys.
    """
    lc = get_lifecycle(lifecycle)
    if not journal:
        return []
    active = lc.states_of("active")
    failure = lc.states_of("failure")
    start = start_usecs
    steps: list[tuple[str, int, str | None]] = [(journal[0].source, journal[0].at_usecs, None)]
    steps += [(e.dest, e.at_usecs, e.error) for e in journal]
    events: list[dict[str, Any]] = []
    for status, at, error in steps:
        if status in active and start is None:
            start = at
        event: dict[str, Any] = {
            "taskId": task_id,
            "status": lc.translate(status, vocabulary),
            "atUsecs": at,
        }
        if snapshots:
            if status in failure and error is not None:
                event["error"] = error
            if start is not None:
                event["taskStartTimeUsecs"] = start
            if lc.is_final(status):
                event["taskEndTimeUsecs"] = at
        events.append(event)
    return events


def journal_from_events(
    events: Iterable[Mapping[str, Any]], *, lifecycle: LifecycleSpec = COPY_TASK
) -> list[JournalEntry]:
    """The journal of one task's events (ordered by ``atUsecs``, ties in the given order).

    A status seen again is no transition; a change that skips statuses becomes the shortest
    legal path, every step at the event's time. Raises :class:`~tasklife.errors.InvalidRecord`
    for an event of the wrong shape or another task, and
    :class:`~tasklife.errors.InvalidTransition` for a status no path reaches.
    """
    lc = get_lifecycle(lifecycle)
    rows = [_event_row(i, e, lc) for i, e in enumerate(events)]
    rows.sort(key=lambda row: row[1])
    if rows and any(row[3] != rows[0][3] for row in rows):
        raise InvalidRecord("taskId", sorted({str(r[3]) for r in rows}), "events of one task only")
    journal: list[JournalEntry] = []
    current = rows[0][0] if rows else None
    for status, at, error, _ in rows[1:]:
        assert current is not None
        path = explained_path(lc, current, status)
        if path is None:
            raise InvalidTransition(
                None, current, lc.triggers_from(current), lc.name, target=status
            )
        for trigger in path:
            dest = lc.dest(trigger, current)
            assert dest is not None
            journal.append(
                JournalEntry(trigger, current, dest, at, error if dest == status else None)
            )
            current = dest
    return journal


def _event_row(i: int, event: Mapping[str, Any], lc: Lifecycle) -> tuple[str, int, Any, Any]:
    where = f"events[{i}]"
    if not isinstance(event, Mapping):
        raise InvalidRecord(where, event, "expected an event object")
    status = lc.canonical(event.get("status"))
    if status is None:
        raise InvalidRecord(
            f"{where}.status", event.get("status"), lc.unknown_status_reason(event.get("status"))
        )
    at = event.get("atUsecs")
    if type(at) is not int or at < 0:
        raise InvalidRecord(f"{where}.atUsecs", at, "expected a non-negative integer")
    return status, at, event.get("error"), event.get("taskId")


def write_journal(
    path: str | os.PathLike[str],
    journal: Sequence[JournalEntry],
    *,
    task_id: str | int,
    lifecycle: LifecycleSpec = COPY_TASK,
    vocabulary: str = "v1",
    start_usecs: int | None = None,
) -> Path:
    """Write a journal as JSON Lines events (e.g. ``task-42.journal.jsonl`` beside
    ``task-42.json``); :func:`tasklife.validate_log` and :func:`read_journal` read it."""
    events = journal_to_events(
        journal,
        task_id=task_id,
        lifecycle=lifecycle,
        vocabulary=vocabulary,
        start_usecs=start_usecs,
    )
    out = Path(path)
    out.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    return out


def read_journal(
    path: str | os.PathLike[str], *, lifecycle: LifecycleSpec = COPY_TASK
) -> list[JournalEntry]:
    """Read back a journal written by :func:`write_journal` (or any one task's events)."""
    events: list[Any] = []
    for number, line in enumerate(Path(path).read_bytes().splitlines(), 1):
        if not line.strip():
            continue
        try:
            events.append(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            raise InvalidRecord(f"{path}:{number}", line[:80], f"not JSON ({exc})") from None
    return journal_from_events(events, lifecycle=lifecycle)
