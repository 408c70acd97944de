"""Tracking through the shared machine: legality, stamps, errors, listeners, transitions' path."""

from __future__ import annotations

import gc
import itertools
import sys
from collections.abc import Callable
from pathlib import Path

import attrs
import orjson
import pytest
from transitions import MachineError

from tasklife.errors import InvalidRecord, InvalidTransition, TaskLifeError
from tasklife.lifecycle import COPY_TASK, COPY_TASK_6_8, Lifecycle
from tasklife.models import CopySnapshotTaskStatus
from tasklife.tracking import CopyTaskTriggers, JournalEntry, Task, machine_for


def ticking(start: int = 1_000, step: int = 10) -> Callable[[], int]:
    counter = itertools.count(start, step)
    return lambda: next(counter)


def snapshot(record: Task) -> dict[str, object]:
    return {**attrs.asdict(record, recurse=False), "journal": list(record.journal or [])}


def private_lifecycle() -> Lifecycle:
    """A copy of copy-task with its own machine, so callbacks attached in a test stay local."""
    return Lifecycle.from_dictionary({**COPY_TASK.to_dictionary(), "name": "copy-task-private"})


@pytest.mark.parametrize(("trigger", "source"), sorted(COPY_TASK.table))
def test_every_table_row_fires_and_lands_on_its_destination(trigger: str, source: str) -> None:
    task = Task(status=source, clock=ticking())
    error = (
        "boom" if COPY_TASK.state(COPY_TASK.table[trigger, source]).outcome == "failure" else None
    )
    assert task.fire(trigger, error=error) is True
    assert task.status == COPY_TASK.table[trigger, source]


@pytest.mark.parametrize(
    ("trigger", "source"),
    [
        (t, s)
        for t in COPY_TASK.triggers
        for s in COPY_TASK.state_names
        if (t, s) not in COPY_TASK.table
    ],
)
def test_every_illegal_pair_is_refused_and_leaves_the_record_alone(
    trigger: str, source: str
) -> None:
    task = Task(status=source, clock=ticking(), journal=[])
    before = snapshot(task)
    with pytest.raises(InvalidTransition) as info:
        task.fire(trigger, error="boom")
    assert isinstance(info.value, MachineError)
    assert repr(trigger) in str(info.value) and repr(source) in str(info.value)
    for allowed in COPY_TASK.triggers_from(source):
        assert allowed in str(info.value)
    assert info.value.allowed == COPY_TASK.triggers_from(source)
    assert info.value.record is task and repr(task) not in str(info.value)  # carried, not shown
    assert snapshot(task) == before


def test_unknown_trigger_names_the_allowed_ones() -> None:
    with pytest.raises(
        InvalidTransition, match="allowed triggers: start, hold, fail, cancel, miss"
    ):
        Task().fire("explode")


def test_typed_methods_are_exactly_the_copy_task_triggers() -> None:
    methods = {
        name
        for name, value in vars(CopyTaskTriggers).items()
        if callable(value) and not name.startswith("_")
    }
    assert methods == set(COPY_TASK.triggers)


def test_start_and_end_are_stamped_from_the_clock_and_resume_keeps_the_start() -> None:
    task = Task(clock=ticking(100, 1))
    task.start()
    assert (task.task_start_time_usecs, task.task_end_time_usecs) == (100, None)
    task.hold()
    task.resume()
    assert task.task_start_time_usecs == 100
    task.succeed()
    assert (task.status, task.task_start_time_usecs, task.task_end_time_usecs) == (
        "kSuccess",
        100,
        103,
    )
    assert task.error is None


def test_at_usecs_overrides_the_clock_and_is_checked() -> None:
    task = Task(clock=ticking())
    task.start(at_usecs=5)
    assert task.task_start_time_usecs == 5
    for bad in (-1, 1.5, True, "7"):
        with pytest.raises(InvalidRecord, match="at_usecs"):
            task.fire("succeed", at_usecs=bad)  # type: ignore[arg-type]
        assert task.status == "kRunning"


def test_default_clock_is_the_wall_clock_in_microseconds() -> None:
    import time

    before = time.time_ns() // 1000
    task = Task()
    task.start()
    assert before <= task.task_start_time_usecs <= time.time_ns() // 1000  # type: ignore[operator]


def test_fail_needs_a_message_and_only_fail_sets_error() -> None:
    task = Task(clock=ticking())
    task.start()
    for empty in ("", None):
        with pytest.raises(InvalidRecord, match="non-empty error"):
            task.fire("fail", error=empty)
    with pytest.raises(InvalidRecord, match="only set on failure"):
        task.fire("succeed", error="nope")
    assert (task.status, task.error, task.task_end_time_usecs) == ("kRunning", None, None)
    task.fail("disk full")
    assert (task.status, task.error) == ("kFailure", "disk full")


def test_a_task_that_never_ran_has_no_start() -> None:
    task = Task(clock=ticking())
    task.miss()
    assert task.task_start_time_usecs is None and task.task_end_time_usecs == 1000


def test_final_states_are_final() -> None:
    for final in COPY_TASK.final_states:
        task = Task(status=final)
        assert task.allowed_triggers() == () and task.is_final
        for trigger in COPY_TASK.triggers:
            assert not task.may(trigger)


def test_journal_keeps_the_history_only_when_asked() -> None:
    task = Task(clock=ticking(), journal=[])
    task.start()
    task.cancel()
    task.confirm_cancel()
    assert task.journal == [
        JournalEntry("start", "kAccepted", "kRunning", 1000),
        JournalEntry("cancel", "kRunning", "kCanceling", 1010),
        JournalEntry("confirm_cancel", "kCanceling", "kCanceled", 1020),
    ]
    assert Task().journal is None


def test_equal_records_are_two_tasks() -> None:
    a, b = Task(clock=ticking()), Task(clock=ticking())
    a.start()
    assert b.status == "kAccepted"


def test_records_get_nothing_injected_and_the_machine_has_no_models() -> None:
    task = Task()
    task.start()
    assert not hasattr(task, "__dict__")
    assert not hasattr(task, "to_kRunning") and not hasattr(task, "may_start")
    machine = machine_for(COPY_TASK)
    assert machine.models == []
    assert not any(t.startswith("to_") for t in machine.get_triggers(*COPY_TASK.state_names))


def test_the_machine_keeps_no_reference_to_a_record() -> None:
    lifecycle = private_lifecycle()
    record = Task.for_lifecycle(lifecycle)(clock=ticking())
    base = sys.getrefcount(record)
    record.start()
    assert sys.getrefcount(record) == base
    machine_for(lifecycle).on_enter_kOnHold(lambda event: None)  # transitions' own path
    record.hold()
    gc.collect()
    assert sys.getrefcount(record) == base


def test_one_machine_per_lifecycle() -> None:
    assert machine_for("copy-task") is machine_for(COPY_TASK)
    assert machine_for(COPY_TASK_6_8) is not machine_for(COPY_TASK)
    assert machine_for(COPY_TASK).auto_transitions is False


def test_listeners_receive_each_transition() -> None:
    lifecycle = private_lifecycle()
    machine = machine_for(lifecycle)
    seen: list[tuple[object, ...]] = []

    @machine.add_listener
    def listen(record: object, source: str, dest: str, trigger: str, at: int) -> None:
        seen.append((record, source, dest, trigger, at))

    task = Task.for_lifecycle(lifecycle)(clock=ticking())
    task.start()
    task.warn()
    assert seen == [
        (task, "kAccepted", "kRunning", "start", 1000),
        (task, "kRunning", "kWarning", "warn", 1010),
    ]
    machine.remove_listener(listen)
    Task.for_lifecycle(lifecycle)().start()
    assert len(seen) == 2


def test_transitions_callbacks_and_conditions_apply_in_their_documented_order() -> None:
    lifecycle = private_lifecycle()
    machine = machine_for(lifecycle)
    order: list[str] = []
    allow = {"ok": False}

    def condition(event: object) -> bool:
        order.append("condition")
        return allow["ok"]

    machine.prepare_event = lambda event: order.append("prepare")
    for transition in machine.get_transitions("start"):  # mutated by hand: no refresh needed
        transition.conditions.append(machine.transition_cls.condition_cls(condition))
    machine.before_state_change = lambda event: order.append(f"before:{event.model.status}")
    machine.on_exit_kAccepted(lambda event: order.append("exit"))
    machine.on_enter_kRunning(
        lambda event: order.append(
            f"enter:{event.model.status}:{event.model.task_start_time_usecs}"
        )
    )
    machine.after_state_change = lambda event: order.append(f"after:{event.kwargs['note']}")

    task = Task.for_lifecycle(lifecycle)(clock=ticking(), journal=[])
    assert task.fire("start", note="x") is False  # the condition vetoed it
    assert (task.status, task.task_start_time_usecs, task.journal) == ("kAccepted", None, [])
    allow["ok"] = True
    order.clear()
    assert task.fire("start", note="y") is True
    assert order == [
        "prepare",
        "condition",
        "before:kAccepted",
        "exit",
        "enter:kRunning:1010",
        "after:y",
    ]
    assert task.journal == [JournalEntry("start", "kAccepted", "kRunning", 1010)]
    with pytest.raises(InvalidTransition):
        task.fire("start")


def test_other_lifecycles_bind_their_own_record_class() -> None:
    Task68 = Task.for_lifecycle("copy-task-6.8")
    task = Task68(clock=ticking())
    task.start()
    task.fire("finalize")
    task.succeed()
    assert (task.status, task.task_end_time_usecs) == ("kSuccess", 1020)
    with pytest.raises(InvalidRecord, match=r"copy-task-6\.8"):
        Task(status="kFinalizing")


def test_the_machine_is_the_table_and_nothing_else() -> None:
    machine = machine_for(private_lifecycle())
    with pytest.raises(TaskLifeError, match="built from its lifecycle table"):
        machine.add_transition("teleport", "kAccepted", "kSuccess")
    with pytest.raises(TaskLifeError, match="add states to the table"):
        machine.add_states(["kLimbo"])


EXAMPLES = sorted(
    (Path(__file__).resolve().parents[2] / "examples" / "copy-snapshot-tasks").glob("*.json")
)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_a_loaded_record_continues_its_lifecycle_from_its_status(path: Path) -> None:
    document = orjson.loads(path.read_bytes())
    document["retentionPeriod"] = 7  # a newer SDK's key rides along
    for trigger in COPY_TASK.triggers_from(document["status"]):
        record = CopySnapshotTaskStatus.from_dictionary(
            document, clock=lambda: 1_719_000_000_000_000
        )
        assert record is not None
        dest = COPY_TASK.table[trigger, document["status"]]
        record.fire(trigger, error="lost" if dest == "kFailure" else None)
        out = record.to_dictionary()
        assert out["status"] == dest and out["retentionPeriod"] == 7
        started = document.get("taskStartTimeUsecs")
        if dest in COPY_TASK.ran_states:
            assert out["taskStartTimeUsecs"] == (started or 1_719_000_000_000_000)
        if COPY_TASK.is_final(dest):
            assert out["taskEndTimeUsecs"] == 1_719_000_000_000_000
        assert (out.get("error") is not None) == (dest == "kFailure")
    if COPY_TASK.is_final(document["status"]):
        record = CopySnapshotTaskStatus.from_dictionary(document)
        assert record is not None and record.allowed_triggers() == ()
