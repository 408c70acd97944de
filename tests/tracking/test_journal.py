"""The journal is data: JSON Lines events and back, validate(), files beside documents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasklife.diagrams.overlay import task_overlay
from tasklife.errors import InvalidRecord, InvalidTransition
from tasklife.eventlog import validate_log
from tasklife.lifecycle import COPY_TASK, COPY_TASK_6_8, Lifecycle
from tasklife.models import CopySnapshotTaskStatus
from tasklife.tracking import (
    JournalEntry,
    Task,
    journal_from_events,
    journal_to_events,
    read_journal,
    write_journal,
)
from tasklife.validation import validate


@st.composite
def lived(draw: st.DrawFn, lc: Lifecycle) -> Task:
    """A task driven through legal triggers at increasing times, with a journal."""
    task = Task.for_lifecycle(lc)(journal=[])
    at = draw(st.integers(0, 100))
    for _ in range(draw(st.integers(0, 8))):
        allowed = task.allowed_triggers()
        if not allowed:
            break
        trigger = draw(st.sampled_from(allowed))
        at += draw(st.integers(0, 5))
        dest = lc.dest(trigger, task.status)
        assert dest is not None
        task.fire(trigger, at_usecs=at, error="boom" if dest in lc.states_of("failure") else None)
    return task


@settings(max_examples=100, deadline=None)
@given(data=st.data(), lc=st.sampled_from([COPY_TASK, COPY_TASK_6_8]))
def test_a_journal_round_trips_through_events_and_its_events_are_valid(
    data: st.DataObject, lc: Lifecycle
) -> None:
    task = data.draw(lived(lc))
    journal = task.journal or []
    vocabulary = data.draw(st.sampled_from(["v1", "v2"]))
    events = journal_to_events(journal, task_id="t1", lifecycle=lc, vocabulary=vocabulary)
    assert journal_from_events(events, lifecycle=lc) == journal
    for event in events:
        assert set(event) <= {
            "taskId",
            "status",
            "atUsecs",
            "error",
            "taskStartTimeUsecs",
            "taskEndTimeUsecs",
        }
    if events:  # what validate judges in strict mode, snapshots included: all legal
        assert bool(validate(events, mode="strict", lifecycle=lc))
        last = events[-1]
        assert last.get("taskEndTimeUsecs") == task.task_end_time_usecs
        assert last.get("taskStartTimeUsecs") == task.task_start_time_usecs
        assert last.get("error") == task.error


def test_validate_accepts_a_journal_as_task_overlay_does() -> None:
    task = Task(journal=[])
    task.start(at_usecs=1)
    task.hold(at_usecs=2)
    task.resume(at_usecs=3)
    task.fail("lost", at_usecs=4)
    report = validate(task.journal or [])
    assert bool(report) and report.events == 5
    assert task_overlay(task.journal or []).state_roles["kFailure"] == "current"
    broken = [
        JournalEntry("start", "kAccepted", "kRunning", 5),
        JournalEntry("x", "kRunning", "kAccepted", 4),
    ]
    kinds = [v.kind for v in validate(broken).violations]
    assert kinds == ["illegal-transition", "time-went-backwards"]


def test_a_journal_is_written_beside_its_document_and_validate_log_reads_it(
    tmp_path: Path,
) -> None:
    records = []
    for n in range(3):
        record = CopySnapshotTaskStatus(journal=[])
        record.start(at_usecs=10 + n)
        if n == 1:
            record.fail("quota exceeded", at_usecs=20 + n)
        else:
            record.succeed(at_usecs=20 + n)
        document = tmp_path / f"task-{n}.json"
        document.write_bytes(orjson.dumps(record.to_dictionary()))
        write_journal(tmp_path / f"task-{n}.journal.jsonl", record.journal or [], task_id=n)
        records.append(record)
    paths = sorted(tmp_path.glob("*.journal.jsonl"))
    report = validate_log([str(p) for p in paths], mode="strict", require_final=True)
    assert bool(report) and report.tasks == 3 and report.events == 9
    for n, record in enumerate(records):
        assert read_journal(tmp_path / f"task-{n}.journal.jsonl") == record.journal


def test_events_with_gaps_become_the_path_a_poller_would_explain() -> None:
    events: list[dict[str, Any]] = [
        {"taskId": 1, "status": "Succeeded", "atUsecs": 9},
        {"taskId": 1, "status": "Accepted", "atUsecs": 1},  # out of order: sorted by time
    ]
    assert [(e.trigger, e.at_usecs) for e in journal_from_events(events)] == [
        ("start", 9),
        ("succeed", 9),
    ]


def test_bad_events_are_refused_naming_the_event() -> None:
    with pytest.raises(InvalidRecord, match=r"events\[1\]\.atUsecs"):
        journal_from_events(
            [{"status": "kAccepted", "atUsecs": 1}, {"status": "kRunning", "atUsecs": -1}]
        )
    with pytest.raises(InvalidRecord, match=r"events\[0\]\.status"):
        journal_from_events([{"status": "kDone", "atUsecs": 1}])
    with pytest.raises(InvalidRecord, match="one task"):
        journal_from_events(
            [
                {"taskId": 1, "status": "kAccepted", "atUsecs": 1},
                {"taskId": 2, "status": "kRunning", "atUsecs": 2},
            ]
        )
    with pytest.raises(InvalidTransition, match="cannot reach"):
        journal_from_events(
            [{"status": "kSuccess", "atUsecs": 1}, {"status": "kRunning", "atUsecs": 2}]
        )


def test_an_unreadable_journal_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.journal.jsonl"
    path.write_text('{"status": "kAccepted", "atUsecs": 1}\n{not json\n')
    with pytest.raises(InvalidRecord, match=r"bad\.journal\.jsonl:2"):
        read_journal(path)
