"""validate(): one task's history, strict and polling, statuses, pairs, snapshots, vocabularies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tasklife.errors import InvalidRecord
from tasklife.lifecycle import COPY_TASK, get_lifecycle
from tasklife.models import CopySnapshotTaskStatus
from tasklife.validation import KIND_NAMES, validate
from tasklife.validation.rules import state_rules

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DOCS = {
    p.stem: json.loads(p.read_text()) for p in (EXAMPLES / "copy-snapshot-tasks").glob("*.json")
}


def kinds(report: Any) -> list[str]:
    return [v.kind for v in report.violations]


# -- transitions ------------------------------------------------------------------------------


def test_legal_history_with_reobservations_is_valid() -> None:
    report = validate(["kAccepted", "kAccepted", "kRunning", "kOnHold", "kRunning", "kWarning"])
    assert report and report.violations == () and report.events == 6


def test_strict_rejects_a_skipped_status_and_names_the_explaining_path() -> None:
    report = validate(["kAccepted", "kSuccess"])
    assert not report
    (v,) = report.violations
    assert (v.index, v.kind, v.source, v.dest, v.path) == (
        1,
        "illegal-transition",
        "kAccepted",
        "kSuccess",
        ("start", "succeed"),
    )
    assert "start, succeed" in v.message and "polling" in v.message


def test_polling_explains_the_gap_with_the_shortest_path() -> None:
    report = validate(["kAccepted", "kSuccess"], mode="polling")
    assert report
    (gap,) = report.gaps
    assert (gap.index, gap.source, gap.dest, gap.path) == (
        1,
        "kAccepted",
        "kSuccess",
        ("start", "succeed"),
    )
    canceled = validate(["kRunning", "kCanceled"], mode="polling").gaps[0].path
    assert canceled == ("cancel", "confirm_cancel")


def test_polling_still_rejects_unreachable_destinations() -> None:
    report = validate(["kRunning", "kAccepted", "kMissed"], mode="polling")
    assert kinds(report) == ["illegal-transition"]
    v = report.violations[0]
    assert v.path is None and v.message == (
        "kRunning -> kAccepted: no transition of 'copy-task' leads there"
    )


def test_status_after_a_final_one() -> None:
    report = validate(["kRunning", "kSuccess", "kSuccess", "kRunning"], mode="polling")
    (v,) = report.violations
    assert (v.index, v.kind, v.source, v.dest) == (3, "after-final", "kSuccess", "kRunning")


def test_judging_resyncs_to_the_observed_status_after_a_violation() -> None:
    # kMissed -> kRunning is after-final; from then on kRunning is the current status.
    report = validate(["kAccepted", "kMissed", "kRunning", "kSuccess"])
    assert [(v.index, v.kind) for v in report.violations] == [(2, "after-final")]


def test_unknown_status_is_skipped_and_names_the_lifecycle_that_knows_it() -> None:
    report = validate(["kRunning", "kFinalizing", "kSuccess"])
    (v,) = report.violations
    assert (v.index, v.kind, v.source, v.dest) == (1, "unknown-status", "kRunning", "kFinalizing")
    assert "copy-task-6.8" in v.message
    assert validate(["kRunning", "kFinalizing", "kSuccess"], lifecycle="copy-task-6.8")


def test_first_status_may_be_any_state() -> None:
    assert validate(["kRunning", "kSuccess"])


def test_require_final() -> None:
    report = validate(["kAccepted", "kRunning", "bogus"], require_final=True)
    assert kinds(report) == ["unknown-status", "still-active"]
    assert report.violations[1].index == 1
    assert validate(["kAccepted", "kRunning", "kSuccess"], require_final=True)


# -- times ------------------------------------------------------------------------------------


def test_pairs_time_went_backwards() -> None:
    report = validate([("kAccepted", 10), ("kRunning", 30), ("kSuccess", 20)])
    (v,) = report.violations
    assert (v.index, v.kind) == (2, "time-went-backwards")
    assert "20" in v.message and "30" in v.message
    assert validate([("kAccepted", 10), ("kRunning", 10), ("kSuccess", 20)])


# -- snapshots --------------------------------------------------------------------------------


def test_real_shaped_documents_are_consistent_one_by_one() -> None:
    for name, doc in DOCS.items():
        assert validate([doc]), name


def test_a_poll_of_real_shaped_documents() -> None:
    polls = [DOCS["kAccepted"], DOCS["kRunning"], DOCS["kCanceling"], DOCS["kCanceled"]]
    # the documents come from different tasks, but their stamps agree with one story
    assert validate(polls, mode="polling")


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ([{"status": "kRunning", "taskStartTimeUsecs": None}], ["start-time-missing"]),
        (
            [
                {"status": "kRunning", "taskStartTimeUsecs": 5},
                {"status": "kRunning", "taskStartTimeUsecs": 6},
            ],
            ["start-time-changed"],
        ),
        (
            [
                {"status": "kOnHold", "taskStartTimeUsecs": 5},
                {"status": "kRunning", "taskStartTimeUsecs": None},
            ],
            ["start-time-missing"],
        ),
        (
            [{"status": "kSuccess", "taskStartTimeUsecs": 5, "taskEndTimeUsecs": None}],
            ["end-time-missing"],
        ),
        (
            [{"status": "kSuccess", "taskStartTimeUsecs": 5, "taskEndTimeUsecs": 4}],
            ["end-time-before-start"],
        ),
        (
            [{"status": "kRunning", "taskStartTimeUsecs": 5, "taskEndTimeUsecs": 9}],
            ["end-time-while-active"],
        ),
        (
            [
                {"status": "kSuccess", "taskStartTimeUsecs": 5, "taskEndTimeUsecs": 9},
                {"status": "kSuccess", "taskStartTimeUsecs": 5, "taskEndTimeUsecs": 10},
            ],
            ["end-time-changed"],
        ),
        (
            [
                {"status": "kCanceled", "taskStartTimeUsecs": 5, "taskEndTimeUsecs": 9},
                {"status": "kCanceled", "taskStartTimeUsecs": 5, "taskEndTimeUsecs": None},
            ],
            ["end-time-missing"],
        ),
        (
            [{"status": "kRunning", "taskStartTimeUsecs": 5, "error": "boom"}],
            ["error-without-failure"],
        ),
        ([{"status": "kFailure", "error": ""}], ["failure-without-error"]),
        ([{"status": "kFailure", "error": "disk full"}], []),
        (
            [
                {
                    "status": "kMissed",
                    "error": None,
                    "taskStartTimeUsecs": None,
                    "taskEndTimeUsecs": None,
                }
            ],
            [],
        ),
        ([{"status": "kCanceled"}], []),
    ],
)
def test_snapshot_rules(history: list[dict[str, Any]], expected: list[str]) -> None:
    assert kinds(validate(history)) == expected


def test_snapshot_violation_messages_name_the_stamps() -> None:
    report = validate(
        [
            {"status": "kRunning", "taskStartTimeUsecs": 5},
            {"status": "kRunning", "taskStartTimeUsecs": 6},
        ]
    )
    assert report.violations[0].message == "taskStartTimeUsecs changed from 5 to 6"
    report = validate([{"status": "kWarning", "taskStartTimeUsecs": 7, "taskEndTimeUsecs": 3}])
    assert report.violations[0].message == "taskEndTimeUsecs 3 is before taskStartTimeUsecs 7"


def test_several_kinds_on_one_event_come_in_kinds_order() -> None:
    history = [
        {"status": "kRunning", "taskStartTimeUsecs": 5, "atUsecs": 9},
        {
            "status": "kAccepted",
            "taskStartTimeUsecs": 6,
            "taskEndTimeUsecs": 1,
            "error": "x",
            "atUsecs": 8,
        },
    ]
    got = kinds(validate(history))
    assert got == sorted(got, key=KIND_NAMES.index)
    assert got == [
        "illegal-transition",
        "time-went-backwards",
        "start-time-changed",
        "end-time-before-start",
        "end-time-while-active",
        "error-without-failure",
    ]


def test_status_only_dicts_are_not_judged_as_snapshots() -> None:
    assert validate([{"status": "kRunning", "atUsecs": 1}, {"status": "kSuccess", "atUsecs": 2}])
    assert not validate([{"status": "kRunning", "atUsecs": 1}], snapshots=True)


def test_one_error_key_puts_no_other_event_into_snapshot_mode() -> None:
    """Issue 12, item 2: one event with ``error`` made every kRunning/kSuccess without
    ``taskStartTimeUsecs`` a start-time-missing; an absent key is no observation, null is."""
    history = [
        {"status": "kAccepted", "atUsecs": 1},
        {"status": "kRunning", "atUsecs": 2},
        {"status": "kFailure", "atUsecs": 3, "error": "worker lost"},
    ]
    assert validate(history)
    history[1]["taskStartTimeUsecs"] = None
    assert kinds(validate(history)) == ["start-time-missing"]


def test_records_are_snapshots() -> None:
    running = CopySnapshotTaskStatus.from_dictionary(DOCS["kRunning"])
    failed = CopySnapshotTaskStatus.from_dictionary(DOCS["kFailure"])
    assert validate([running, failed])
    bare = CopySnapshotTaskStatus.from_dictionary({"status": "kRunning"})
    assert kinds(validate([bare])) == ["start-time-missing"]


def test_a_tracked_record_journal_replays_valid() -> None:
    task = CopySnapshotTaskStatus.from_dictionary({"status": "kAccepted"})
    assert task is not None
    snapshots = [task.to_dictionary()]
    for trigger in ("start", "hold", "resume"):
        task.fire(trigger, at_usecs=100 + len(snapshots))
        snapshots.append(task.to_dictionary())
    task.fail("lost the dest", at_usecs=200)
    snapshots.append(task.to_dictionary())
    assert validate(snapshots), validate(snapshots).violations


# -- vocabularies -----------------------------------------------------------------------------


def test_v2_input_gets_v2_output() -> None:
    report = validate(["Accepted", "Succeeded"])
    v = report.violations[0]
    assert report.vocabulary == "v2" and (v.source, v.dest) == ("Accepted", "Succeeded")
    assert v.message.startswith("Accepted -> Succeeded")


def test_numeric_codes() -> None:
    report = validate([0, 4])
    assert report.vocabulary == "code"
    assert (report.violations[0].source, report.violations[0].dest) == (0, 4)
    assert validate([0, 1, 4])


def test_forced_vocabulary_refuses_the_other_names() -> None:
    report = validate(["kAccepted", "Running"], vocabulary="v1")
    (v,) = report.violations
    assert v.kind == "unknown-status" and "v2 name" in v.message
    assert validate(["Accepted", "Running"], vocabulary="v2")


def test_user_lifecycle_from_a_file() -> None:
    ci_file = EXAMPLES / "ci-job.toml"
    report = validate(["queued", "passed"], mode="polling", lifecycle=ci_file)
    assert report and report.lifecycle == "ci-job"
    assert report.gaps[0].path == ("start", "pass")
    strict = validate(["queued", "running", "failed", "running"], lifecycle=ci_file)
    assert kinds(strict) == ["after-final"]
    assert kinds(validate(["queued", "kRunning"], lifecycle=ci_file)) == ["unknown-status"]


# -- rules derived from the table, and bad input ------------------------------------------------


def test_rules_are_derived_from_the_table() -> None:
    assert state_rules(COPY_TASK).needs_start == {"kRunning", "kSuccess", "kWarning"}
    assert state_rules(get_lifecycle("copy-task-6.8")).needs_start == {
        "kRunning",
        "kSuccess",
        "kWarning",
        "kFinalizing",
    }
    assert state_rules(COPY_TASK).error_required == {"kFailure"}
    assert state_rules(COPY_TASK).error_forbidden == set(COPY_TASK.state_names) - {
        "kFailure",
        "kWarning",
    }


def test_the_error_rule_of_each_state_decides_both_error_kinds() -> None:
    """kWarning allows an error (copy-task's table), so neither kind applies to it."""
    warned = [{"status": "kRunning", "taskStartTimeUsecs": 1}]
    warned.append({"status": "kWarning", "taskStartTimeUsecs": 1, "taskEndTimeUsecs": 2})
    assert validate([*warned[:1], {**warned[1], "error": "slow target"}])
    assert validate([*warned[:1], {**warned[1], "error": None}])
    running = {"status": "kRunning", "taskStartTimeUsecs": 1, "error": "x"}
    assert [v.kind for v in validate([running]).violations] == ["error-without-failure"]


@pytest.mark.parametrize(
    ("history", "where"),
    [
        ([object()], "history[0]"),
        ([("kRunning", "soon")], "history[0][1]"),
        ([{"atUsecs": 1}], "history[0].status"),
        ([{"status": "kRunning", "taskStartTimeUsecs": 1.5}], "history[0].taskStartTimeUsecs"),
        ([{"status": "kFailure", "error": 7}], "history[0].error"),
    ],
)
def test_bad_items_raise_invalid_record_naming_the_field(history: list[Any], where: str) -> None:
    with pytest.raises(InvalidRecord) as info:
        validate(history)
    assert info.value.path == where


def test_bad_mode_and_vocabulary() -> None:
    with pytest.raises(ValueError, match="mode"):
        validate(["kRunning"], mode="lenient")
    with pytest.raises(ValueError, match="vocabulary"):
        validate(["kRunning"], vocabulary="v3")


def test_report_kinds_and_dict() -> None:
    report = validate(["kRunning", "kAccepted", "kMissed", "kRunning"])
    assert report.counts == {"illegal-transition": 1, "after-final": 1}
    d = report.violations[0].to_dictionary()
    assert d["kind"] == "illegal-transition" and d["path"] is None and d["index"] == 1
