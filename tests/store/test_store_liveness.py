"""Liveness on both backends: leases reaped after a worker is SIGKILLed, no false reaps while
heartbeats come, deadlines missed, two reapers firing once, a late heartbeat told it lost,
and retries as attempts that each stay a valid run of the lifecycle."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from typing import Any

import pytest

import storeworkers
from tasklife import COPY_TASK, validate
from tasklife.errors import InvalidRecord, LeaseLost, RetryRefused, TaskNotFound
from tasklife.store import Fired, open_store

SECOND = 1_000_000
LEASE = 2 * SECOND
REAP_EVERY = SECOND // 2
"""A reaper's interval in these tests (reaps run at explicit times: no test waits for one)."""


def running(store: Any, ids: list[str], at: int = 1) -> None:
    store.add_many([{"status": "kAccepted"}] * len(ids), task_ids=ids, run_id="r")
    store.fire_many([(i, "start", None, at) for i in ids])


def test_a_sigkilled_worker_s_tasks_are_reaped_within_a_lease_and_one_interval(
    store_url: str,
) -> None:
    ids = [f"held-{n}" for n in range(50)]
    with open_store(store_url) as store:
        running(store, ids)
    context = multiprocessing.get_context("forkserver")
    acks, child_end = context.Pipe(duplex=False)
    worker = context.Process(
        target=storeworkers.hold,
        args=(store_url, ids, "worker-7@host-a", LEASE, child_end, False),
    )
    worker.start()
    try:
        assert acks.poll(120) and acks.recv() == "held"
    finally:
        os.kill(worker.pid or 0, signal.SIGKILL)
        worker.join()
    with open_store(store_url) as store:
        leases = dict(_leases(store_url))
        assert sorted(leases) == sorted(ids)
        first, last = min(leases.values()), max(leases.values())
        assert store.reap(now=first - 1) == []  # no lease has expired yet
        reaped = store.reap(now=last + REAP_EVERY)  # a reaper's next round after the last
        assert sorted(r.task_id for r in reaped) == sorted(ids)
        for task_id in ids:
            record = store.get(task_id)
            assert record.status == "kFailure"
            assert record.error is not None and "worker 'worker-7@host-a'" in record.error
            assert "last heartbeat at" in record.error
        assert store.reap(now=last + 10 * LEASE) == []  # reaped once


def _leases(url: str) -> list[tuple[str, int]]:
    import storeservers

    return [
        (task_id, expires)
        for task_id, expires in storeservers.execute(
            url,
            "SELECT t.task_id, l.expires_usecs FROM tasklife_leases AS l "
            "JOIN tasklife_tasks AS t ON t.ref = l.task_ref",
        )
    ]


def test_heartbeats_every_third_of_a_lease_never_get_a_task_reaped(store_url: str) -> None:
    ids = [f"beat-{n}" for n in range(200)]
    with open_store(store_url) as store:
        running(store, ids)
        now = 10 * SECOND
        for _ in range(6):  # two leases' worth of rounds, a reap between each two
            for task_id in ids:
                store.heartbeat(task_id, worker="w", lease_usecs=LEASE, at_usecs=now)
            assert store.reap(now=now + LEASE // 3) == []
            assert store.reap(now=now + LEASE - 1) == []  # a beat late, still held
            now += LEASE // 3
        assert store.counts("r") == {"kRunning": 200}
        assert len(store.reap(now=now + LEASE)) == 200  # the heartbeats stopped


def test_a_live_worker_heartbeating_200_tasks_is_never_reaped(store_url: str) -> None:
    """The same with real processes and the wall clock: a worker heartbeats 200 tasks (in one
    ``heartbeat_many``) every third of a 4 s lease while a reaper runs every quarter second,
    for a lease and a half."""
    ids = [f"live-{n}" for n in range(200)]
    with open_store(store_url) as store:
        running(store, ids)
    context = multiprocessing.get_context("forkserver")
    acks, child_end = context.Pipe(duplex=False)
    url = store_url + ("&" if "?" in store_url else "?") + "durability=process"
    worker = context.Process(
        target=storeworkers.hold, args=(url, ids, "w", 4 * SECOND, child_end, True)
    )
    worker.start()
    try:
        assert acks.poll(120) and acks.recv() == "held"
        with open_store(store_url) as store:
            reaped = []
            until = time.monotonic() + 6
            while time.monotonic() < until:
                reaped += store.reap()
                time.sleep(0.25)
            assert reaped == []
            assert store.counts() == {"kRunning": 200}
    finally:
        os.kill(worker.pid or 0, signal.SIGKILL)
        worker.join()


def test_a_late_heartbeat_is_told_the_task_was_lost(store_url: str) -> None:
    with open_store(store_url) as store:
        running(store, ["t", "u"])
        store.heartbeat("t", worker="w1", lease_usecs=LEASE, at_usecs=SECOND)
        store.reap(now=SECOND + LEASE)
        with pytest.raises(LeaseLost, match=r"worker 'w1' lost task 't': its lease was reaped"):
            store.heartbeat("t", worker="w1", lease_usecs=LEASE, at_usecs=SECOND + LEASE + 1)
        store.heartbeat("u", worker="w1", lease_usecs=LEASE, at_usecs=SECOND)
        with pytest.raises(LeaseLost, match="worker 'w1' holds it until"):
            store.heartbeat("u", worker="w2", lease_usecs=LEASE, at_usecs=SECOND + 1)
        store.fire("u", "succeed")
        with pytest.raises(LeaseLost, match=r"the task ended \(kSuccess\)"):
            store.heartbeat("u", worker="w1", lease_usecs=LEASE)
        with pytest.raises(TaskNotFound):
            store.heartbeat("nope", worker="w1", lease_usecs=LEASE)
        store.retry("t")  # attempt 2: the reaped worker's late beat for attempt 1 is refused
        with pytest.raises(LeaseLost, match="the task is at attempt 2, not 1"):
            store.heartbeat("t", worker="w1", lease_usecs=LEASE, attempt=1)
        store.heartbeat("t", worker="w1", lease_usecs=LEASE, attempt=2)  # a new lease
        with pytest.raises(InvalidRecord, match="lease_usecs: must be a positive integer"):
            store.heartbeat("u", worker="w1", lease_usecs=0)
        with pytest.raises(InvalidRecord, match="worker: a worker is named by a non-empty"):
            store.heartbeat("u", worker="", lease_usecs=LEASE)


def test_heartbeat_many_renews_each_lease_or_says_why_not(store_url: str) -> None:
    with open_store(store_url) as store:
        running(store, ["a", "b", "c"])
        store.heartbeat("b", worker="other", lease_usecs=LEASE, at_usecs=SECOND)
        store.fire("c", "succeed")
        a, b, c, nope = store.heartbeat_many(
            ["a", "b", "c", "nope"], worker="w", lease_usecs=LEASE, at_usecs=SECOND + 1
        )
        assert a == SECOND + 1 + LEASE
        assert isinstance(b, LeaseLost) and "worker 'other' holds it" in str(b)
        assert isinstance(c, LeaseLost) and isinstance(nope, TaskNotFound)
        assert [r.task_id for r in store.reap(now=SECOND + 1 + LEASE)] == ["a", "b"]


def test_the_lost_trigger_comes_from_the_lifecycle_table(
    store_url: str, fresh_lifecycle: Any
) -> None:
    from tasklife.lifecycle import Lifecycle

    data = fresh_lifecycle().to_dictionary()
    holding = Lifecycle.from_dictionary({**data, "liveness": {"lost": "hold"}})
    with open_store(store_url) as store:
        store.add({"status": "kRunning"}, task_id="h", lifecycle=holding)
        store.heartbeat("h", worker="w", lease_usecs=LEASE, at_usecs=SECOND)
        (reaped,) = store.reap(now=SECOND + LEASE)
        assert isinstance(reaped.result, Fired)
        assert (reaped.trigger, reaped.result.dest, reaped.result.error) == (
            "hold",
            "kOnHold",
            None,
        )
        store.heartbeat("h", worker="w2", lease_usecs=LEASE)  # another worker takes it over


def test_deadlines_lead_to_miss(store_url: str) -> None:
    with open_store(store_url) as store:
        store.set_run_deadline("r", 100)
        store.add_many([{"status": "kAccepted"}] * 3, task_ids=["a", "b", "c"], run_id="r")
        store.add({"status": "kAccepted"}, task_id="own", run_id="r", deadline_usecs=500)
        store.add({"status": "kAccepted"}, task_id="free")
        store.fire("b", "start", at_usecs=50)  # started in time: its deadline does not apply
        assert store.reap(now=99) == []
        reaped = store.reap(now=100)
        assert sorted((r.task_id, r.trigger) for r in reaped) == [("a", "miss"), ("c", "miss")]
        assert [store.get(t).status for t in ("a", "b", "c")] == ["kMissed", "kRunning", "kMissed"]
        assert [r.task_id for r in store.reap(now=10**6)] == ["own"]
        assert store.get("free").status == "kAccepted"
        with pytest.raises(InvalidRecord, match="deadline_usecs"):
            store.add({"status": "kAccepted"}, deadline_usecs=-1)


def test_two_concurrent_reapers_fire_once_per_task(store_url: str) -> None:
    ids = [f"r-{n}" for n in range(300)]
    with open_store(store_url) as store:
        running(store, ids)
        for task_id in ids:
            store.heartbeat(task_id, worker="gone", lease_usecs=LEASE, at_usecs=SECOND)
    context = multiprocessing.get_context("forkserver")
    barrier, results = context.Barrier(2), context.Queue()
    reapers = [
        context.Process(
            target=storeworkers.reap_once, args=(store_url, SECOND + LEASE, barrier, results)
        )
        for _ in range(2)
    ]
    for p in reapers:
        p.start()
    fired = [results.get(timeout=300) for _ in reapers]
    for p in reapers:
        p.join()
    assert sorted(fired[0] + fired[1]) == sorted(ids)  # every task once, by one reaper
    with open_store(store_url) as store:
        assert all([e.trigger for e in store.history(t)] == ["start", "fail"] for t in ids)


def test_retries_are_attempts_each_a_valid_run(store_url: str) -> None:
    with open_store(store_url, clock=iter(range(10, 10**6, 10)).__next__) as store:
        store.add({"status": "kAccepted"}, task_id="t")
        for attempt in range(1, 5):
            store.fire("t", "start")
            store.fire("t", "fail", error=f"try {attempt} failed")
            if attempt < 4:  # copy-task retries kFailure 3 times
                assert store.retry("t").dest == "kAccepted"
        with pytest.raises(
            RetryRefused,
            match=r"no retries left: attempt 4 was the last \(kFailure is retried at most 3 times\)",
        ):
            store.retry("t")
        events = store.events()
        assert [e["attempt"] for e in events] == [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]
        for attempt in range(1, 5):
            run = [(e["status"], e["atUsecs"]) for e in events if e["attempt"] == attempt]
            assert [s for s, _ in run] == ["kAccepted", "kRunning", "kFailure"]
            assert validate(run, require_final=True)
        assert validate(events, require_final=True)  # judged one attempt at a time
        assert not validate([{k: v for k, v in e.items() if k != "attempt"} for e in events])
        with pytest.raises(InvalidRecord, match=r"history\[3\]\.attempt.*one at a time"):
            validate([*events[:3], {**events[3], "attempt": 3}])
        assert len(store.history("t")) == 8  # every attempt's transitions stay
        assert [e.error for e in store.history("t", attempt=2)] == [None, "try 2 failed"]
        record = store.get("t")
        assert (record.error, record.task_start_time_usecs) == ("try 4 failed", 110)
        store.add({"status": "kAccepted"}, task_id="ok")
        store.fire("ok", "start")
        store.fire("ok", "succeed")
        with pytest.raises(RetryRefused, match="does not retry a task in kSuccess"):
            store.retry("ok")
    assert COPY_TASK.liveness.retries("kFailure") == 3


def test_listeners_hear_what_reap_fires(store_url: str, fresh_lifecycle: Any) -> None:
    from tasklife.tracking import machine_for

    lc = fresh_lifecycle()
    heard: list[tuple[Any, ...]] = []
    listener = machine_for(lc).add_listener(
        lambda task, *change: heard.append((task.task_id, *change))
    )
    try:
        with open_store(store_url) as store:
            store.add({"status": "kRunning"}, task_id="t", lifecycle=lc)
            store.heartbeat("t", worker="w", lease_usecs=LEASE, at_usecs=SECOND)
            store.reap(now=SECOND + LEASE)
    finally:
        machine_for(lc).remove_listener(listener)
    assert heard == [("t", "kRunning", "kFailure", "fail", SECOND + LEASE)]
