"""Real concurrency on both backends: processes racing for tasks, the same idempotency key
fired at once, and writers killed with SIGKILL at random moments."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest

import storeworkers
from tasklife import COPY_TASK, Task
from tasklife.eventlog.kernel import judge
from tasklife.eventlog.reading import events_from_objects
from tasklife.store import Fired, open_store

RACERS = 4
ROUNDS = 200
KILLS = 20
"""SIGKILLs per backend (each child runs a random 0.05-0.4 s, firing hundreds to thousands)."""


@pytest.fixture(scope="module")
def forkserver() -> Iterator[Any]:
    """Children forked from a server that has imported the store already: a child starts in
    milliseconds instead of re-importing tasklife (about a second each)."""
    ctx = multiprocessing.get_context("forkserver")
    # the server does not get pytest's sys.path (and skips what it cannot import), so it
    # preloads tasklife's store itself; storeworkers is then a cheap import in each child
    ctx.set_forkserver_preload(["tasklife.store.sqlite", "tasklife.store.postgres", "storeworkers"])
    yield ctx


def test_racing_processes_have_exactly_one_winner_per_round(
    store_url: str, forkserver: Any
) -> None:
    with open_store(store_url) as store:
        store.add_many(
            [{"status": "kRunning"}] * ROUNDS, task_ids=[f"race-{n}" for n in range(ROUNDS)]
        )
    barrier = forkserver.Barrier(RACERS)
    results = forkserver.Queue()
    racers = [
        forkserver.Process(target=storeworkers.race, args=(store_url, i, ROUNDS, barrier, results))
        for i in range(RACERS)
    ]
    for p in racers:
        p.start()
    won = dict(results.get(timeout=300) for _ in racers)
    for p in racers:
        p.join(timeout=60)
        assert p.exitcode == 0
    winners = defaultdict(list)
    for index, rounds in won.items():
        for n in rounds:
            winners[n].append(storeworkers.RACE_TRIGGERS[index])
    assert sorted(winners) == list(range(ROUNDS))  # every round was won ...
    assert all(len(w) == 1 for w in winners.values())  # ... by exactly one process
    assert len({i for i, rounds in won.items() if rounds}) > 1  # and they really raced
    with open_store(store_url) as store:
        for n, (trigger,) in winners.items():
            history = store.history(f"race-{n}")
            assert [e.trigger for e in history] == [trigger]  # one row per winner
            assert store.get(f"race-{n}").status == COPY_TASK.dest(trigger, "kRunning")
        assert len(store.events()) == 2 * ROUNDS  # the adds and the winners, nothing else


def test_the_same_key_fired_concurrently_makes_one_transition(store_url: str) -> None:
    rounds = 40
    stores = [open_store(store_url) for _ in range(2)]
    try:
        stores[0].add_many(
            [{"status": "kAccepted"}] * rounds, task_ids=[f"k{n}" for n in range(rounds)]
        )
        barrier = threading.Barrier(4)
        seen: list[list[Fired]] = [[] for _ in range(4)]

        def deliver(worker: int) -> None:
            store = stores[worker % 2]  # two stores: separate connections, as two processes
            for n in range(rounds):
                barrier.wait()
                seen[worker].append(store.fire(f"k{n}", "start", key=f"message-{n}"))

        threads = [threading.Thread(target=deliver, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for n in range(rounds):
            assert len({seen[w][n] for w in range(4)}) == 1  # everybody got the first result
            assert [e.trigger for e in stores[1].history(f"k{n}")] == ["start"]
    finally:
        for store in stores:
            store.close()


def replay(events: list[dict[str, Any]]) -> Task:
    """A task's events replayed through an in-memory record: what the store must hold."""
    first, *rest = events
    record = Task(status=first["status"])
    for event in rest:
        trigger = COPY_TASK.trigger_between(record.status, event["status"])
        assert trigger is not None, event
        record.fire(trigger, at_usecs=event["atUsecs"], error=event.get("error"))
    return record


def test_acknowledged_changes_survive_sigkill(store_url: str, forkserver: Any) -> None:
    rng = random.Random(20)
    acked_adds: set[str] = set()
    acked_fires: list[tuple[str, str, int]] = []
    open_store(store_url).close()  # the schema exists before the first child
    for kill in range(KILLS):
        receive, send = forkserver.Pipe(duplex=False)
        child = forkserver.Process(
            target=storeworkers.crash, args=(store_url, f"c{kill}", kill, send)
        )
        child.start()
        send.close()
        assert receive.poll(60), "the child never acknowledged anything"
        deadline = time.monotonic() + rng.uniform(0.05, 0.4)
        while time.monotonic() < deadline:
            if receive.poll(0.01):
                record(receive.recv(), acked_adds, acked_fires)
        os.kill(child.pid, signal.SIGKILL)  # mid-transaction, most likely
        child.join()
        assert child.exitcode == -signal.SIGKILL
        while receive.poll():
            try:
                record(receive.recv(), acked_adds, acked_fires)
            except EOFError:
                break
    assert len(acked_fires) > 20 * KILLS
    with open_store(store_url) as store:
        events = store.events()
        per_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for event in events:
            per_task[event["taskId"]].append(event)
        assert acked_adds <= set(per_task)
        cursors = {(e["taskId"], e["cursor"]) for e in events}
        assert all((task_id, cursor) in cursors for task_id, _, cursor in acked_fires)
        for task in store.tasks():
            history = store.history(task.task_id)
            task_events = per_task.pop(task.task_id)
            assert len(task_events) == len(history) + 1  # no half-written task
            assert [e.dest for e in history] == [e["status"] for e in task_events[1:]]
            replayed = replay(task_events)
            assert (task.status, task.error, task.task_start_time_usecs, task.task_end_time_usecs) == (
                replayed.status, replayed.error, replayed.task_start_time_usecs,
                replayed.task_end_time_usecs,
            )  # fmt: skip
        assert not per_task  # no history without its task
        report = judge(events_from_objects(events), lifecycle=COPY_TASK, mode="strict").report()
        assert report, report.violations[:3]


def record(message: tuple[str, Any], adds: set[str], fires: list[tuple[str, str, int]]) -> None:
    kind, items = message
    if kind == "add":
        adds.update(items)
    else:
        fires.extend(items)
