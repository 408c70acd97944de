"""Coroutine listeners on real event loops: afire, cancellation, worker threads, shutdown."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import textwrap
import threading
import warnings
from collections.abc import Callable

import pytest

from tasklife.errors import AfterTransitionError, NoEventLoop
from tasklife.lifecycle import Lifecycle
from tasklife.tracking import Task, machine_for

SUBPROCESS_TIMEOUT = 60
"""Seconds a subprocess may take before its hang fails the test (instead of blocking CI)."""


def test_afire_awaits_coroutine_listeners_in_order_with_sync_ones(
    fresh_lifecycle: Callable[[], Lifecycle],
) -> None:
    Job = Task.for_lifecycle(fresh_lifecycle())
    seen: list[str] = []

    async def slow(record: object, source: str, dest: str, trigger: str, at: int) -> None:
        await asyncio.sleep(0.01)
        seen.append(f"slow:{dest}")

    def quick(record: object, source: str, dest: str, trigger: str, at: int) -> None:
        seen.append(f"quick:{dest}")

    Job.add_listener(slow)
    Job.add_listener(quick)

    async def main() -> None:
        job = Job()
        assert await job.afire("start")
        assert seen == ["slow:kRunning", "quick:kRunning"]
        await job.afire("succeed")

    asyncio.run(main())
    assert seen[2:] == ["slow:kSuccess", "quick:kSuccess"]


def test_a_cancelled_afire_still_delivers_to_every_listener(
    fresh_lifecycle: Callable[[], Lifecycle],
) -> None:
    Job = Task.for_lifecycle(fresh_lifecycle())
    seen: list[str] = []
    entered = asyncio.Event()

    async def first(record: object, source: str, dest: str, trigger: str, at: int) -> None:
        entered.set()
        await asyncio.sleep(0.05)
        seen.append("first")

    async def second(record: object, source: str, dest: str, trigger: str, at: int) -> None:
        await asyncio.sleep(0.01)
        seen.append("second")

    Job.add_listener(first)
    Job.add_listener(lambda *args: seen.append("sync"))
    Job.add_listener(second)

    async def main() -> None:
        job = Job()
        firing = asyncio.create_task(job.afire("start"))
        await entered.wait()
        firing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await firing
        assert job.status == "kRunning"
        for _ in range(50):
            if len(seen) == 3:
                break
            await asyncio.sleep(0.01)

    asyncio.run(main())
    assert seen == ["first", "sync", "second"]


def test_a_coroutine_listener_fired_from_a_worker_thread_runs_on_its_loop(
    fresh_lifecycle: Callable[[], Lifecycle],
) -> None:
    Job = Task.for_lifecycle(fresh_lifecycle())
    ran_on: list[int] = []

    async def listener(record: object, source: str, dest: str, trigger: str, at: int) -> None:
        await asyncio.sleep(0.01)
        ran_on.append(threading.get_ident())

    async def main() -> None:
        Job.add_listener(listener)  # added inside the loop: it belongs to this loop
        job = Job()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, job.fire, "start")  # fire returns after the listener
        assert ran_on == [threading.get_ident()]

    asyncio.run(main())


def test_a_coroutine_listener_with_no_loop_is_refused_clearly(
    fresh_lifecycle: Callable[[], Lifecycle],
) -> None:
    Job = Task.for_lifecycle(fresh_lifecycle())
    seen: list[str] = []

    async def homeless(record: object, source: str, dest: str, trigger: str, at: int) -> None:
        seen.append("never")

    Job.add_listener(homeless)  # outside any loop, without loop=
    Job.add_listener(lambda *args: seen.append("sync"))
    job = Job()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "coroutine was never awaited"
        with pytest.raises(AfterTransitionError) as info:
            job.fire("start")
    assert job.status == "kRunning" and seen == ["sync"]
    (refusal,) = info.value.exceptions
    assert isinstance(refusal, NoEventLoop) and "loop=" in str(refusal)


def test_a_listener_given_a_loop_runs_there_from_any_thread(
    fresh_lifecycle: Callable[[], Lifecycle],
) -> None:
    lifecycle = fresh_lifecycle()
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever)
    runner.start()
    seen: list[tuple[str, bool]] = []

    async def listener(record: object, source: str, dest: str, trigger: str, at: int) -> None:
        seen.append((dest, asyncio.get_running_loop() is loop))

    try:
        machine_for(lifecycle).add_listener(listener, loop=loop)
        job = Task.for_lifecycle(lifecycle)()
        job.fire("start")
        job.fire("succeed")
        assert seen == [("kRunning", True), ("kSuccess", True)]
    finally:
        machine_for(lifecycle).remove_listener(listener)
        loop.call_soon_threadsafe(loop.stop)
        runner.join()
        loop.close()


def test_sync_fire_inside_a_loop_is_not_cancelled_when_asyncio_run_ends(
    fresh_lifecycle: Callable[[], Lifecycle],
) -> None:
    Job = Task.for_lifecycle(fresh_lifecycle())
    seen: list[str] = []

    async def listener(record: object, source: str, dest: str, trigger: str, at: int) -> None:
        await asyncio.sleep(0.01)
        seen.append(dest)

    Job.add_listener(listener)

    async def main() -> None:
        job = Job()
        job.fire("start")  # sync, inside the loop: scheduled, not awaited
        job.fire("succeed")

    asyncio.run(main())
    assert seen == ["kRunning", "kSuccess"]


def test_a_listener_cancelled_while_it_ran_is_reported_not_dropped(
    fresh_lifecycle: Callable[[], Lifecycle], caplog: pytest.LogCaptureFixture
) -> None:
    Job = Task.for_lifecycle(fresh_lifecycle())

    async def endless(record: object, source: str, dest: str, trigger: str, at: int) -> None:
        await asyncio.sleep(3600)

    Job.add_listener(endless)

    async def main() -> None:
        Job().fire("start")
        await asyncio.sleep(0.01)  # the listener runs; then asyncio.run ends and cancels it

    with caplog.at_level(logging.ERROR, logger="tasklife.tracking"):
        asyncio.run(main())
    assert any("cancelled while it ran" in repr(r.exc_info) for r in caplog.records)


def test_afires_of_one_record_deliver_in_order(fresh_lifecycle: Callable[[], Lifecycle]) -> None:
    Job = Task.for_lifecycle(fresh_lifecycle())
    seen: list[str] = []

    async def listener(record: object, source: str, dest: str, trigger: str, at: int) -> None:
        await asyncio.sleep(0.02 if dest == "kRunning" else 0)
        seen.append(dest)

    Job.add_listener(listener)

    async def main() -> None:
        job = Job()
        first = asyncio.create_task(job.afire("start"))
        await asyncio.sleep(0)
        second = asyncio.create_task(job.afire("succeed"))
        assert await first and await second

    asyncio.run(main())
    assert seen == ["kRunning", "kSuccess"]


DEBUG_SCRIPT = textwrap.dedent(
    """
    import asyncio, threading
    from tasklife import Task

    seen = []

    async def listener(record, source, dest, trigger, at):
        await asyncio.sleep(0.01)
        seen.append((dest, threading.current_thread() is threading.main_thread()))

    async def main():
        Task.add_listener(listener)
        loop = asyncio.get_running_loop()
        task = Task()
        await loop.run_in_executor(None, task.fire, "start")
        await loop.run_in_executor(None, task.fire, "succeed")

    asyncio.run(main())
    assert seen == [("kRunning", True), ("kSuccess", True)], seen
    print("ok")
    """
)


def test_a_coroutine_listener_from_a_thread_works_under_asyncio_debug() -> None:
    """Under PYTHONASYNCIODEBUG=1 (thread-safety checks on), in a subprocess: a hang fails."""
    done = subprocess.run(
        [sys.executable, "-c", DEBUG_SCRIPT],
        env={**os.environ, "PYTHONASYNCIODEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_tracking_records_does_not_import_asyncio() -> None:
    """Every worker process imports tasklife to track tasks; asyncio (and the ssl it loads)
    costs a tenth of a second there, so it loads only with the first event loop."""
    script = (
        "import sys\n"
        "from tasklife.tracking import Task\n"
        "task = Task(journal=[])\n"
        "Task.add_listener(lambda *args: None)\n"
        "task.start(); task.observe('kSuccess')\n"
        "print('asyncio' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_errors_of_a_sync_fire_made_by_a_coroutine_listener_reach_the_afire(
    fresh_lifecycle: Callable[[], Lifecycle],
) -> None:
    """A sync ``fire`` inside an async executor finds its sink in the context variable (the
    fast path reads it only once an async executor ran): its listeners' errors join the
    ``afire``'s group instead of being raised inside the coroutine listener."""
    Job = Task.for_lifecycle(fresh_lifecycle())
    Other = Task.for_lifecycle(fresh_lifecycle())

    async def fires_other(record: object, source: str, dest: str, trigger: str, at: int) -> None:
        await asyncio.sleep(0)
        Other().fire("start")

    def raises(record: object, source: str, dest: str, trigger: str, at: int) -> None:
        raise LookupError(dest)

    Job.add_listener(fires_other)
    Other.add_listener(raises)

    async def main() -> None:
        job = Job()
        with pytest.raises(AfterTransitionError) as info:
            await job.afire("start")
        assert [type(e) for e in info.value.exceptions] == [LookupError]
        assert job.status == "kRunning"

    asyncio.run(main())
