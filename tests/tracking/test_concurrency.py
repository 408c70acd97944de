"""Real threads and a real event loop against the shared machine."""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tasklife.errors import InvalidTransition
from tasklife.lifecycle import COPY_TASK, Lifecycle
from tasklife.tracking import Task, machine_for
from tasklife.tracking.locks import STRIPES, stripe


@pytest.fixture(autouse=True)
def eager_thread_switching() -> Iterator[None]:
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def private_lifecycle(name: str) -> Lifecycle:
    return Lifecycle.from_dictionary({**COPY_TASK.to_dictionary(), "name": name})


def race(task: Task, triggers: list[str]) -> list[str]:
    """Fire each trigger from its own thread at once; return the ones that won."""
    barrier = threading.Barrier(len(triggers))
    won: list[str] = []
    lock = threading.Lock()

    def run(trigger: str) -> None:
        barrier.wait()
        try:
            task.fire(trigger, error="boom" if trigger == "fail" else None)
        except InvalidTransition:
            return
        with lock:
            won.append(trigger)

    threads = [threading.Thread(target=run, args=(t,)) for t in triggers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return won


@pytest.mark.parametrize("round_", range(40))
def test_of_conflicting_triggers_exactly_one_wins(round_: int) -> None:
    task = Task(status="kRunning", task_start_time_usecs=1, journal=[])
    triggers = ["succeed", "warn", "fail", "cancel", "succeed", "warn", "fail", "cancel"]
    won = race(task, triggers)
    assert len(won) == 1
    assert task.status == COPY_TASK.dest(won[0], "kRunning")
    assert len(task.journal or []) == 1
    assert (task.error is not None) == (task.status == "kFailure")


def test_threads_on_many_records_never_tear_one() -> None:
    rng = random.Random(7)
    tasks = [Task(journal=[]) for _ in range(200)]

    def worker(seed: int) -> None:
        r = random.Random(seed)
        for _ in range(3000):
            task = tasks[r.randrange(len(tasks))]
            trigger = r.choice(COPY_TASK.triggers)
            with contextlib.suppress(InvalidTransition):
                task.fire(trigger, error="x" if trigger == "fail" else None)

    threads = [threading.Thread(target=worker, args=(rng.random(),)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for task in tasks:
        journal = task.journal or []
        path = [e.source for e in journal[:1]] + [e.dest for e in journal]
        for entry in journal:
            assert COPY_TASK.dest(entry.trigger, entry.source) == entry.dest
        assert not journal or path[-1] == task.status
        assert all(not COPY_TASK.is_final(s) for s in path[:-1])
        assert (task.task_end_time_usecs is not None) == COPY_TASK.is_final(task.status)
        assert (task.error is not None) == (task.status == "kFailure")


def test_slow_path_races_too() -> None:
    lifecycle = private_lifecycle("copy-task-race")
    machine_for(lifecycle).on_enter_kSuccess(lambda event: None)
    Racing = Task.for_lifecycle(lifecycle)
    for _ in range(20):
        task = Racing(status="kRunning", task_start_time_usecs=1)
        assert len(race(task, ["succeed", "warn", "cancel", "succeed"])) == 1


def test_async_listeners_are_awaited_and_unrelated_tasks_survive() -> None:
    lifecycle = private_lifecycle("copy-task-async")
    machine = machine_for(lifecycle)
    Async = Task.for_lifecycle(lifecycle)
    seen: list[tuple[str, str]] = []

    async def slow_listener(record: object, source: str, dest: str, trigger: str, at: int) -> None:
        await asyncio.sleep(0.01)
        seen.append((trigger, dest))

    machine.add_listener(slow_listener)

    async def main() -> None:
        bystander_done = asyncio.Event()

        async def bystander() -> str:
            await asyncio.sleep(0.05)
            bystander_done.set()
            return "still here"

        unrelated = asyncio.create_task(bystander())
        tasks = [Async() for _ in range(50)]
        results = await asyncio.gather(*(t.afire("start") for t in tasks))
        assert all(results)
        # a second trigger on the same record while the first one's listener runs
        one = Async()
        first = asyncio.create_task(one.afire("start"))
        await asyncio.sleep(0)
        second = asyncio.create_task(one.afire("succeed"))
        assert await first and await second
        assert one.status == "kSuccess"
        assert await unrelated == "still here" and not unrelated.cancelled()
        assert bystander_done.is_set()

    asyncio.run(main())
    assert seen.count(("start", "kRunning")) == 51 and seen.count(("succeed", "kSuccess")) == 1


def test_callbacks_firing_other_records_never_deadlock_unrelated_chains(
    fresh_lifecycle: Callable[[], Lifecycle],
) -> None:
    """Chains X->Y and Z->W share no record, but X and W share a lock stripe, and so do Z and
    Y. A barrier makes both callbacks fire their next record at once: a stripe held while
    callbacks run would deadlock them (each holding the stripe the other needs)."""
    lifecycle = fresh_lifecycle()
    Job = Task.for_lifecycle(lifecycle)
    by_stripe: dict[int, list[Task]] = defaultdict(list)
    pool = [Job() for _ in range(4 * STRIPES)]
    for record in pool:
        by_stripe[stripe(record)].append(record)
    (x, w), (z, y) = (rs[:2] for rs in [rs for rs in by_stripe.values() if len(rs) > 1][:2])
    assert stripe(x) == stripe(w) != stripe(z) == stripe(y)
    following = {id(x): y, id(z): w}
    barrier = threading.Barrier(2)

    def on_enter_running(event: Any) -> None:
        nxt = following.get(id(event.model))
        if nxt is not None:
            barrier.wait(timeout=5)  # both chains are inside their callbacks now
            nxt.fire("start")

    machine_for(lifecycle).on_enter_kRunning(on_enter_running)
    threads = [threading.Thread(target=record.start) for record in (x, z)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=15)
    assert not any(t.is_alive() for t in threads), "the two chains deadlocked"
    assert [r.status for r in (x, y, z, w)] == ["kRunning"] * 4


def test_of_racing_triggers_through_callbacks_one_wins_and_the_others_wait(
    fresh_lifecycle: Callable[[], Lifecycle],
) -> None:
    """On transitions' path the record is claimed while callbacks run (no stripe held):
    a second thread's trigger waits, then sees the new status."""
    lifecycle = fresh_lifecycle()
    inside = threading.Event()

    def slow_before(event: Any) -> None:
        inside.set()
        time.sleep(0.05)

    machine_for(lifecycle).before_state_change = slow_before
    job = Task.for_lifecycle(lifecycle)(status="kRunning", task_start_time_usecs=1)
    results: list[str] = []

    def try_fire(trigger: str) -> None:
        try:
            job.fire(trigger)
            results.append(f"won:{trigger}")
        except InvalidTransition:
            results.append(f"lost:{trigger}")

    first = threading.Thread(target=try_fire, args=("succeed",))
    first.start()
    inside.wait()
    try_fire("warn")
    first.join()
    assert sorted(results) == ["lost:warn", "won:succeed"]
    assert job.status == "kSuccess"
