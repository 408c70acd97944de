"""Trigger methods exist exactly for the triggers of the record's lifecycle."""

from __future__ import annotations

import enum
import inspect
from pathlib import Path

import pytest

from tasklife.errors import TaskLifeError
from tasklife.lifecycle import COPY_TASK, COPY_TASK_6_8, load_lifecycle
from tasklife.models import CopySnapshotTaskStatus
from tasklife.status import Status, check_status_enum
from tasklife.tracking import CopyTaskTriggers, Task, Tracked
from tasklife.tracking.triggers import check_typed_triggers

ROOT = Path(__file__).resolve().parents[2]
ALL_COPY_TRIGGERS = set(COPY_TASK.triggers) | set(COPY_TASK_6_8.triggers)


def trigger_methods(record: object) -> set[str]:
    return {name for name in ALL_COPY_TRIGGERS | {"pass", "fail", "start"} if hasattr(record, name)}


@pytest.mark.parametrize("base", [Task, CopySnapshotTaskStatus])
def test_copy_task_records_have_the_typed_methods_and_6_8_adds_finalize(base: type[Task]) -> None:
    assert trigger_methods(base()) == set(COPY_TASK.triggers)
    record = base.for_lifecycle(COPY_TASK_6_8)()
    assert trigger_methods(record) == set(COPY_TASK_6_8.triggers)
    record.start(at_usecs=1)
    record.finalize(at_usecs=2)  # type: ignore[attr-defined]
    record.succeed(at_usecs=3)
    assert (record.status, record.task_end_time_usecs) == ("kSuccess", 3)
    assert "kFinalizing" in (record.succeed.__doc__ or "")


def test_a_ci_job_has_its_own_triggers_and_no_copy_task_ones() -> None:
    Job = Task.for_lifecycle(load_lifecycle(ROOT / "examples" / "ci-job.toml"))
    job = Job()
    assert not hasattr(job, "miss") and not hasattr(job, "hold")
    with pytest.raises(AttributeError, match="'miss' is not a trigger of lifecycle 'ci-job'"):
        job.miss()
    assert hasattr(job, "start") and "queued -> running" in (job.start.__doc__ or "")
    assert not hasattr(job, "pass")  # a keyword: fired by name
    job.start()
    job.fire("pass")
    assert job.status == "passed"
    failing = Job(status="running")
    failing.fail("3 tests failed")
    assert (failing.status, failing.error) == ("failed", "3 tests failed")
    assert list(inspect.signature(Job.fail).parameters) == ["self", "error", "at_usecs"]


def test_typed_methods_that_disagree_with_the_table_are_refused() -> None:
    class Extra(CopyTaskTriggers):
        __slots__ = ()

        def explode(self) -> bool:
            return True

    check_typed_triggers(CopyTaskTriggers, COPY_TASK)
    with pytest.raises(TaskLifeError, match="explode"):
        check_typed_triggers(Extra, COPY_TASK)  # its own methods are not the triggers
    with pytest.raises(TaskLifeError, match="finalize"):
        check_typed_triggers(CopyTaskTriggers, COPY_TASK_6_8)
    untyped_fail = {t: (lambda self, *, at_usecs=None: True) for t in COPY_TASK.triggers}
    NoError = type("NoError", (Tracked,), {"__slots__": (), **untyped_fail})
    with pytest.raises(TaskLifeError, match=r"fail\(\) lacks an error argument"):
        check_typed_triggers(NoError, COPY_TASK)


def test_status_is_checked_against_the_table() -> None:
    check_status_enum(Status, COPY_TASK)
    assert [s.value for s in Status if s.is_final] == sorted(
        COPY_TASK.final_states, key=COPY_TASK.state_names.index
    )

    class Shuffled(enum.StrEnum):
        RUNNING = "kRunning"
        ACCEPTED = "kAccepted"
        CANCELING = "kCanceling"
        CANCELED = "kCanceled"
        SUCCESS = "kSuccess"
        FAILURE = "kFailure"
        WARNING = "kWarning"
        ON_HOLD = "kOnHold"
        MISSED = "kMissed"

    with pytest.raises(TaskLifeError, match="table order"):
        check_status_enum(Shuffled, COPY_TASK)
    with pytest.raises(TaskLifeError, match=r"copy-task-6\.8"):
        check_status_enum(Status, COPY_TASK_6_8)
