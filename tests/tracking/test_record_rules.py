"""Records that cannot lie (issue 12, items 14, 15 and 17): every way of making or moving a
record keeps the rules of :mod:`tasklife.tracking.invariants`, and a refused move leaves the
record exactly as it was."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from tasklife import CopySnapshotTaskStatus, Task, validate
from tasklife.errors import InvalidRecord, InvalidTransition
from tasklife.tracking import JournalEntry

RECORDS: list[Callable[..., Any]] = [Task, CopySnapshotTaskStatus]
IDS = ["Task", "wire"]


def fields(record: Any) -> tuple[Any, ...]:
    return (
        record.status,
        record.error,
        record.task_start_time_usecs,
        record.task_end_time_usecs,
        record.changed_usecs,
        None if record.journal is None else list(record.journal),
    )


@pytest.mark.parametrize("make", RECORDS, ids=IDS)
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"status": "kSuccess", "task_start_time_usecs": 9, "task_end_time_usecs": 5}, "end"),
        ({"status": "kRunning", "task_start_time_usecs": 1, "error": "x"}, "error"),
        ({"status": "kRunning", "task_end_time_usecs": 3}, "end"),
        ({"task_start_time_usecs": -5}, "start"),
        ({"task_start_time_usecs": 1.5}, "start"),
        ({"task_end_time_usecs": 2**63}, "end"),
        ({"status": "kFailure", "error": "\ud800"}, "error"),
        ({"clock": 5}, "clock"),
        ({"journal": ("not", "a", "list")}, "journal"),
        ({"journal": ["not an entry"]}, "journal"),
    ],
)
def test_the_constructor_refuses_what_validate_rejects_or_cannot_be_written(
    make: Callable[..., Any], kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidRecord) as info:
        make(**kwargs)
    assert field in info.value.path.lower().replace("_usecs", "").replace("timeusecs", "")


@pytest.mark.parametrize("make", RECORDS, ids=IDS)
def test_attrs_evolve_is_checked_like_the_constructor(make: Callable[..., Any]) -> None:
    record = make(status="kRunning", task_start_time_usecs=10)
    with pytest.raises(InvalidRecord, match="end-time-while-active"):
        attrs.evolve(record, task_end_time_usecs=20)
    with pytest.raises(InvalidRecord, match="error-without-failure"):
        attrs.evolve(record, error="boom")
    with pytest.raises(InvalidRecord):
        attrs.evolve(record, task_start_time_usecs=-1)
    moved = attrs.evolve(record, status="kSuccess", task_end_time_usecs=20)
    assert validate([moved.to_dictionary() if hasattr(moved, "source") else _doc(moved)])


def _doc(task: Any) -> dict[str, Any]:
    return {
        "status": task.status,
        "taskStartTimeUsecs": task.task_start_time_usecs,
        "taskEndTimeUsecs": task.task_end_time_usecs,
    }


def test_from_dictionary_refuses_an_error_on_a_running_document() -> None:
    """Before: read, and the next hold() dropped the message silently."""
    with pytest.raises(InvalidRecord) as info:
        CopySnapshotTaskStatus.from_dictionary(
            {"status": "kRunning", "taskStartTimeUsecs": 1, "error": "x"}
        )
    assert info.value.path == "error" and "error-without-failure" in str(info.value)
    # a null is a missing value (refused where required), an absent key no observation
    with pytest.raises(InvalidRecord, match="start-time-missing"):
        CopySnapshotTaskStatus.from_dictionary({"status": "kRunning", "taskStartTimeUsecs": None})
    assert CopySnapshotTaskStatus.from_dictionary({"status": "kRunning"}) is not None
    warned = {"status": "kWarning", "taskStartTimeUsecs": 1, "taskEndTimeUsecs": 2, "error": "w"}
    assert CopySnapshotTaskStatus.from_dictionary(warned) is not None  # kWarning allows one


@pytest.mark.parametrize("make", RECORDS, ids=IDS)
def test_a_move_is_never_before_the_start_or_the_last_transition(make: Callable[..., Any]) -> None:
    record = make(status="kRunning", task_start_time_usecs=10)
    before = fields(record)
    with pytest.raises(InvalidRecord, match="before the record's start") as info:
        record.fire("succeed", at_usecs=5)
    assert info.value.path == "at_usecs" and fields(record) == before
    record.fire("hold", at_usecs=20)
    with pytest.raises(InvalidRecord, match="before the record's last transition at 20"):
        record.fire("resume", at_usecs=19)
    with pytest.raises(InvalidRecord, match="before the record's last transition"):
        record.resume(at_usecs=19)  # the typed method takes the same path
    record.fire("resume", at_usecs=20)  # the same microsecond is fine
    record.fire("succeed", at_usecs=30)
    assert not validate([_doc(record)]).violations


@pytest.mark.parametrize("make", RECORDS, ids=IDS)
@pytest.mark.parametrize("value", [-5, 1.5, "soon", None, 2**63, True])
def test_clock_values_are_checked(make: Callable[..., Any], value: Any) -> None:
    record = make(clock=lambda: value)
    with pytest.raises(InvalidRecord) as info:
        record.fire("start")
    assert info.value.path == "clock()" and fields(record) == ("kAccepted", *[None] * 5)
    with pytest.raises(InvalidRecord):
        record.fire("start", at_usecs=value if value is not None else -1)


@pytest.mark.parametrize("make", RECORDS, ids=IDS)
def test_a_clock_that_is_not_callable_is_refused_at_once(make: Callable[..., Any]) -> None:
    with pytest.raises(InvalidRecord, match="a clock is a callable"):
        make(clock=5)
    record = make()
    record.clock = 5  # set by hand, past the constructor: the move says so
    with pytest.raises(InvalidRecord, match="a clock is a callable"):
        record.fire("start")
    assert record.status == "kAccepted"


@pytest.mark.parametrize("make", RECORDS, ids=IDS)
def test_a_journal_that_refuses_leaves_the_record_unchanged(make: Callable[..., Any]) -> None:
    record = make(journal=[])
    record.fire("start", at_usecs=1)
    before = fields(record)
    record.journal = "not a list"  # set by hand, past the constructor
    with pytest.raises(InvalidRecord, match="cannot append") as info:
        record.fire("succeed", at_usecs=2)
    assert info.value.path == "journal"
    record.journal = before[-1]
    assert fields(record) == before

    class Full(list[JournalEntry]):
        def append(self, entry: JournalEntry) -> None:
            raise OSError("disk full")

    record.journal = Full()
    with pytest.raises(InvalidRecord, match="disk full"):
        record.observe("kSuccess", at_usecs=2)  # observe's path as well
    assert record.status == "kRunning" and record.task_end_time_usecs is None


@pytest.mark.parametrize("make", RECORDS, ids=IDS)
@pytest.mark.parametrize("how", ["evolve", "copy"])
def test_copies_never_share_a_journal(make: Callable[..., Any], how: str) -> None:
    journal: list[JournalEntry] = []
    record = make(journal=journal)
    assert record.journal is not journal  # the record's own list
    clone = attrs.evolve(record) if how == "evolve" else copy.copy(record)
    record.fire("start", at_usecs=1)
    assert len(record.journal) == 1 and clone.journal == [] and journal == []


@pytest.mark.parametrize("make", RECORDS, ids=IDS)
@pytest.mark.parametrize("trigger", [["start"], {"start": 1}, 3, None])
def test_a_trigger_that_is_not_a_name_is_a_typed_error(
    make: Callable[..., Any], trigger: Any
) -> None:
    record = make()
    with pytest.raises(InvalidTransition, match="a trigger is a name"):
        record.fire(trigger)
    assert record.status == "kAccepted"


@pytest.mark.parametrize("make", RECORDS, ids=IDS)
def test_a_status_that_is_no_state_is_not_called_final(make: Callable[..., Any]) -> None:
    record = make()
    record.status = "kBogus"  # by hand: the constructor would refuse it
    with pytest.raises(InvalidTransition) as info:
        record.fire("start")
    assert "final state" not in str(info.value)
    assert "'kBogus' is not a state of the lifecycle" in str(info.value)
    with pytest.raises(InvalidTransition) as info:
        record.observe("kRunning", at_usecs=1)
    assert "no path" not in str(info.value)
    assert "'kBogus' is not a state of the lifecycle" in str(info.value)


@pytest.mark.parametrize("make", RECORDS, ids=IDS)
@pytest.mark.parametrize("how", ["fire", "observe"])
def test_a_stamp_set_by_hand_that_is_no_time_is_named_by_the_next_move(
    make: Callable[..., Any], how: str
) -> None:
    record = make(status="kRunning")
    record.task_start_time_usecs = "yesterday"  # by hand: the constructor would refuse it
    with pytest.raises(InvalidRecord, match="expected epoch microseconds") as info:
        if how == "fire":
            record.fire("succeed", at_usecs=5)
        else:
            record.observe("kSuccess", at_usecs=5)
    assert info.value.path == "task_start_time_usecs" and record.status == "kRunning"
