"""Random trigger sequences never break the lifecycle invariants (hypothesis state machine)."""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tasklife.errors import InvalidRecord, InvalidTransition
from tasklife.lifecycle import COPY_TASK, COPY_TASK_6_8
from tasklife.models import CopySnapshotTaskStatus
from tasklife.tracking import Task


class LifecycleInvariants(RuleBasedStateMachine):
    lifecycle = COPY_TASK
    record_class: type[Task] | type[CopySnapshotTaskStatus] = Task

    def __init__(self) -> None:
        super().__init__()
        self.now = 1_000
        self.task = self.record_class.for_lifecycle(self.lifecycle)(clock=self.tick, journal=[])
        self.ran = False
        self.statuses = [self.task.status]

    def tick(self) -> int:
        self.now += 7
        return self.now

    @rule(
        trigger=st.sampled_from((*COPY_TASK_6_8.triggers, "bogus")),
        message=st.none() | st.text(max_size=3),
    )
    def fire(self, trigger: str, message: str | None) -> None:
        before = (
            self.task.status,
            self.task.error,
            self.task.task_start_time_usecs,
            self.task.task_end_time_usecs,
        )
        legal = self.task.may(trigger)
        try:
            self.task.fire(trigger, error=message)
        except (InvalidTransition, InvalidRecord):
            after = (
                self.task.status,
                self.task.error,
                self.task.task_start_time_usecs,
                self.task.task_end_time_usecs,
            )
            assert after == before
            return
        assert legal
        self.statuses.append(self.task.status)
        if self.lifecycle.state(self.task.status).klass == "active":
            self.ran = True

    @invariant()
    def no_exit_from_a_final_state(self) -> None:
        finals = [i for i, s in enumerate(self.statuses) if self.lifecycle.is_final(s)]
        assert not finals or finals[0] == len(self.statuses) - 1

    @invariant()
    def times_agree_with_the_status(self) -> None:
        t = self.task
        start, end = t.task_start_time_usecs, t.task_end_time_usecs
        assert (start is not None) == self.ran
        assert (end is not None) == self.lifecycle.is_final(t.status)
        if start is not None and end is not None:
            assert end >= start

    @invariant()
    def error_follows_the_state_rule(self) -> None:
        t = self.task
        rule = self.lifecycle.state(t.status).error_rule
        if rule == "required":
            assert t.error
        elif rule == "forbidden":
            assert t.error is None
        if t.error is not None:
            assert t.error

    @invariant()
    def journal_is_the_observed_history(self) -> None:
        journal = self.task.journal or []
        assert [e.dest for e in journal] == self.statuses[1:]
        assert [e.source for e in journal] == self.statuses[:-1]


class LifecycleInvariants68(LifecycleInvariants):
    lifecycle = COPY_TASK_6_8


class WireRecordInvariants(LifecycleInvariants):
    record_class = CopySnapshotTaskStatus

    @invariant()
    def wire_form_round_trips(self) -> None:
        assert isinstance(self.task, CopySnapshotTaskStatus)
        wire = self.task.to_dictionary()
        again = CopySnapshotTaskStatus.for_lifecycle(self.lifecycle).from_dictionary(wire)
        assert again is not None and again.to_dictionary() == wire


TestCopyTask = LifecycleInvariants.TestCase
TestCopyTask.settings = settings(max_examples=150, stateful_step_count=25, deadline=None)
TestCopyTask68 = LifecycleInvariants68.TestCase
TestCopyTask68.settings = settings(max_examples=75, stateful_step_count=25, deadline=None)
TestWireRecord = WireRecordInvariants.TestCase
TestWireRecord.settings = settings(max_examples=75, stateful_step_count=25, deadline=None)
