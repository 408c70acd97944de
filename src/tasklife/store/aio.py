"""The store for asyncio orchestrators: every call of :class:`~tasklife.store.api.Store` as a
coroutine that runs the database work on a worker thread, so the event loop never blocks.

Coroutine listeners of the lifecycle's machine are awaited before ``fire`` returns (as
``Tracked.afire`` awaits them), on the caller's loop, after the commit.

>>> import asyncio
>>> from tasklife.store.aio import open_async_store
>>> async def main():
...     async with await open_async_store("sqlite://") as store:
...         await store.add({"status": "kAccepted"}, task_id="t1")
...         fired = await store.fire("t1", "start", at_usecs=7)
...         return fired.dest, [t.status async for t in store.tasks()]
>>> asyncio.run(main())
('kRunning', ['kRunning'])
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterable
from typing import Any

from tasklife.errors import TaskLifeError
from tasklife.lifecycle import Lifecycle
from tasklife.models import CopySnapshotTaskStatus
from tasklife.rollup import RunRollUp
from tasklife.store.api import PAGE, FireItem, Store
from tasklife.store.liveness import Reaped
from tasklife.store.transition import Fire, Fired, StoredTask, tell_listeners_async
from tasklife.store.url import Durability
from tasklife.store.watching import DEFAULT_POLL_S, AsyncWatch
from tasklife.tracking import Clock, JournalEntry, Task

__all__ = ["AsyncStore", "open_async_store"]


async def open_async_store(
    url: str | os.PathLike[str],
    *,
    durability: Durability | None = None,
    clock: Clock | None = None,
) -> AsyncStore:
    """:func:`tasklife.store.open_store`, opened on a worker thread."""
    from tasklife.store import open_store

    store = await asyncio.to_thread(open_store, url, durability=durability, clock=clock)
    return AsyncStore(store)


class AsyncStore:
    """A :class:`~tasklife.store.api.Store` with coroutine methods (``store.sync`` is the
    store itself, for code that is not async)."""

    def __init__(self, store: Store) -> None:
        self.sync = store

    def __repr__(self) -> str:
        return f"<AsyncStore {self.sync.url.redacted!r}>"

    async def __aenter__(self) -> AsyncStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await asyncio.to_thread(self.sync.close)

    async def add(self, task: Any, **kwargs: Any) -> str:
        return await asyncio.to_thread(self.sync.add, task, **kwargs)

    async def add_many(self, tasks: Iterable[Any], **kwargs: Any) -> list[str]:
        return await asyncio.to_thread(self.sync.add_many, list(tasks), **kwargs)

    async def get(self, task_id: str) -> CopySnapshotTaskStatus | Task:
        return await asyncio.to_thread(self.sync.get, task_id)

    async def heartbeat(self, task_id: str, **kwargs: Any) -> int:
        return await asyncio.to_thread(self.sync.heartbeat, task_id, **kwargs)

    async def heartbeat_many(self, task_ids: Iterable[str], **kwargs: Any) -> list[Any]:
        return await asyncio.to_thread(self.sync.heartbeat_many, list(task_ids), **kwargs)

    async def reap(self, *, now: int | None = None) -> list[Reaped]:
        return await asyncio.to_thread(self.sync.reap, now=now)

    async def retry(self, task_id: str, *, at_usecs: int | None = None) -> Fired:
        return await asyncio.to_thread(self.sync.retry, task_id, at_usecs=at_usecs)

    async def set_run_deadline(self, run_id: str, deadline_usecs: int | None) -> None:
        await asyncio.to_thread(self.sync.set_run_deadline, run_id, deadline_usecs)

    async def last_cursor(self) -> int:
        return await asyncio.to_thread(self.sync.last_cursor)

    def watch(self, *, after: int = 0, poll_s: float = DEFAULT_POLL_S) -> AsyncWatch:
        """``Store.watch`` as an async iterator: ``async for event in store.watch(...)``."""
        return AsyncWatch(self.sync.watch(after=after, poll_s=poll_s))

    async def wait_for(self, task_id: str, **kwargs: Any) -> str:
        """``Store.wait_for``, on a worker thread (give it a ``timeout``: a cancelled wait
        leaves its thread waiting until then)."""
        return await asyncio.to_thread(self.sync.wait_for, task_id, **kwargs)

    async def history(self, task_id: str, *, attempt: int | None = None) -> list[JournalEntry]:
        return await asyncio.to_thread(self.sync.history, task_id, attempt=attempt)

    async def events(self, *, after: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.sync.events, after=after, limit=limit)

    async def counts(self, run_id: str | None = None) -> dict[str, int]:
        return await asyncio.to_thread(self.sync.counts, run_id)

    async def roll_up(self, run_id: str) -> RunRollUp:
        return await asyncio.to_thread(self.sync.roll_up, run_id)

    async def tasks(
        self,
        *,
        status: str | None = None,
        run_id: str | None = None,
        lifecycle: str | Lifecycle | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> AsyncIterator[StoredTask]:
        """``Store.tasks``, a page at a time on a worker thread."""
        left = limit
        while left is None or left > 0:
            size = PAGE if left is None else min(PAGE, left)
            filters = {"status": status, "run_id": run_id, "lifecycle": lifecycle}
            page = await asyncio.to_thread(self._page, filters, size, after)
            for task in page:
                yield task
            if len(page) < size:
                return
            after = page[-1].task_id
            left = None if left is None else left - len(page)

    def _page(self, filters: dict[str, Any], size: int, after: str | None) -> list[StoredTask]:
        return list(self.sync.tasks(**filters, limit=size, after=after))

    async def fire(
        self,
        task_id: str,
        trigger: str,
        *,
        at_usecs: int | None = None,
        error: str | None = None,
        key: str | None = None,
    ) -> Fired:
        """``Store.fire``; coroutine listeners are awaited before it returns."""
        fired, history, applied = await asyncio.to_thread(
            self.sync._fire, task_id, trigger, error, at_usecs, key
        )
        await tell_listeners_async(history, applied)
        return fired

    async def fire_many(self, fires: Iterable[FireItem]) -> list[Fired | TaskLifeError]:
        """``Store.fire_many``; coroutine listeners are awaited before it returns."""
        items = [f if isinstance(f, Fire) else Fire(*f) for f in fires]
        if not items:
            return []
        results, history, applied = await asyncio.to_thread(
            self.sync._apply, items, raise_first=False
        )
        await tell_listeners_async(history, applied)
        return results
