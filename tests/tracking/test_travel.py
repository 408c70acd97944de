"""Records travel: pickle, copy, deepcopy, weakref; real worker processes, Dask, fork."""

from __future__ import annotations

import copy
import multiprocessing
import os
import pickle
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import pytest

import workers
from tasklife.errors import AfterTransitionError, InvalidRecord, InvalidTransition
from tasklife.lifecycle import COPY_TASK_6_8, Lifecycle, load_lifecycle
from tasklife.models import CopyRunStats, CopySnapshotTaskStatus, ProtectionSource
from tasklife.tracking import ListenerScope, Task
from tasklife.tracking.locks import STRIPE_LOCKS, stripe

ROOT = Path(__file__).resolve().parents[2]
CI_JOB = ROOT / "examples" / "ci-job.toml"
FIXTURES = sorted(Path("/work/shared/fixtures").glob("*.json"))
CHILD_TIMEOUT = 30
"""Seconds a forked child may take: it must never hang, so a hang fails the test."""


def full_records() -> list[CopySnapshotTaskStatus]:
    records = []
    for path in FIXTURES:
        record = CopySnapshotTaskStatus.from_dictionary(orjson.loads(path.read_bytes()))
        assert record is not None
        records.append(record)
    return records


def state(record: Any) -> tuple[Any, ...]:
    names = ("status", "error", "task_start_time_usecs", "task_end_time_usecs", "changed_usecs")
    return (type(record), *(getattr(record, n) for n in names), record.journal)


def sample_records() -> list[Any]:
    ci = load_lifecycle(CI_JOB)
    task = Task(clock=lambda: 5, journal=[])
    task.start()
    wire68 = CopySnapshotTaskStatus.for_lifecycle(COPY_TASK_6_8)(journal=[])
    wire68.start(at_usecs=1)
    wire68.fire("finalize", at_usecs=2)
    job = Task.for_lifecycle(ci)(journal=[])
    job.fire("start", at_usecs=3)
    return [task, wire68, job, *full_records()]


@pytest.mark.parametrize("how", ["pickle", "copy", "deepcopy"])
def test_every_record_class_travels(how: str) -> None:
    for record in sample_records():
        clone = {
            "pickle": lambda r: pickle.loads(pickle.dumps(r)),
            "copy": copy.copy,
            "deepcopy": copy.deepcopy,
        }[how](record)
        assert clone is not record and state(clone) == state(record)
        if isinstance(record, CopySnapshotTaskStatus):
            assert clone.to_dictionary() == record.to_dictionary()
        if how == "pickle":
            assert clone.clock is None  # a clock belongs to its process
        else:
            assert clone.clock is record.clock
        # no copy shares the journal list: two records never append to one (item 15)
        assert clone.journal is not record.journal or record.journal is None
        assert clone.journal == record.journal


def test_wire_models_travel_alone_and_compactly() -> None:
    for record in full_records():
        for part in (record.source, record.stats):
            if part is not None:
                assert isinstance(part, ProtectionSource | CopyRunStats)
                assert pickle.loads(pickle.dumps(part)).to_dictionary() == part.to_dictionary()
                assert copy.deepcopy(part) == part
        size = len(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL))
        assert size <= 2 * len(orjson.dumps(record.to_dictionary()))


def test_a_traveller_keeps_tracking_its_lifecycle_and_errors_travel_too() -> None:
    record = pickle.loads(pickle.dumps(sample_records()[1]))
    assert type(record) is CopySnapshotTaskStatus.for_lifecycle(COPY_TASK_6_8)
    record.succeed()
    finalize: Any = record.finalize  # type: ignore[attr-defined]  # made from the 6.8 table
    assert record.status == "kSuccess" and finalize.__name__ == "finalize"
    with pytest.raises(InvalidTransition) as info:
        record.start()
    refused = pickle.loads(pickle.dumps(info.value))
    assert str(refused) == str(info.value) and refused.record.status == "kSuccess"
    bad = pickle.loads(pickle.dumps(InvalidRecord("stats.x", -1, "negative")))
    assert (bad.path, bad.value, str(bad)) == ("stats.x", -1, "stats.x: negative (got -1)")
    group = AfterTransitionError("m", [ValueError("v")], record=record, trigger="succeed")
    again = pickle.loads(pickle.dumps(group))
    assert again.trigger == "succeed" and isinstance(again.exceptions[0], ValueError)


def test_bound_classes_pickle_by_base_and_lifecycle_and_scopes_stay_home() -> None:
    Job = Task.for_lifecycle(load_lifecycle(CI_JOB))
    assert pickle.loads(pickle.dumps(Job)) is Job
    assert pickle.loads(pickle.dumps(Task)) is Task
    scope = ListenerScope("local")
    mine = scope.adopt(Job())
    assert type(pickle.loads(pickle.dumps(mine))) is Job
    assert pickle.loads(pickle.dumps(type(mine))) is Job


def test_records_can_be_weakly_referenced() -> None:
    for record in sample_records():
        ref = weakref.ref(record)
        assert ref() is record
    task = Task()
    ref = weakref.ref(task)
    del task
    assert ref() is None


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing inherited
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as executor:
        yield executor


def test_records_go_to_worker_processes_and_back(pool: ProcessPoolExecutor) -> None:
    records = sample_records()
    statuses = []
    for record, trigger in zip(records[:3], ["succeed", "succeed", "pass"], strict=True):
        back = pool.submit(workers.advance, record, trigger, 10).result()
        assert type(back) is type(record)  # the same bound class, found by value
        assert back.journal[-1].trigger == trigger and back.changed_usecs == 10
        statuses.append(back.status)
    assert statuses == ["kSuccess", "kSuccess", "passed"]
    wire = records[3]
    back = pool.submit(workers.advance, wire, wire.allowed_triggers()[-1], 10).result()
    assert back.to_dictionary()["status"] != wire.status or not wire.allowed_triggers()
    with pytest.raises(InvalidTransition) as info:  # raised in the worker, pickled back
        pool.submit(workers.advance, records[0], "start", 11).result()
    assert info.value.record.status == "kRunning"


def test_records_go_to_a_dask_cluster_and_back() -> None:
    distributed = pytest.importorskip("distributed")
    Job = Task.for_lifecycle(load_lifecycle(CI_JOB))
    with (
        distributed.LocalCluster(
            n_workers=1, processes=True, threads_per_worker=1, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        jobs = [Job(journal=[]) for _ in range(3)]
        sent = client.scatter(jobs)
        futures = [
            client.submit(workers.observe_all, job, ["running", "passed"], 7) for job in sent
        ]
        back = client.gather(futures)
    assert [type(j) for j in back] == [Job] * 3
    assert [[e.trigger for e in j.journal] for j in back] == [["start", "pass"]] * 3
    assert all(j.task_end_time_usecs == 7 for j in back)


def _hold_then_release(lock: threading.Lock, held: threading.Event, seconds: float) -> None:
    with lock:
        held.set()
        time.sleep(seconds)


def _fork_and_fire(record: Task, trigger: str) -> int:
    """Fork; the child fires ``trigger`` on ``record`` and exits 0. Returns the exit status,
    or fails when the child does not finish in time (a hang)."""
    pid = os.fork()
    if pid == 0:  # the child: only this thread exists here
        try:
            record.fire(trigger)
            os._exit(0 if record.status != "kAccepted" else 3)
        except BaseException:
            os._exit(2)
    deadline = time.monotonic() + CHILD_TIMEOUT
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    raise AssertionError("the forked child hung")


def test_a_fork_while_another_thread_holds_a_stripe_never_hangs_the_child() -> None:
    record = Task()
    held = threading.Event()
    holder = threading.Thread(
        target=_hold_then_release, args=(STRIPE_LOCKS[stripe(record)], held, 0.3)
    )
    holder.start()
    held.wait()
    try:
        assert _fork_and_fire(record, "start") == 0
    finally:
        holder.join()
    assert record.status == "kAccepted"  # the parent's record: untouched by the child


def test_a_fork_during_another_threads_slow_delivery_never_hangs_the_child(
    fresh_lifecycle: Callable[[], Lifecycle],
) -> None:
    Job = Task.for_lifecycle(fresh_lifecycle())
    inside = threading.Event()

    def slow(record: object, source: str, dest: str, trigger: str, at: int) -> None:
        if trigger == "start" and threading.current_thread() is not threading.main_thread():
            inside.set()
            time.sleep(0.5)

    Job.add_listener(slow)
    job = Job()
    firing = threading.Thread(target=job.start)
    firing.start()
    inside.wait()
    try:  # in the child the delivery in progress belongs to a thread that does not exist
        assert _fork_and_fire(job, "succeed") == 0
    finally:
        firing.join()
