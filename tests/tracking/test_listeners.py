"""Listener semantics: order per record, errors, scopes, thread-safe add/remove, re-entrancy."""

from __future__ import annotations

import contextlib
import itertools
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tasklife.errors import AfterTransitionError, InvalidTransition
from tasklife.lifecycle import Lifecycle, load_lifecycle
from tasklife.models import CopySnapshotTaskStatus
from tasklife.tracking import ListenerScope, Task, machine_for

ROOT = Path(__file__).resolve().parents[2]
Seen = list[tuple[object, str, str, str]]


def recorder(seen: Seen) -> Callable[[object, str, str, str, int], None]:
    def listen(record: object, source: str, dest: str, trigger: str, at: int) -> None:
        seen.append((record, source, dest, trigger))

    return listen


def test_a_raising_listener_neither_undoes_the_move_nor_stops_the_others(
    fresh_lifecycle: Callable[[], Lifecycle],
) -> None:
    Job = Task.for_lifecycle(fresh_lifecycle())
    seen: Seen = []

    def boom(record: object, source: str, dest: str, trigger: str, at: int) -> None:
        raise ValueError(f"boom at {dest}")

    def also_boom(record: object, source: str, dest: str, trigger: str, at: int) -> None:
        raise KeyError(dest)

    Job.add_listener(recorder(seen))
    Job.add_listener(boom)
    Job.add_listener(recorder(seen))
    Job.add_listener(also_boom)
    job = Job(clock=lambda: 7, journal=[])
    with pytest.raises(AfterTransitionError) as info:
        job.start()
    assert job.status == "kRunning" and len(job.journal or []) == 1  # the move stands
    assert len(seen) == 2  # both recorders ran, before and after the failing listener
    group = info.value
    assert [type(e) for e in group.exceptions] == [ValueError, KeyError]
    assert (group.record, group.trigger, group.source, group.dest, group.at_usecs) == (
        job,
        "start",
        "kAccepted",
        "kRunning",
        7,
    )
    assert "kAccepted" in str(group) and "kRunning" in str(group)
    with pytest.raises(AfterTransitionError):  # except* picks out one kind
        try:
            job.succeed()
        except* ValueError as only_values:
            assert [type(e) for e in only_values.exceptions] == [ValueError]
            raise
    assert job.status == "kSuccess"


def test_listeners_see_one_records_transitions_in_order_under_racing_threads(
    fresh_lifecycle: Callable[[], Lifecycle],
) -> None:
    """Threads race hold/resume on one record; a listener that is sometimes slow (10 ms)
    must still see every transition, in the order the journal says they happened."""
    Job = Task.for_lifecycle(fresh_lifecycle())
    seen: list[tuple[str, str]] = []

    def slow(record: object, source: str, dest: str, trigger: str, at: int) -> None:
        if dest == "kOnHold" and random.random() < 0.5:
            time.sleep(0.01)
        seen.append((source, dest))

    Job.add_listener(slow)
    job = Job(status="kRunning", task_start_time_usecs=1, journal=[])
    barrier = threading.Barrier(6)

    def worker(trigger: str) -> None:
        barrier.wait()
        deadline = time.monotonic() + 10
        while len(job.journal or []) < 40 and time.monotonic() < deadline:
            with contextlib.suppress(InvalidTransition):
                job.fire(trigger)

    threads = [threading.Thread(target=worker, args=(t,)) for t in ["hold", "resume"] * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    journal = [(e.source, e.dest) for e in job.journal or []]
    assert len(journal) >= 40
    assert seen == journal
    assert all(a[1] == b[0] for a, b in itertools.pairwise(seen))


def test_a_waiting_caller_raises_its_own_listeners_errors(
    fresh_lifecycle: Callable[[], Lifecycle],
) -> None:
    """B fires while A's slow delivery of the same record runs: B waits for its own
    delivery and raises its error; A raises nothing."""
    Job = Task.for_lifecycle(fresh_lifecycle())
    entered = threading.Event()

    def listener(record: object, source: str, dest: str, trigger: str, at: int) -> None:
        if dest == "kRunning":
            entered.set()
            time.sleep(0.05)
        if dest == "kOnHold":
            raise RuntimeError("hold hurts")

    Job.add_listener(listener)
    job = Job()
    outcome: dict[str, object] = {}

    def fire_hold() -> None:
        entered.wait()
        try:
            job.hold()
            outcome["hold"] = "returned"
        except AfterTransitionError as exc:
            outcome["hold"] = exc

    other = threading.Thread(target=fire_hold)
    other.start()
    job.start()  # raises nothing: the hold's error is the other thread's
    other.join()
    assert isinstance(outcome["hold"], AfterTransitionError)
    assert outcome["hold"].trigger == "hold"
    assert job.status == "kOnHold"


def test_a_listener_may_fire_its_own_record_and_order_holds(
    fresh_lifecycle: Callable[[], Lifecycle],
) -> None:
    Job = Task.for_lifecycle(fresh_lifecycle())
    seen: list[str] = []

    def first(record: object, source: str, dest: str, trigger: str, at: int) -> None:
        seen.append(f"first:{dest}")
        if dest == "kRunning":
            assert isinstance(record, Task)
            record.fire("succeed")  # queued behind this delivery: no deadlock

    def second(record: object, source: str, dest: str, trigger: str, at: int) -> None:
        seen.append(f"second:{dest}")

    Job.add_listener(first)
    Job.add_listener(second)
    job = Job()
    job.start()
    assert job.status == "kSuccess"
    assert seen == ["first:kRunning", "second:kRunning", "first:kSuccess", "second:kSuccess"]


def test_errors_of_a_transition_a_listener_caused_reach_the_outer_call(
    fresh_lifecycle: Callable[[], Lifecycle],
) -> None:
    Job = Task.for_lifecycle(fresh_lifecycle())

    def listener(record: object, source: str, dest: str, trigger: str, at: int) -> None:
        if dest == "kRunning":
            assert isinstance(record, Task)
            record.fire("succeed")
        else:
            raise LookupError(dest)

    Job.add_listener(listener)
    job = Job()
    with pytest.raises(AfterTransitionError) as info:
        job.start()
    assert [str(e) for e in info.value.exceptions] == ["kSuccess"]
    assert job.status == "kSuccess"


def test_listeners_firing_each_others_records_from_two_threads_do_not_deadlock(
    fresh_lifecycle: Callable[[], Lifecycle],
) -> None:
    """X's listener fires Y while Y's listener fires X, in two threads at once."""
    Job = Task.for_lifecycle(fresh_lifecycle())
    x, y = Job(), Job()
    partner = {id(x): y, id(y): x}
    barrier = threading.Barrier(2)

    def listener(record: object, source: str, dest: str, trigger: str, at: int) -> None:
        if dest == "kRunning":
            barrier.wait(timeout=5)
            with contextlib.suppress(InvalidTransition):
                partner[id(record)].fire("hold")

    Job.add_listener(listener)
    threads = [threading.Thread(target=r.start) for r in (x, y)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in threads), "deadlock"
    assert x.status == y.status == "kOnHold"


def test_add_and_remove_listener_are_thread_safe(
    fresh_lifecycle: Callable[[], Lifecycle],
) -> None:
    machine = machine_for(fresh_lifecycle())
    listeners = [
        [recorder([]) for _ in range(500)] for _ in range(16)
    ]  # 16 threads x 500 listeners

    def run(
        action: Callable[[Callable[..., None]], object], mine: list[Callable[..., None]]
    ) -> None:
        for listener in mine:
            action(listener)

    for action in (machine.add_listener, machine.remove_listener):
        threads = [threading.Thread(target=run, args=(action, m)) for m in listeners]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if action == machine.add_listener:
            assert len(machine.listeners.registrations) == 16 * 500
    assert machine.listeners.registrations == ()
    with pytest.raises(ValueError, match="not a listener"):
        machine.remove_listener(listeners[0][0])


def test_a_removed_listener_hears_nothing_more(fresh_lifecycle: Callable[[], Lifecycle]) -> None:
    lifecycle = fresh_lifecycle()
    seen: Seen = []
    listen = machine_for(lifecycle).add_listener(recorder(seen))
    Job = Task.for_lifecycle(lifecycle)
    Job().start()
    machine_for(lifecycle).remove_listener(listen)
    Job().start()
    assert len(seen) == 1
    assert Job._listeners == ()


def test_two_scopes_never_hear_each_other(fresh_lifecycle: Callable[[], Lifecycle]) -> None:
    lifecycle = fresh_lifecycle()
    first, second = ListenerScope("first"), ListenerScope("second")
    heard: dict[str, Seen] = {"first": [], "second": [], "lifecycle": [], "class": []}
    first.add_listener(recorder(heard["first"]))
    second.add_listener(recorder(heard["second"]))
    machine_for(lifecycle).add_listener(recorder(heard["lifecycle"]))
    Job = Task.for_lifecycle(lifecycle)
    Job.add_listener(recorder(heard["class"]))

    mine = first.bind(Job)()
    theirs = second.adopt(Job())
    loose = Job()
    for record in (mine, theirs, loose):
        record.fire("start")
    assert [r for r, *_ in heard["first"]] == [mine]
    assert [r for r, *_ in heard["second"]] == [theirs]
    assert [r for r, *_ in heard["lifecycle"]] == [mine, theirs, loose]
    assert [r for r, *_ in heard["class"]] == [mine, theirs, loose]  # subclasses included
    assert isinstance(mine, Job) and first.bind(Job) is type(mine)
    moved = second.adopt(mine)
    moved.fire("succeed")
    assert heard["second"][-1][0] is mine and len(heard["first"]) == 1


def test_a_class_listener_hears_only_its_class(fresh_lifecycle: Callable[[], Lifecycle]) -> None:
    lifecycle = fresh_lifecycle()
    seen: Seen = []
    Wire = CopySnapshotTaskStatus.for_lifecycle(lifecycle)
    Wire.add_listener(recorder(seen))
    Task.for_lifecycle(lifecycle)().start()
    record = Wire()
    record.start()
    assert [r for r, *_ in seen] == [record]
    with pytest.raises(ValueError, match="not a listener"):
        Task.for_lifecycle(lifecycle).remove_listener(recorder(seen))


def test_a_listener_of_a_file_hears_jobs_that_loaded_the_same_file() -> None:
    """Lifecycles are values: two loads of one file are one lifecycle, one machine."""
    seen: Seen = []
    path = ROOT / "examples" / "ci-job.toml"
    listen = machine_for(path).add_listener(recorder(seen))
    try:
        Job = Task.for_lifecycle(load_lifecycle(path))  # loaded again, by the job
        job = Job()
        job.fire("start")
        assert [(r, d) for r, _, d, _ in seen] == [(job, "running")]
    finally:
        machine_for(str(path)).remove_listener(listen)
