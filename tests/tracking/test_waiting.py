"""wait() and wait_for(): woken by a listener when the record gets there, or cannot."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest

from tasklife.errors import InvalidRecord, InvalidTransition, WaitTimeout
from tasklife.lifecycle import Lifecycle
from tasklife.tracking import Task, machine_for


def later(seconds: float, action: Callable[[], object]) -> threading.Thread:
    def run() -> None:
        time.sleep(seconds)
        action()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_thread_waits_for_a_status_another_thread_reaches(
    fresh_lifecycle: Callable[[], Lifecycle],
) -> None:
    lifecycle = fresh_lifecycle()
    task = Task.for_lifecycle(lifecycle)()
    worker = later(0.05, lambda: (task.fire("start"), task.fire("succeed")))
    assert task.wait(status="kRunning", timeout=10) in ("kRunning", "kSuccess")
    assert task.wait(final=True, timeout=10) == "kSuccess"
    worker.join()
    assert machine_for(lifecycle).listeners.registrations == ()  # the waiter's listener left


def test_waiting_accepts_any_vocabulary_and_several_statuses() -> None:
    task = Task()
    worker = later(0.02, lambda: task.fire("hold"))
    assert task.wait(status=["Running", "OnHold"], timeout=10) == "kOnHold"
    worker.join()
    assert task.wait(status="kOnHold") == "kOnHold"  # already there: no wait


def test_a_wait_that_times_out_says_what_it_waited_for() -> None:
    with pytest.raises(WaitTimeout, match=r"'kRunning'.*'kAccepted'") as info:
        Task().wait(status="kRunning", timeout=0.01)
    assert isinstance(info.value, TimeoutError)


def test_a_wait_for_what_can_no_longer_happen_stops_at_once() -> None:
    task = Task()
    worker = later(0.02, lambda: task.fire("miss"))
    with pytest.raises(InvalidTransition, match="cannot reach status 'kSuccess'"):
        task.wait(status="kSuccess", timeout=10)
    worker.join()
    with pytest.raises(InvalidTransition):
        task.wait(status="kRunning")
    with pytest.raises(InvalidRecord, match="wait for a status"):
        task.wait()
    with pytest.raises(InvalidRecord, match="kDone"):
        task.wait(status="kDone")


def test_asyncio_waits_without_blocking_the_loop(
    fresh_lifecycle: Callable[[], Lifecycle],
) -> None:
    Job = Task.for_lifecycle(fresh_lifecycle())

    async def main() -> None:
        job = Job()

        async def drive() -> None:
            await asyncio.sleep(0.01)
            await job.afire("start")
            await asyncio.sleep(0.01)
            job.fire("warn")

        driver = asyncio.create_task(drive())
        assert await job.wait_for(status="Running", timeout=10) == "kRunning"
        assert await job.wait_for(final=True, timeout=10) == "kWarning"
        await driver
        with pytest.raises(WaitTimeout):
            await Job().wait_for(final=True, timeout=0.01)

    asyncio.run(main())


def test_asyncio_waits_for_a_record_a_worker_thread_moves() -> None:
    async def main() -> None:
        task = Task()
        loop = asyncio.get_running_loop()
        waiting = asyncio.ensure_future(task.wait_for(final=True, timeout=10))
        await loop.run_in_executor(None, task.fire, "cancel")
        await loop.run_in_executor(None, task.fire, "confirm_cancel")
        assert await waiting == "kCanceled"

    asyncio.run(main())
