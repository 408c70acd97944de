"""The error column of the lifecycle table decides what every move takes (item 23): the
tracking checks, the typed and generated trigger methods and the validator read one rule."""

from __future__ import annotations

import inspect

import pytest

from tasklife import CopySnapshotTaskStatus, Lifecycle, Task, validate
from tasklife.errors import InvalidRecord, TaskLifeError
from tasklife.lifecycle import COPY_TASK
from tasklife.tracking.task import CopyTaskTriggers
from tasklife.tracking.triggers import check_typed_triggers


def test_warn_takes_an_optional_message_fail_requires_one_succeed_none() -> None:
    for make in (Task, CopySnapshotTaskStatus):
        warned = make()
        warned.start(at_usecs=1)
        warned.warn("slow target", at_usecs=2)
        assert (warned.status, warned.error) == ("kWarning", "slow target")
        bare = make()
        bare.start(at_usecs=1)
        bare.warn(at_usecs=2)
        assert bare.error is None
        with pytest.raises(InvalidRecord, match="non-empty"):
            make(status="kRunning", task_start_time_usecs=1).warn("", at_usecs=2)
        with pytest.raises(InvalidRecord, match="error is only set"):
            make(status="kRunning", task_start_time_usecs=1).fire("succeed", error="x")
    assert inspect.signature(Task.warn).parameters["error"].default is None
    assert inspect.signature(Task.fail).parameters["error"].default is inspect.Parameter.empty


def test_a_table_that_forbids_a_failure_message_and_requires_a_warning_one() -> None:
    data = COPY_TASK.to_dictionary()
    data["name"] = "strict-warnings"
    data["states"]["kWarning"]["error"] = "required"
    data["states"]["kFailure"]["error"] = "forbidden"
    lc = Lifecycle.from_dictionary(data)
    record = Task.for_lifecycle(lc)(status="kRunning", task_start_time_usecs=1)
    with pytest.raises(InvalidRecord, match="needs a non-empty error"):
        record.fire("warn", at_usecs=2)
    with pytest.raises(InvalidRecord, match="error is only set"):
        record.fire("fail", at_usecs=2, error="disk full")
    record.fire("fail", at_usecs=2)
    assert (record.status, record.error) == ("kFailure", None)
    assert "error" not in inspect.signature(type(record).fail).parameters  # generated methods
    history = [{"status": "kRunning", "taskStartTimeUsecs": 1}]
    failed = {"status": "kFailure", "taskStartTimeUsecs": 1, "taskEndTimeUsecs": 2}
    assert validate([*history, failed], lifecycle=lc)
    kinds = validate([*history, {**failed, "error": "x"}], lifecycle=lc).violations
    assert [v.kind for v in kinds] == ["error-without-failure"]


def test_typed_methods_must_take_the_error_the_table_gives() -> None:
    class NoWarningMessage(CopyTaskTriggers):
        __slots__ = ()

        def warn(self, *, at_usecs: int | None = None) -> bool:  # type: ignore[override]
            return self.fire("warn", at_usecs=at_usecs)

    with pytest.raises(TaskLifeError, match=r"warn\(\) lacks an error argument"):
        check_typed_triggers(NoWarningMessage, COPY_TASK)

    class OptionalFailure(CopyTaskTriggers):
        __slots__ = ()

        def fail(self, error: str | None = None, *, at_usecs: int | None = None) -> bool:
            return self.fire("fail", at_usecs=at_usecs, error=error)

    with pytest.raises(TaskLifeError, match=r"fail\(\): an error is required exactly"):
        check_typed_triggers(OptionalFailure, COPY_TASK)
