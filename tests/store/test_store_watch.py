"""Watching a store on both backends: events as they commit, in commit order, resumable from
a cursor; wait_for sync and async; and, on a PostgreSQL server of the test's own, a watch
that loses and repeats nothing across a restart of the server."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

import storeservers
from tasklife.errors import StoreUnavailable, TaskNotFound, WaitTimeout
from tasklife.store import open_store
from tasklife.store.aio import open_async_store

POLL_S = 0.02


def test_a_watch_gives_commits_in_order_and_resumes_from_its_cursor(store_url: str) -> None:
    with open_store(store_url) as store:
        store.add({"status": "kAccepted"}, task_id="a")
        start = store.last_cursor()
        assert start == store.events()[-1]["cursor"]
        with store.watch(after=start, poll_s=POLL_S) as watch:
            assert watch.poll(timeout_s=0.05) == []  # nothing new yet
            store.fire("a", "start")
            store.add({"status": "kAccepted"}, task_id="b")
            seen = [e["status"] for e in _take(watch, 2)]
            assert seen == ["kRunning", "kAccepted"]
            middle = watch.cursor
            store.fire("a", "succeed")
            store.fire("b", "start")
        with store.watch(after=middle, poll_s=POLL_S) as again:  # resumed: the rest only
            assert [(e["taskId"], e["status"]) for e in _take(again, 2)] == [
                ("a", "kSuccess"), ("b", "kRunning"),
            ]  # fmt: skip
            assert again.cursor == store.last_cursor()


def _take(watch: Any, count: int) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    for event in watch:
        got.append(event)
        if len(got) == count:
            return got
    raise AssertionError("a watch ended")


def test_wait_for_a_final_state_or_a_status(store_url: str) -> None:
    with open_store(store_url) as store:
        store.add({"status": "kAccepted"}, task_id="t")
        with pytest.raises(WaitTimeout, match="the status is still 'kAccepted'"):
            store.wait_for("t", final=True, timeout=0.1, poll_s=POLL_S)
        with pytest.raises(TaskNotFound):
            store.wait_for("nope", final=True, timeout=0.1)
        with pytest.raises(TypeError, match="final=True or status="):
            store.wait_for("t")

        def work() -> None:
            with open_store(store_url) as other:
                other.fire("t", "start")
                other.fire("t", "fail", error="disk full")

        worker = threading.Timer(0.1, work)
        worker.start()
        assert store.wait_for("t", final=True, timeout=60, poll_s=POLL_S) == "kFailure"
        worker.join()
        assert store.wait_for("t", status="kFailure", timeout=0) == "kFailure"  # already


def test_the_async_watch_and_wait_for(store_url: str) -> None:
    async def main() -> tuple[list[str], str]:
        async with await open_async_store(store_url) as store:
            await store.add({"status": "kAccepted"}, task_id="t")
            seen: list[str] = []
            async with store.watch(after=0, poll_s=POLL_S) as watch:
                waiting = asyncio.create_task(
                    store.wait_for("t", status="kRunning", timeout=60, poll_s=POLL_S)
                )
                await store.fire("t", "start")
                async for event in watch:
                    seen.append(event["status"])
                    if len(seen) == 2:
                        break
            return seen, await waiting

    assert asyncio.run(main()) == (["kAccepted", "kRunning"], "kRunning")


def test_a_watch_across_a_postgres_restart_loses_and_repeats_nothing(tmp_path: Path) -> None:
    with storeservers.private_server(tmp_path) as (url, restart):
        ids = [f"t{n}" for n in range(40)]
        with open_store(url) as store:
            store.add_many([{"status": "kAccepted"}] * len(ids), task_ids=ids)
            after = store.last_cursor()
            seen: list[dict[str, Any]] = []
            done = threading.Event()

            def watching() -> None:
                with store.watch(after=after, poll_s=POLL_S) as watch:
                    while True:  # after ``done``, one empty poll: everything was read
                        finished = done.is_set()
                        batch = watch.poll(timeout_s=0.05)
                        seen.extend(batch)
                        if finished and not batch:
                            return

            watcher = threading.Thread(target=watching)
            watcher.start()
            for n, task_id in enumerate(ids):
                if n == len(ids) // 2:
                    restart()
                _fire_through(store, task_id)
            expected = store.events(after=after)
            done.set()
            watcher.join(timeout=120)
        assert [e["cursor"] for e in seen] == [e["cursor"] for e in expected]
        assert len(expected) == len(ids)


def _fire_through(store: Any, task_id: str) -> None:
    """Fire ``start`` at a task, again after the pool has dropped its dead connections."""
    for _ in range(50):
        try:
            store.fire(task_id, "start")
            return
        except StoreUnavailable:
            continue
    raise AssertionError("the server did not come back")
