"""observe(): what a poller saw, applied by the shortest legal path; agrees with validate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from replaying import LIFECYCLES, histories
from tasklife.errors import InvalidRecord, InvalidTransition
from tasklife.lifecycle import COPY_TASK, Lifecycle
from tasklife.models import CopySnapshotTaskStatus
from tasklife.tracking import JournalEntry, Task, machine_for
from tasklife.validation import validate


def test_a_gap_is_explained_by_the_shortest_path_and_stamped_at_the_observation() -> None:
    task = Task(journal=[])
    seen = task.observe("kSuccess", at_usecs=50)
    assert seen.path == ("start", "succeed") and seen.status == "kSuccess"
    assert (task.task_start_time_usecs, task.task_end_time_usecs) == (50, 50)
    assert task.journal == [
        JournalEntry("start", "kAccepted", "kRunning", 50),
        JournalEntry("succeed", "kRunning", "kSuccess", 50),
    ]
    assert task.changed_usecs == 50


def test_v1_v2_names_and_codes_are_all_observed() -> None:
    for name in ("kRunning", "Running", COPY_TASK.translate("kRunning", "code")):
        task = CopySnapshotTaskStatus()
        assert task.observe(name, at_usecs=1).status == "kRunning"


def test_an_observation_older_than_the_last_transition_is_ignored_and_says_so() -> None:
    task = Task(journal=[])
    task.start(at_usecs=100)
    late = task.observe("kAccepted", at_usecs=90)  # APScheduler: SUBMITTED after EXECUTED
    assert late.path == () and late.status == "kRunning"
    assert late.ignored is not None and "90" in late.ignored and "100" in late.ignored
    assert len(task.journal or []) == 1


def test_a_re_observation_changes_nothing() -> None:
    task = Task(status="kRunning", task_start_time_usecs=3)
    seen = task.observe("kRunning", at_usecs=9)
    assert (seen.path, seen.ignored, task.changed_usecs) == ((), None, None)


def test_unknown_and_unreachable_statuses_are_refused_and_nothing_changes() -> None:
    task = Task(status="kSuccess", task_start_time_usecs=1, task_end_time_usecs=2, journal=[])
    with pytest.raises(InvalidTransition, match="cannot reach status 'kRunning'") as info:
        task.observe("kRunning", at_usecs=5)
    assert info.value.record is task and info.value.target == "kRunning"
    with pytest.raises(InvalidRecord, match="Finalizing"):
        Task().observe("Finalizing")
    assert (task.status, task.journal) == ("kSuccess", [])


def test_an_observed_failure_needs_its_error_and_nothing_else_takes_one() -> None:
    task = Task()
    with pytest.raises(InvalidRecord, match="non-empty error"):
        task.observe("kFailure", at_usecs=1)
    with pytest.raises(InvalidRecord, match="only set on failure"):
        task.observe("kSuccess", at_usecs=1, error="no")
    assert task.status == "kAccepted"
    task.observe("Failed", at_usecs=1, error="disk full")
    assert (task.status, task.error) == ("kFailure", "disk full")


def test_listeners_hear_every_step_in_order(fresh_lifecycle: Callable[[], Lifecycle]) -> None:
    lifecycle = fresh_lifecycle()
    seen: list[tuple[str, str, str]] = []
    machine_for(lifecycle).add_listener(lambda r, s, d, t, at: seen.append((t, s, d)))
    Task.for_lifecycle(lifecycle)().observe("kCanceled", at_usecs=4)
    assert seen == [
        ("cancel", "kAccepted", "kCanceling"),
        ("confirm_cancel", "kCanceling", "kCanceled"),
    ]


def test_through_transitions_callbacks_each_step_runs_them_and_a_condition_stops_the_path(
    fresh_lifecycle: Callable[[], Lifecycle],
) -> None:
    lifecycle = fresh_lifecycle()
    machine = machine_for(lifecycle)
    entered: list[str] = []
    machine.on_enter_kRunning(lambda event: entered.append(event.model.status))
    (succeed,) = machine.get_transitions("succeed")
    succeed.conditions.append(machine.transition_cls.condition_cls(lambda event: False))
    task = Task.for_lifecycle(lifecycle)(journal=[])
    seen = task.observe("kSuccess", at_usecs=8)
    assert (seen.path, seen.stopped_by, seen.status) == (("start",), "succeed", "kRunning")
    assert entered == ["kRunning"] and task.task_start_time_usecs == 8


@settings(max_examples=150, deadline=None)
@given(lc=st.sampled_from(LIFECYCLES), data=st.data())
def test_observing_a_history_agrees_with_validate_in_polling_mode(
    lc: Lifecycle, data: st.DataObject
) -> None:
    history = data.draw(histories(lc))
    vocabulary = data.draw(st.sampled_from(["v1", "v2", "code"]))
    names: list[Any] = [lc.translate(s, vocabulary) for s in history]
    report = validate(
        list(zip(names, range(len(names)), strict=True)), mode="polling", lifecycle=lc
    )
    violations = {v.index: v.kind for v in report.violations}
    gaps = {g.index: g.path for g in report.gaps}
    Record = Task.for_lifecycle(lc)
    record = Record(status=history[0])
    for i in range(1, len(history)):
        before, status = record.status, history[i]
        error = "seen failing" if lc.state(status).outcome == "failure" else None
        try:
            seen = record.observe(names[i], at_usecs=i, error=error if status != before else None)
        except InvalidTransition:
            assert violations.get(i) in ("illegal-transition", "after-final")
            record = Record(status=status)  # re-read the task, as validate re-syncs
            continue
        assert i not in violations
        assert record.status == status
        if status == before:
            assert seen.path == () and i not in gaps
        elif len(seen.path) > 1:
            assert gaps[i] == seen.path
        else:
            assert i not in gaps and lc.dest(seen.path[0], before) == status
