"""Roll-up against bad input and real data (issue 12, items 16, 19, 21)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from tasklife import CopySnapshotTaskStatus, roll_up, validate
from tasklife.errors import InvalidRecord, InvalidRunTask


def task(status: str = "kSuccess", **stats: Any) -> SimpleNamespace:
    """A record that is not one of ours (as an SDK object is): its stats a plain dict."""
    return SimpleNamespace(
        status=status, stats=stats, task_start_time_usecs=None, task_end_time_usecs=None
    )


def test_stats_given_as_a_plain_dict_are_read_not_ignored() -> None:
    run = roll_up(
        [task(startTimeUsecs=0, endTimeUsecs=2_000_000, logicalBytesTransferred=10), task()]
    )
    assert run.stats is not None
    assert (run.stats.logical_bytes_transferred, run.stats.logical_transfer_rate_bps) == (10, 5)
    with pytest.raises(InvalidRunTask) as info:
        roll_up([task(), task(logicalBytesTransferred=-1)])
    assert info.value.path == "copySnapshotTasks[1].stats.logicalBytesTransferred"
    with pytest.raises(InvalidRecord, match="expected a CopyRunStats"):
        CopySnapshotTaskStatus(stats={"logicalBytesTransferred": 1})  # type: ignore[arg-type]


def test_sums_and_rates_beyond_int64_are_errors() -> None:
    half = 2**62
    with pytest.raises(InvalidRunTask, match="beyond int64") as info:
        roll_up([task(logicalSizeBytes=half), task(logicalSizeBytes=half)])
    assert info.value.path == "copySnapshotTasks.stats.logicalSizeBytes"
    assert roll_up([task(logicalSizeBytes=half), task(logicalSizeBytes=half - 1)]).stats
    with pytest.raises(InvalidRunTask, match="beyond int64") as info:
        roll_up([task(startTimeUsecs=0, endTimeUsecs=1, logicalBytesTransferred=2**50)])
    assert info.value.path == "copySnapshotTasks.stats.logicalTransferRateBps"


@pytest.mark.parametrize("tasks", [None, 5, 1.5, object()])
def test_a_run_that_is_not_a_list_is_a_typed_error(tasks: Any) -> None:
    with pytest.raises(InvalidRunTask, match="expected the list of a run's tasks"):
        roll_up(tasks)


@pytest.mark.parametrize("value", [0, 1, 2, 3, 4, 5, 6, 7, -1, "3", 3.0, True, "Canceled"])
def test_from_dictionary_validate_and_roll_up_agree_on_status_codes(value: Any) -> None:
    """Codes 3-6 are confirmed by published scripts (backupRun.status), 0-2 inferred."""
    try:
        read: str | None = CopySnapshotTaskStatus.from_dictionary({"status": value}).status  # type: ignore[union-attr]
    except InvalidRecord:
        read = None
    judged = validate([{"status": value}])
    assert (read is not None) == (not judged.violations)
    try:
        rolled: str | None = roll_up([{"status": value}]).status
    except InvalidRunTask:
        rolled = None
    assert rolled == read
    if isinstance(value, int) and not isinstance(value, bool) and 3 <= value <= 6:
        assert read == ("kCanceled", "kSuccess", "kFailure", "kWarning")[value - 3]


def test_v2_result_documents_are_read_as_snapshots() -> None:
    """Before: startTimeUsecs, endTimeUsecs and message were ignored (the run lost its times)."""
    v2 = [
        {"status": "Succeeded", "startTimeUsecs": 1_000_000, "endTimeUsecs": 3_000_000},
        {"status": "Failed", "startTimeUsecs": 2_000_000, "endTimeUsecs": 5_000_000,
         "message": "target unreachable"},
    ]  # fmt: skip
    run = roll_up(v2)
    assert run.status == "kFailure" and run.stats is not None
    assert (run.stats.start_time_usecs, run.stats.end_time_usecs) == (1_000_000, 5_000_000)
    # the IBM/Cohesity fixture shape: an end (12) before its start (14) is caught
    with pytest.raises(InvalidRunTask, match="end-time-before-start") as info:
        roll_up([{"status": "Succeeded", "startTimeUsecs": 14, "endTimeUsecs": 12}])
    assert info.value.path == "copySnapshotTasks[0].taskEndTimeUsecs"
    # a message on a state that takes no error stays an unmodelled key, not a violation
    warned = {"status": "Succeeded", "startTimeUsecs": 1, "endTimeUsecs": 2, "message": "ok"}
    assert roll_up([warned]).status == "kSuccess"
