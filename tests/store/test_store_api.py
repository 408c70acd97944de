"""The store API on both backends: what goes in comes out, fires follow the lifecycle table
exactly as in-memory records do, and every read agrees with what was written."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path
from typing import Any

import pytest

from storeservers import wire
from tasklife import COPY_TASK, CopySnapshotTaskStatus, InvalidTransition, Task, roll_up
from tasklife.errors import InvalidLifecycle, InvalidRecord, TaskExists, TaskNotFound
from tasklife.lifecycle import Lifecycle, get_lifecycle
from tasklife.store import Fire, Fired, StoredTask, open_store
from tasklife.tracking import machine_for

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples" / "copy-snapshot-tasks").glob("*.json"))
CI_JOB = ROOT / "examples" / "ci-job.toml"


def example_docs() -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in EXAMPLES]


def clock() -> Any:
    return iter(range(1_000, 10**9, 1_000)).__next__


def test_added_documents_come_back_unchanged(store_url: str) -> None:
    docs = example_docs()
    with open_store(store_url) as store:
        ids = store.add_many(docs, run_id="run-1")
        assert [wire(store, i) for i in ids] == docs
        assert all(isinstance(store.get(i), CopySnapshotTaskStatus) for i in ids)
    with open_store(store_url) as again:  # reopened: it was on disk (or on the server)
        assert [wire(again, i) for i in ids] == docs


def test_fires_move_a_stored_task_exactly_as_a_record(store_url: str) -> None:
    """A differential test: random triggers at stored tasks and at in-memory records."""
    rng = random.Random(9)
    lifecycles = [COPY_TASK, get_lifecycle("copy-task-6.8")]
    with open_store(store_url, clock=clock()) as store:
        for n in range(12):
            lc = lifecycles[n % 2]
            record = CopySnapshotTaskStatus.for_lifecycle(lc)(journal=[])
            task_id = store.add(record.to_dictionary(), lifecycle=lc)
            for at in range(1, 9):
                trigger = rng.choice(lc.triggers)
                error = "boom" if lc.dest(trigger, record.status) == "kFailure" else None
                try:
                    record.fire(trigger, at_usecs=at * 10, error=error)
                except InvalidTransition:
                    with pytest.raises(InvalidTransition):
                        store.fire(task_id, trigger, at_usecs=at * 10, error=error)
                    continue
                fired = store.fire(task_id, trigger, at_usecs=at * 10, error=error)
                assert record.journal is not None
                assert (fired.source, fired.dest, fired.at_usecs) == (
                    record.journal[-1].source,
                    record.status,
                    at * 10,
                )
            assert wire(store, task_id) == record.to_dictionary()
            assert store.history(task_id) == record.journal


AWKWARD_IDS = ["it's", "back\\slash'; DROP TABLE tasklife_tasks; --", "{id}", "naïve ✓", "$1"]
"""Task ids a fire must carry to the database as they are (PostgreSQL's single fire sends
its id as a quoted literal): quotes, a backslash, SQL, braces, non-ASCII, a placeholder."""


def test_fires_reach_tasks_whose_ids_hold_quotes_and_sql(store_url: str) -> None:
    with open_store(store_url, clock=clock()) as store:
        store.add_many([{"status": "kRunning"}] * len(AWKWARD_IDS), task_ids=AWKWARD_IDS)
        for task_id in AWKWARD_IDS:
            assert store.fire(task_id, "hold").dest == "kOnHold"
            with pytest.raises(InvalidTransition):
                store.fire(task_id, "hold")
        assert {t.task_id: t.status for t in store.tasks()} == dict.fromkeys(AWKWARD_IDS, "kOnHold")
        with pytest.raises(TaskNotFound):
            store.fire("it''s", "hold")


def test_the_error_rules_of_the_table_hold_and_a_refusal_writes_nothing(store_url: str) -> None:
    with open_store(store_url) as store:
        store.add({"status": "kRunning"}, task_id="t")
        with pytest.raises(InvalidRecord, match="'fail' needs a non-empty error"):
            store.fire("t", "fail")
        with pytest.raises(InvalidRecord, match="error is only set on failure"):
            store.fire("t", "succeed", error="no")
        with pytest.raises(InvalidTransition, match="cannot 'start' from status 'kRunning'"):
            store.fire("t", "start")
        with pytest.raises(InvalidTransition):
            store.fire("t", "no_such_trigger")
        with pytest.raises(InvalidRecord, match="at_usecs"):
            store.fire("t", "succeed", at_usecs=-1)
        with pytest.raises(TaskNotFound, match="no task 'nope'"):
            store.fire("nope", "start")
        assert store.history("t") == []
        assert wire(store, "t") == {"status": "kRunning"}
        assert [e["status"] for e in store.events()] == ["kRunning"]


def test_add_refuses_duplicates_and_bad_documents_without_writing(store_url: str) -> None:
    with open_store(store_url) as store:
        store.add({"status": "kAccepted"}, task_id="a")
        with pytest.raises(TaskExists, match="'a' already exists"):
            store.add({"status": "kRunning"}, task_id="a")
        with pytest.raises(TaskExists, match="'a'"):
            store.add_many([{}, {}], task_ids=["b", "a"])
        with pytest.raises(TaskExists, match="'c'"):
            store.add_many([{}, {}], task_ids=["c", "c"])
        bad = [{"status": "kAccepted"}, {"stats": {"startTimeUsecs": "soon"}}]
        with pytest.raises(InvalidRecord, match=r"\[1\]\.stats\.startTimeUsecs"):
            store.add_many(bad, task_ids=["d", "e"])
        with pytest.raises(InvalidRecord, match="not a status of lifecycle 'copy-task'"):
            store.add({"status": "kFinalizing"})
        with pytest.raises(InvalidRecord, match="NUL"):
            store.add({"status": "kFailure", "error": "a\x00b"})
        assert [t.task_id for t in store.tasks()] == ["a"]
        assert wire(store, "a") == {"status": "kAccepted"}
        with pytest.raises(TaskNotFound):
            store.get("b")
        with pytest.raises(TaskNotFound):
            store.history("b")


def test_records_tasks_and_documents_without_status(store_url: str) -> None:
    with open_store(store_url) as store:
        record = CopySnapshotTaskStatus.from_dictionary(
            {"status": "kOnHold", "taskStartHhmm": "06:00"}
        )
        rid = store.add(record)
        assert wire(store, rid) == {"status": "kOnHold", "taskStartHhmm": "06:00"}
        ci = Task.for_lifecycle(str(CI_JOB))
        job = store.add(ci(), run_id="pipeline")
        back = store.get(job)  # a Task comes back as a Task of its lifecycle
        assert isinstance(back, Task) and back.lifecycle.name == "ci-job"
        assert (back.status, back.error, back.task_start_time_usecs) == ("queued", None, None)
        store.fire(job, "start", at_usecs=5)
        assert store.get(job).task_start_time_usecs == 5
        assert store.add({"source": {"id": 1}}, task_id="bare") == "bare"
        assert wire(store, "bare") == {"status": "kAccepted", "source": {"id": 1}}


def test_another_process_fires_a_task_of_a_custom_lifecycle(store_url: str) -> None:
    """The lifecycle is stored with the task, so a store opened without it can fire it."""
    ci = get_lifecycle(str(CI_JOB))
    with open_store(store_url) as store:
        store.add(Task.for_lifecycle(ci)(), task_id="job")
    with open_store(store_url) as other:
        assert other.fire("job", "start").dest == "running"
        with pytest.raises(InvalidTransition, match="lifecycle 'ci-job'"):
            other.fire("job", "succeed")
        impostor = Lifecycle.from_dictionary({**ci.to_dictionary(), "description": "another"})
        with pytest.raises(InvalidLifecycle, match="another lifecycle named 'ci-job'"):
            other.add(Task.for_lifecycle(impostor)())


def test_idempotency_keys_make_one_transition(store_url: str) -> None:
    with open_store(store_url) as store:
        store.add({"status": "kAccepted"}, task_id="t")
        first = store.fire("t", "start", key="msg-1")
        assert store.fire("t", "start", key="msg-1") == first  # delivered again: same result
        store.fire("t", "hold", key="msg-2")
        assert store.fire("t", "start", key="msg-1") == first  # even after the task moved on
        with pytest.raises(InvalidRecord, match="already used for 'start'"):
            store.fire("t", "resume", key="msg-1")
        results = store.fire_many([Fire("t", "resume", key="m3"), Fire("t", "resume", key="m3")])
        assert results[0] == results[1] and isinstance(results[0], Fired)
        assert [e.trigger for e in store.history("t")] == ["start", "hold", "resume"]


def test_fire_many_applies_in_order_and_reports_each_item(store_url: str) -> None:
    with open_store(store_url, clock=clock()) as store:
        store.add_many([{"status": "kRunning"}] * 3, task_ids=["a", "b", "c"])
        results = store.fire_many(
            [("a", "hold"), ("a", "resume"), ("b", "fail", "disk full"), ("zz", "start"),
             ("c", "start"), Fire("c", "succeed", at_usecs=99)]
        )  # fmt: skip
        assert [type(r).__name__ for r in results] == [
            "Fired", "Fired", "Fired", "TaskNotFound", "InvalidTransition", "Fired",
        ]  # fmt: skip
        fired = [r for r in results if isinstance(r, Fired)]
        assert fired == sorted(fired, key=lambda f: f.cursor)
        assert store.get("b").error == "disk full"
        assert store.get("c").task_end_time_usecs == 99
        assert store.fire_many([]) == []


def test_events_page_through_every_change_as_a_valid_event_log(store_url: str) -> None:
    from tasklife.eventlog.kernel import judge
    from tasklife.eventlog.reading import events_from_objects

    with open_store(store_url, clock=clock()) as store:
        store.add_many([{"status": "kAccepted"}] * 5, task_ids=list("abcde"))
        for task_id in "abcde":
            store.fire(task_id, "start")
        store.fire_many([(t, "fail", "quota") for t in "ab"] + [(t, "succeed") for t in "cde"])
        events = store.events()
        assert len(events) == 15
        cursors = [e["cursor"] for e in events]
        assert cursors == sorted(set(cursors))
        paged: list[dict[str, Any]] = []
        after = 0
        while page := store.events(after=after, limit=4):
            paged += page
            after = page[-1]["cursor"]
        assert paged == events
        assert store.events(after=cursors[-1]) == []
        report = judge(events_from_objects(events), lifecycle=COPY_TASK, mode="strict").report()
        assert report and report.tasks == 5
        assert events[-1].keys() >= {"taskId", "status", "atUsecs", "taskEndTimeUsecs"}


def test_tasks_filter_and_page(store_url: str) -> None:
    with open_store(store_url) as store:
        ids = [f"t{n:04d}" for n in range(2500)]
        store.add_many([{"status": "kAccepted"}] * 2500, task_ids=ids, run_id="big")
        store.add({"status": "kRunning"}, task_id="x", run_id="small")
        store.add(Task.for_lifecycle(str(CI_JOB))(), task_id="job", run_id="small")
        assert [t.task_id for t in store.tasks(run_id="big")] == ids  # over three pages
        assert [t.task_id for t in store.tasks(limit=3, after="t0100")] == [
            "t0101", "t0102", "t0103",
        ]  # fmt: skip
        running = list(store.tasks(status="kRunning"))
        assert running == [StoredTask("x", "small", COPY_TASK, "kRunning", None, None, None)]
        assert [t.task_id for t in store.tasks(lifecycle="ci-job")] == ["job"]
        assert list(store.tasks(lifecycle="no-such")) == []
        assert store.counts("small") == {"kRunning": 1, "queued": 1}
        assert store.counts() == {"kAccepted": 2500, "kRunning": 1, "queued": 1}


def random_run(rng: random.Random, n: int) -> list[dict[str, Any]]:
    docs = example_docs()
    out = []
    for _ in range(n):
        doc = dict(rng.choice(docs))
        if rng.random() < 0.3:
            doc.pop("stats", None)
        if rng.random() < 0.2:
            doc["stats"] = {}
        out.append(doc)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_roll_up_is_roll_up_of_the_tasks(store_url: str, seed: int) -> None:
    rng = random.Random(seed)
    with open_store(store_url) as store:
        ids = store.add_many(random_run(rng, rng.randint(1, 30)), run_id="r")
        for task_id in rng.sample(ids, len(ids) // 2):
            record = store.get(task_id)
            trigger = rng.choice(record.allowed_triggers() or ("start",))
            if record.may(trigger):
                store.fire(task_id, trigger, error="x" if trigger == "fail" else None)
        records = [store.get(t.task_id) for t in store.tasks(run_id="r")]
        assert store.roll_up("r") == roll_up(records)
        assert store.counts("r") == {s: n for s, n in roll_up(records).counts.items() if n}


def test_roll_up_errors_are_roll_ups_own(store_url: str) -> None:
    from tasklife.errors import InvalidRunTask

    with open_store(store_url) as store:
        with pytest.raises(InvalidRunTask, match="at least one task"):
            store.roll_up("empty")
        store.add({"status": "kRunning"}, run_id="r", task_id="a")
        with pytest.raises(InvalidRecord, match="end-time-before-start"):  # no such record
            store.add({"status": "kSuccess", "taskStartTimeUsecs": 9, "taskEndTimeUsecs": 5},
                      run_id="r", task_id="b")  # fmt: skip
        store.add(Task.for_lifecycle(str(CI_JOB))(), run_id="mixed")
        store.add({}, run_id="mixed")
        with pytest.raises(InvalidRunTask, match="mixes lifecycles"):
            store.roll_up("mixed")


def test_listeners_hear_store_transitions_after_the_commit(store_url: str) -> None:
    heard: list[tuple[Any, ...]] = []
    machine = machine_for(COPY_TASK)
    with open_store(store_url) as store:

        def listener(record: Any, source: str, dest: str, trigger: str, at: int) -> None:
            # after the commit: another connection already sees the change
            heard.append(
                (record.task_id, source, dest, trigger, at, store.get(record.task_id).status)
            )

        machine.add_listener(listener)
        try:
            store.add({"status": "kAccepted"}, task_id="t")
            store.fire("t", "start", at_usecs=3)
            with pytest.raises(InvalidTransition):
                store.fire("t", "start")
            store.fire_many([("t", "hold"), ("t", "start")])
        finally:
            machine.remove_listener(listener)
    assert [h[:4] for h in heard] == [("t", "kAccepted", "kRunning", "start"),
                                      ("t", "kRunning", "kOnHold", "hold")]  # fmt: skip
    assert heard[0][4:] == (3, "kRunning") and heard[1][5] == "kOnHold"


def test_async_face_awaits_coroutine_listeners(store_url: str) -> None:
    from tasklife.store.aio import open_async_store

    heard: list[str] = []

    async def listener(record: Any, source: str, dest: str, trigger: str, at: int) -> None:
        await asyncio.sleep(0)
        heard.append(f"{record.task_id}:{dest}")

    async def main() -> tuple[Any, ...]:
        machine_for(COPY_TASK).add_listener(listener)
        try:
            async with await open_async_store(store_url) as store:
                await store.add_many([{"status": "kAccepted"}] * 3, task_ids=["a", "b", "c"])
                await asyncio.gather(*(store.fire(t, "start") for t in "abc"))
                results = await store.fire_many([("a", "succeed"), ("b", "start")])
                tasks = [t.task_id async for t in store.tasks(limit=2)]
                return (
                    [type(r).__name__ for r in results],
                    tasks,
                    await store.counts(),
                    [e.trigger for e in await store.history("a")],
                    len(await store.events()),
                    (await store.get("a")).status,
                )
        finally:
            machine_for(COPY_TASK).remove_listener(listener)

    results, tasks, counts, history, events, status = asyncio.run(main())
    assert results == ["Fired", "InvalidTransition"] and tasks == ["a", "b"]
    assert counts == {"kRunning": 2, "kSuccess": 1} and history == ["start", "succeed"]
    assert events == 7 and status == "kSuccess"
    assert sorted(heard) == ["a:kRunning", "a:kSuccess", "b:kRunning", "c:kRunning"]


def test_repr_and_threads_share_one_store(store_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with open_store(store_url) as store:
        assert "durability=full" in repr(store)
        ids = store.add_many([{"status": "kRunning"}] * 40)

        def work(task_id: str) -> str:
            store.fire(task_id, "hold")
            return store.fire(task_id, "resume").dest

        with ThreadPoolExecutor(8) as pool:
            assert list(pool.map(work, ids)) == ["kRunning"] * 40
        assert sum(len(store.history(i)) for i in ids) == 80
