"""Worker processes for the store's race and crash tests (a helper module: the children of
a multiprocessing context import it by name, so it lives at the top of ``tests/``)."""

from __future__ import annotations

import random
from multiprocessing.connection import Connection
from typing import Any

from tasklife.errors import InvalidTransition
from tasklife.lifecycle import COPY_TASK
from tasklife.store import Fire, Fired, open_store

RACE_TRIGGERS = ("succeed", "fail", "cancel", "warn")
"""What the four racing processes fire at each running task: any one excludes the others."""


def race(url: str, index: int, rounds: int, barrier: Any, results: Any) -> None:
    """Fire this process's trigger at task ``race-<n>`` for each round, all four processes
    released together by ``barrier``; report the rounds won."""
    trigger = RACE_TRIGGERS[index]
    won: list[int] = []
    with open_store(url) as store:
        for n in range(rounds):
            barrier.wait()
            try:
                store.fire(f"race-{n}", trigger, error="lost" if trigger == "fail" else None)
            except InvalidTransition:
                continue
            won.append(n)
    results.put((index, won))


def crash(url: str, prefix: str, seed: int, acks: Connection) -> None:
    """Add tasks and fire random legal triggers at them until killed; send every
    acknowledged change on ``acks`` right after it returned."""
    rng = random.Random(seed)
    live: dict[str, str] = {}  # this process is the only writer of its tasks
    made = 0
    with open_store(url) as store:
        while True:
            if len(live) < 20:
                ids = [f"{prefix}-{made + k}" for k in range(rng.randint(1, 8))]
                made += len(ids)
                store.add_many([{"status": "kAccepted"}] * len(ids), task_ids=ids)
                live.update(dict.fromkeys(ids, "kAccepted"))
                acks.send(("add", ids))
                continue
            batch = [_pick(rng, live) for _ in range(rng.choice((1, 1, 1, 5)))]
            fires = [Fire(t, trig, "boom" if trig == "fail" else None) for t, trig in batch]
            if len(fires) == 1:
                one = fires[0]
                results: list[Any] = [store.fire(one.task_id, one.trigger, error=one.error)]
            else:
                results = store.fire_many(fires)
            done = [r for r in results if isinstance(r, Fired)]
            for fired in done:
                live[fired.task_id] = fired.dest
                if COPY_TASK.is_final(fired.dest):
                    live.pop(fired.task_id, None)
            acks.send(("fire", [(f.task_id, f.trigger, f.cursor) for f in done]))


def _pick(rng: random.Random, live: dict[str, str]) -> tuple[str, str]:
    task_id = rng.choice(sorted(live))
    return task_id, rng.choice(COPY_TASK.triggers_from(live[task_id]))


def hold(
    url: str, task_ids: list[str], worker: str, lease_usecs: int, acks: Connection, many: bool
) -> None:
    """Heartbeat ``task_ids`` as ``worker`` every third of the lease until killed (``many``:
    all in one ``heartbeat_many``); say so on ``acks`` after each round."""
    import time

    with open_store(url) as store:
        while True:
            if many:
                beats = store.heartbeat_many(task_ids, worker=worker, lease_usecs=lease_usecs)
                assert all(isinstance(b, int) for b in beats), beats
            else:
                for task_id in task_ids:
                    store.heartbeat(task_id, worker=worker, lease_usecs=lease_usecs)
            acks.send("held")
            time.sleep(lease_usecs / 3e6)


def reap_once(url: str, now: int, barrier: Any, results: Any) -> None:
    """Reap at ``now`` when ``barrier`` releases every reaper; report the tasks fired."""
    with open_store(url) as store:
        barrier.wait()
        reaped = store.reap(now=now)
    results.put([r.task_id for r in reaped if isinstance(r.result, Fired)])
