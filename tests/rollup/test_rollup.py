"""Roll-up of a copy run, on real-shaped documents built from the shared fixtures."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from cohesity_management_sdk.models.copy_run import CopyRun as SdkCopyRun
from cohesity_management_sdk.models.copy_run_stats import CopyRunStats as SdkCopyRunStats
from cohesity_management_sdk.models.copy_snapshot_task_status import (
    CopySnapshotTaskStatus as SdkTask,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from tasklife.errors import InvalidRecord, InvalidRunTask
from tasklife.lifecycle import COPY_TASK, COPY_TASK_6_8, load_lifecycle
from tasklife.models import CopySnapshotTaskStatus
from tasklife.rollup import RUN_OUTCOME_ORDER, RunRollUp, roll_up
from tasklife.tracking import Task

FIXTURES = Path("/work/shared/fixtures")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DOCS: dict[str, dict[str, Any]] = {
    f.stem.rsplit("_", 1)[1]: json.loads(f.read_text())
    for f in sorted(FIXTURES.glob("copy_snapshot_task_status_*.json"))
}
# Outcome precedence as issue 5 section 4 states it, in copy-task names.
FINAL_ORDER = ["kFailure", "kCanceled", "kMissed", "kWarning", "kSuccess"]


def doc(fixture: str, /, **changes: Any) -> dict[str, Any]:
    """A fresh copy of the fixture document in status ``fixture``, with top-level ``changes``."""
    d = copy.deepcopy(DOCS[fixture])
    for key, value in changes.items():
        if value is None:
            d.pop(key, None)
        else:
            d[key] = value
    return d


def never_ran(status: str) -> dict[str, Any]:
    """The fixture without any stats or start/end time: a task that never ran."""
    return doc(status, stats=None, taskStartTimeUsecs=None, taskEndTimeUsecs=None)


def test_fixtures_are_all_here() -> None:
    assert set(DOCS) == set(COPY_TASK.state_names)


# -- status precedence --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "present",
    [c for n in range(1, 6) for c in itertools.combinations(FINAL_ORDER, n)],
    ids=lambda c: "+".join(c),
)
def test_finished_run_takes_the_first_outcome_present(present: tuple[str, ...]) -> None:
    tasks = [doc(s) for s in present for _ in range(2)]
    run = roll_up(tasks)
    assert run.status == next(s for s in FINAL_ORDER if s in present)
    assert run.is_final


def test_outcome_order_is_by_class_not_name() -> None:
    assert RUN_OUTCOME_ORDER == ("failure", "canceled", "missed", "warning", "success")
    assert [COPY_TASK.state(s).klass for s in FINAL_ORDER] == list(RUN_OUTCOME_ORDER)


@pytest.mark.parametrize(
    ("tasks", "expected"),
    [
        # a task runs
        ([doc("kRunning"), doc("kAccepted")], "kRunning"),
        ([doc("kRunning"), doc("kFailure"), doc("kCanceling")], "kRunning"),
        # only queued tasks remain of a run under way (finished, or started: the fixtures have
        # starts): running
        ([doc("kSuccess"), doc("kAccepted")], "kRunning"),
        ([never_ran("kWarning"), never_ran("kAccepted")], "kRunning"),  # kWarning implies running
        # the unfinished tasks decide, whatever ran before (item 20): canceling > held > queued
        ([doc("kOnHold"), doc("kAccepted")], "kOnHold"),
        ([doc("kCanceling"), doc("kOnHold")], "kCanceling"),
        ([doc("kSuccess"), doc("kFailure"), doc("kCanceling")], "kCanceling"),
        ([doc("kWarning"), doc("kCanceling"), doc("kCanceling")], "kCanceling"),
        ([doc("kSuccess"), doc("kOnHold")], "kOnHold"),
        ([never_ran("kCanceling"), never_ran("kOnHold"), doc("kAccepted")], "kCanceling"),
        ([never_ran("kOnHold"), doc("kAccepted")], "kOnHold"),
        ([doc("kAccepted"), doc("kMissed")], "kAccepted"),
        ([doc("kAccepted"), never_ran("kFailure"), never_ran("kCanceled")], "kAccepted"),
        ([never_ran("kCanceling"), doc("kMissed")], "kCanceling"),
        ([doc("kAccepted")], "kAccepted"),
    ],
)
def test_unfinished_run_status(tasks: list[dict[str, Any]], expected: str) -> None:
    run = roll_up(tasks)
    assert run.status == expected
    assert not run.is_final


def test_precedence_does_not_depend_on_task_order() -> None:
    tasks = [doc(s) for s in DOCS]
    statuses = {
        roll_up(list(p)).status for p in itertools.islice(itertools.permutations(tasks), 50)
    }
    assert statuses == {"kRunning"}


# -- copy-task-6.8 and user lifecycles ----------------------------------------------------------


def finalizing(**changes: Any) -> dict[str, Any]:
    d = doc("kRunning", status="kFinalizing")
    d.update(changes)
    return d


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["kFinalizing", "kSuccess"], "kFinalizing"),  # every unfinished task finalizes
        (["kFinalizing", "kFinalizing", "kWarning"], "kFinalizing"),
        (["kFinalizing", "kRunning"], "kRunning"),  # the least advanced running task
        (["kFinalizing", "kAccepted"], "kRunning"),  # work still to be done
        (["kFinalizing", "kOnHold"], "kRunning"),
    ],
)
def test_copy_task_6_8(statuses: list[str], expected: str) -> None:
    tasks = [finalizing() if s == "kFinalizing" else doc(s) for s in statuses]
    run = roll_up(tasks, lifecycle="copy-task-6.8")
    assert run.status == expected
    assert run.lifecycle is COPY_TASK_6_8
    assert run.counts["kFinalizing"] == statuses.count("kFinalizing")


def test_finalizing_needs_copy_task_6_8() -> None:
    with pytest.raises(InvalidRunTask) as err:
        roll_up([doc("kSuccess"), finalizing()])
    assert err.value.index == 1
    assert err.value.path == "copySnapshotTasks[1].status"
    assert "copy-task-6.8" in str(err.value)


def test_user_lifecycle_with_tracked_tasks() -> None:
    ci = load_lifecycle(EXAMPLES / "ci-job.toml")
    job = Task.for_lifecycle(ci)
    clock = iter(range(1_000_000, 100_000_000, 1_000_000)).__next__
    a, b, c = job(clock=clock), job(clock=clock), job(clock=clock)
    run = roll_up([a, b, c], lifecycle=ci)
    assert run.status == "queued"
    assert run.stats is None
    a.fire("start")
    assert roll_up([a, b, c], lifecycle=ci).status == "running"
    a.fire("pass")
    assert roll_up([a, b, c], lifecycle=ci).status == "running"  # a has run
    b.fire("cancel")
    c.fire("start")
    c.fire("fail", error="3 tests failed")
    run = roll_up([a, b, c], lifecycle=ci)
    assert run.status == "failed"
    assert run.counts == {"queued": 0, "running": 0, "passed": 1, "failed": 1, "canceled": 1}
    assert run.stats is not None
    assert run.stats.start_time_usecs == 1_000_000  # the record stamps stand in for stats
    assert run.stats.end_time_usecs == c.task_end_time_usecs
    assert run.stats.logical_bytes_transferred is None
    assert run.stats.logical_transfer_rate_bps is None


# -- counts and stats ---------------------------------------------------------------------------


def test_counts_cover_every_state_in_table_order() -> None:
    tasks = [doc("kSuccess")] * 3 + [doc("kWarning"), doc("kMissed")]
    run = roll_up(tasks)
    assert list(run.counts) == list(COPY_TASK.state_names)
    assert run.counts["kSuccess"] == 3
    assert run.counts["kWarning"] == run.counts["kMissed"] == 1
    assert run.counts["kRunning"] == 0
    assert sum(run.counts.values()) == run.task_count == 5


@pytest.mark.parametrize("status", ["kSuccess", "kWarning", "kFailure", "kCanceled"])
def test_single_task_run_reproduces_the_documents_own_rate(status: str) -> None:
    stats = DOCS[status]["stats"]
    run = roll_up([doc(status)])
    assert run.stats is not None
    assert run.stats.logical_transfer_rate_bps == stats["logicalTransferRateBps"]
    assert run.stats.to_dictionary() == stats


def test_stats_of_a_finished_run() -> None:
    tasks = [doc(s) for s in FINAL_ORDER]
    run = roll_up(tasks)
    stats = [DOCS[s]["stats"] for s in FINAL_ORDER if DOCS[s].get("stats")]
    assert run.stats is not None
    for key, attr in [
        ("logicalBytesTransferred", "logical_bytes_transferred"),
        ("logicalSizeBytes", "logical_size_bytes"),
        ("physicalBytesTransferred", "physical_bytes_transferred"),
    ]:
        assert getattr(run.stats, attr) == sum(s[key] for s in stats)
    start = min(s["startTimeUsecs"] for s in stats)
    end = max(s["endTimeUsecs"] for s in stats)
    assert (run.stats.start_time_usecs, run.stats.end_time_usecs) == (start, end)
    expected_rate = int(run.stats.logical_bytes_transferred / ((end - start) / 1e6))
    assert run.stats.logical_transfer_rate_bps is not None
    assert abs(run.stats.logical_transfer_rate_bps - expected_rate) <= 1
    assert run.stats.is_incremental is False  # the kWarning document is a full copy


def test_stats_of_an_unfinished_run_have_no_end_nor_rate() -> None:
    run = roll_up([doc("kSuccess"), doc("kRunning")])
    assert run.stats is not None
    assert run.stats.end_time_usecs is None
    assert run.stats.logical_transfer_rate_bps is None
    assert run.stats.start_time_usecs == 1718000000000000
    assert run.stats.logical_bytes_transferred == (
        DOCS["kSuccess"]["stats"]["logicalBytesTransferred"]
        + DOCS["kRunning"]["stats"]["logicalBytesTransferred"]
    )
    assert run.stats.is_incremental is True


def test_run_with_no_stats_at_all() -> None:
    run = roll_up([doc("kMissed"), doc("kAccepted")])
    assert run.stats is None


def test_stats_agree_with_the_real_sdk() -> None:
    run = roll_up([doc(s) for s in DOCS if s not in ("kRunning",)] + [doc("kRunning")])
    assert run.stats is not None
    wire = run.stats.to_dictionary()
    sdk = SdkCopyRunStats.from_dictionary(wire)
    for attr in (
        "start_time_usecs",
        "end_time_usecs",
        "logical_bytes_transferred",
        "logical_size_bytes",
        "physical_bytes_transferred",
        "logical_transfer_rate_bps",
        "is_incremental",
    ):
        assert getattr(sdk, attr) == getattr(run.stats, attr)


def test_a_real_copy_run_document() -> None:
    """A CopyRun as the SDK reads it: its tasks rolled up, as SDK objects and as dicts."""
    copy_run: dict[str, Any] = {
        "copySnapshotTasks": [doc("kSuccess"), doc("kWarning"), doc("kFailure"), doc("kMissed")],
        "runStartTimeUsecs": 1718000000000000,
        "status": "kFailure",
    }
    sdk_run = SdkCopyRun.from_dictionary(copy.deepcopy(copy_run))
    from_sdk = roll_up(sdk_run.copy_snapshot_tasks)
    from_dicts = roll_up(copy_run["copySnapshotTasks"])
    assert from_sdk == from_dicts
    assert from_dicts.status == sdk_run.status == "kFailure"
    assert from_dicts.stats is not None
    assert from_dicts.stats.start_time_usecs == sdk_run.run_start_time_usecs


@pytest.mark.parametrize("vocabulary", ["v1", "v2", "code"])
def test_the_roll_up_writes_back_into_a_real_copy_run(vocabulary: str) -> None:
    """to_dictionary() merged into the run's document is read by the SDK as the run's status
    and stats; the tasks and the run's other fields are left as they were."""
    tasks = [doc("kSuccess"), doc("kWarning"), doc("kRunning")]
    copy_run = {"copySnapshotTasks": tasks, "runStartTimeUsecs": 1718000000000000}
    run = roll_up(tasks)
    wire = run.to_dictionary(vocabulary)
    sdk_run = SdkCopyRun.from_dictionary(copy.deepcopy({**copy_run, **wire}))
    assert COPY_TASK.canonical(sdk_run.status) == run.status == "kRunning"
    assert sdk_run.status == COPY_TASK.translate("kRunning", vocabulary)
    assert run.stats is not None and run.stats.end_time_usecs is None  # not final yet
    assert sdk_run.stats.start_time_usecs == run.stats.start_time_usecs
    assert sdk_run.stats.logical_bytes_transferred == run.stats.logical_bytes_transferred
    assert set(wire) == {"status", "stats"}
    assert roll_up([{"status": "kAccepted"}]).to_dictionary() == {"status": "kAccepted"}
    with pytest.raises(ValueError, match="vocabulary must be one of v1, v2, code, got 'v3'"):
        run.to_dictionary("v3")


def test_records_and_dicts_give_the_same_roll_up() -> None:
    tasks = [doc(s) for s in DOCS]
    records = [CopySnapshotTaskStatus.from_dictionary(d) for d in tasks]
    assert roll_up(records) == roll_up(tasks)
    assert roll_up(iter(tasks)) == roll_up(tasks)  # any iterable


def test_tracked_records_as_they_go() -> None:
    clock = iter(range(10_000_000, 900_000_000, 10_000_000)).__next__
    tasks = [CopySnapshotTaskStatus(clock=clock) for _ in range(3)]
    assert roll_up(tasks).status == "kAccepted"
    tasks[0].start()
    tasks[1].hold()
    assert roll_up(tasks).status == "kRunning"
    tasks[0].succeed()
    tasks[1].resume()
    tasks[1].warn()
    tasks[2].cancel()
    assert roll_up(tasks).status == "kCanceling"  # only a cancel remains: pollers see canceling
    tasks[2].confirm_cancel()
    run = roll_up(tasks)
    assert run.status == "kCanceled"
    assert run.stats is not None
    assert run.stats.start_time_usecs == tasks[0].task_start_time_usecs
    assert run.stats.end_time_usecs == tasks[2].task_end_time_usecs


def test_v2_names_and_codes_are_read() -> None:
    tasks = [doc("kSuccess", status="Succeeded"), doc("kFailure", status=5), doc("kWarning")]
    assert roll_up(tasks).status == "kFailure"
    assert roll_up(tasks).counts["kSuccess"] == 1


def test_run_roll_up_is_a_value() -> None:
    run = roll_up([doc("kSuccess")])
    assert isinstance(run, RunRollUp)
    with pytest.raises(AttributeError):
        run.status = "kFailure"  # type: ignore[misc]
    assert "kSuccess" in repr(run)


# -- bad input ----------------------------------------------------------------------------------


def test_empty_run_is_an_error() -> None:
    with pytest.raises(InvalidRunTask) as err:
        roll_up([])
    assert err.value.index is None
    assert err.value.path == "copySnapshotTasks"
    assert "at least one task" in str(err.value)
    assert isinstance(err.value, InvalidRecord) and isinstance(err.value, ValueError)


def test_the_run_document_instead_of_its_tasks_is_an_error() -> None:
    with pytest.raises(InvalidRunTask, match="list of a run's tasks"):
        roll_up({"copySnapshotTasks": [doc("kSuccess")]})


@pytest.mark.parametrize(
    ("bad", "path", "value"),
    [
        ("kSuccess", "copySnapshotTasks[2]", "kSuccess"),
        (7, "copySnapshotTasks[2]", 7),
        ({"status": "kBogus"}, "copySnapshotTasks[2].status", "kBogus"),
        ({"status": 9}, "copySnapshotTasks[2].status", 9),
        ({"stats": {}}, "copySnapshotTasks[2].status", None),
        (
            doc("kSuccess", stats={"startTimeUsecs": -5}),
            "copySnapshotTasks[2].stats.startTimeUsecs",
            -5,
        ),
        (
            doc("kSuccess", stats={"logicalBytesTransferred": "12"}),
            "copySnapshotTasks[2].stats.logicalBytesTransferred",
            "12",
        ),
        (
            doc("kSuccess", stats={"startTimeUsecs": 50, "endTimeUsecs": 40}),
            "copySnapshotTasks[2].stats.endTimeUsecs",
            40,
        ),
        (
            doc("kSuccess", stats=None, taskStartTimeUsecs=50, taskEndTimeUsecs=40),
            "copySnapshotTasks[2].taskEndTimeUsecs",
            40,
        ),
    ],
)
def test_bad_task_names_its_index_and_field(bad: Any, path: str, value: Any) -> None:
    tasks = [doc("kSuccess"), doc("kRunning"), bad]
    before = copy.deepcopy(tasks)
    with pytest.raises(InvalidRunTask) as err:
        roll_up(tasks)
    assert err.value.index == 2
    assert err.value.path == path
    assert err.value.value == value
    assert str(err.value).startswith(path + ": ")
    assert tasks == before  # the input is never changed


@pytest.mark.parametrize(
    ("stats", "path"),
    [
        ({"logicalSizeBytes": "big"}, "copySnapshotTasks[0].stats.logicalSizeBytes"),
        ({"isIncremental": "yes"}, "copySnapshotTasks[0].stats.isIncremental"),
        ({"endTimeUsecs": True}, "copySnapshotTasks[0].stats.endTimeUsecs"),
    ],
)
def test_unchecked_sdk_objects_are_checked(stats: dict[str, Any], path: str) -> None:
    # The SDK type-checks nothing, so its objects can carry any value.
    task = SdkTask.from_dictionary({"status": "kSuccess", "stats": stats})
    with pytest.raises(InvalidRunTask) as err:
        roll_up([task])
    assert err.value.path == path


def test_record_bound_to_another_lifecycle_with_an_unknown_status() -> None:
    task = CopySnapshotTaskStatus.for_lifecycle("copy-task-6.8").from_dictionary(finalizing())
    with pytest.raises(InvalidRunTask, match=r"copySnapshotTasks\[0\]\.status"):
        roll_up([task])
    assert roll_up([task], lifecycle=COPY_TASK_6_8).status == "kFinalizing"


# -- properties ---------------------------------------------------------------------------------

statuses = st.lists(st.sampled_from(sorted(DOCS)), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(statuses, st.randoms(use_true_random=False))
def test_roll_up_properties(picked: list[str], rnd: Any) -> None:
    tasks = [doc(s) for s in picked]
    run = roll_up(tasks)
    shuffled = tasks[:]
    rnd.shuffle(shuffled)
    assert roll_up(shuffled) == run
    assert run.task_count == len(picked) == sum(run.counts.values())
    assert all(run.counts[s] == picked.count(s) for s in COPY_TASK.state_names)
    finished = all(COPY_TASK.is_final(s) for s in picked)
    assert run.is_final == finished
    if finished:
        assert run.status == min(picked, key=FINAL_ORDER.index)
    else:
        assert not COPY_TASK.is_final(run.status)
        unfinished = {COPY_TASK.state(s).klass for s in picked if not COPY_TASK.is_final(s)}
        phase = next(p for p in ("active", "canceling", "held", "queued") if p in unfinished)
        ran = any(s != "kAccepted" and s != "kMissed" for s in picked)  # these fixtures all ran
        if phase == "queued" and ran:
            assert run.status == "kRunning"
        else:
            assert COPY_TASK.state(run.status).klass == phase
