"""transitions' own callbacks under tasklife's rules, and the private hooks we rely on.

``tasklife.tracking.machine`` overrides one private hook of transitions and wraps the private
lists behind the machine's callback properties. If a transitions release changes them, the
first tests here fail loudly, naming what changed.
"""

from __future__ import annotations

import importlib.metadata
import inspect
from collections.abc import Callable
from typing import Any

import pytest
from transitions import Machine, Transition
from transitions.core import Event

from tasklife.errors import AfterTransitionError, InvalidTransition
from tasklife.lifecycle import Lifecycle
from tasklife.tracking import Task, machine_for
from tasklife.tracking.machine import _MACHINE_LISTS


def test_transitions_still_changes_state_through_the_private_hook() -> None:
    source = inspect.getsource(Transition.execute)
    assert "self._change_state(event_data)" in source, (
        "transitions.Transition.execute no longer calls self._change_state(event_data): "
        "tasklife.tracking.machine.StampingTransition must be adapted"
    )
    assert list(inspect.signature(Transition._change_state).parameters) == ["self", "event_data"]
    assert "kwargs=kwargs" in inspect.getsource(Event.trigger)


def test_the_machine_callback_properties_still_keep_private_lists() -> None:
    machine = Machine(model=None, states=["a"], initial="a")
    for name in _MACHINE_LISTS:
        private = f"_{name}"
        assert isinstance(getattr(machine, private, None), list), (
            f"transitions.Machine has no list {private!r} behind {name!r} any more"
        )
        setattr(machine, name, print)
        assert getattr(machine, private) == [print], f"{name!r} no longer sets {private!r}"


def test_transitions_is_pinned_to_the_tested_minor_range() -> None:
    requirement = next(
        r for r in importlib.metadata.requires("tasklife") or [] if r.startswith("transitions")
    )
    assert sorted(requirement.replace(" ", "")[len("transitions") :].split(",")) == [
        "<0.10",
        ">=0.9.2",
    ]
    major, minor, *_ = importlib.metadata.version("transitions").split(".")
    assert (int(major), int(minor)) == (0, 9)


def test_an_exception_in_on_enter_leaves_the_move_heard_and_raised(
    fresh_lifecycle: Callable[[], Lifecycle],
) -> None:
    lifecycle = fresh_lifecycle()
    seen: list[str] = []

    def broken(event: Any) -> None:
        raise OSError("enter failed")

    machine_for(lifecycle).on_enter_kRunning(broken)
    machine_for(lifecycle).add_listener(lambda record, s, d, t, at: seen.append(d))
    job = Task.for_lifecycle(lifecycle)()
    with pytest.raises(AfterTransitionError) as info:
        job.start()
    assert job.status == "kRunning" and seen == ["kRunning"]
    assert [type(e) for e in info.value.exceptions] == [OSError]


def test_an_exception_in_after_state_change_is_raised_after_listeners_ran(
    fresh_lifecycle: Callable[[], Lifecycle],
) -> None:
    lifecycle = fresh_lifecycle()
    seen: list[str] = []

    def broken(event: Any) -> None:
        raise RuntimeError("after failed")

    def also_broken(record: object, s: str, d: str, t: str, at: int) -> None:
        seen.append(d)
        raise KeyError(d)

    machine = machine_for(lifecycle)
    machine.after_state_change = broken
    machine.add_listener(also_broken)
    job = Task.for_lifecycle(lifecycle)(journal=[])
    with pytest.raises(AfterTransitionError) as info:
        job.start()
    assert [type(e) for e in info.value.exceptions] == [RuntimeError, KeyError]
    assert job.status == "kRunning" and len(job.journal or []) == 1 and seen == ["kRunning"]


def test_without_listeners_a_failing_after_callback_still_says_the_move_happened(
    fresh_lifecycle: Callable[[], Lifecycle],
) -> None:
    lifecycle = fresh_lifecycle()

    def broken(event: Any) -> None:
        raise RuntimeError("after failed")

    machine_for(lifecycle).after_state_change = broken
    job = Task.for_lifecycle(lifecycle)()
    with pytest.raises(AfterTransitionError, match="'start' moved"):
        job.start()
    assert job.status == "kRunning"


def test_an_exception_before_the_change_is_raised_as_is_and_nothing_moves(
    fresh_lifecycle: Callable[[], Lifecycle],
) -> None:
    lifecycle = fresh_lifecycle()
    seen: list[str] = []

    def veto_by_raising(event: Any) -> None:
        raise PermissionError("not now")

    machine_for(lifecycle).before_state_change = veto_by_raising
    machine_for(lifecycle).add_listener(lambda record, s, d, t, at: seen.append(d))
    job = Task.for_lifecycle(lifecycle)(journal=[])
    with pytest.raises(PermissionError):
        job.start()
    assert (job.status, job.journal, seen) == ("kAccepted", [], [])


def test_with_on_exception_fire_says_whether_the_status_changed(
    fresh_lifecycle: Callable[[], Lifecycle],
) -> None:
    lifecycle = fresh_lifecycle()
    handled: list[str] = []
    seen: list[str] = []

    def broken(event: Any) -> None:
        raise RuntimeError("after failed")

    machine = machine_for(lifecycle)
    machine.after_state_change = broken
    machine.on_exception = lambda event: handled.append(str(event.error))
    machine.add_listener(lambda record, s, d, t, at: seen.append(d))
    job = Task.for_lifecycle(lifecycle)()
    assert job.start() is True  # transitions says False; the status did change
    assert job.status == "kRunning" and handled == ["after failed"] and seen == ["kRunning"]


def test_a_condition_appended_by_hand_applies_at_once_and_removing_it_restores_the_fast_path(
    fresh_lifecycle: Callable[[], Lifecycle],
) -> None:
    lifecycle = fresh_lifecycle()
    machine = machine_for(lifecycle)
    assert machine.fast is not None
    (transition,) = machine.get_transitions("start")
    transition.conditions.append(machine.transition_cls.condition_cls(lambda event: False))
    assert machine.fast is None
    job = Task.for_lifecycle(lifecycle)()
    assert job.start() is False and job.status == "kAccepted"
    transition.conditions.clear()
    assert machine.fast is not None
    assert job.start() is True
    (succeed,) = machine.get_transitions("succeed")
    succeed.conditions = [machine.transition_cls.condition_cls(lambda event: False)]
    assert machine.fast is None and job.succeed() is False
    with pytest.raises(InvalidTransition):
        job.start()


def test_a_callback_that_moves_the_record_first_wins(
    fresh_lifecycle: Callable[[], Lifecycle],
) -> None:
    """A before-callback fires another trigger on the same record: that one wins and the
    outer trigger is refused (the record was no longer where it began)."""
    lifecycle = fresh_lifecycle()
    job = Task.for_lifecycle(lifecycle)(status="kRunning", task_start_time_usecs=1, journal=[])

    def sneak(event: Any) -> None:
        if event.event.name == "succeed":
            event.model.fire("hold")

    machine_for(lifecycle).before_state_change = sneak
    with pytest.raises(InvalidTransition):
        job.succeed()
    assert job.status == "kOnHold"
    assert [e.trigger for e in job.journal or []] == ["hold"]


def test_events_are_not_triggered_directly(fresh_lifecycle: Callable[[], Lifecycle]) -> None:
    lifecycle = fresh_lifecycle()
    machine = machine_for(lifecycle)
    machine.on_enter_kRunning(lambda event: None)
    with pytest.raises(Exception, match=r"record\.fire"):
        machine.events["start"].trigger(Task.for_lifecycle(lifecycle)())
