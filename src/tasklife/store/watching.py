"""Watching a store: its committed transitions as they happen, from a cursor, and waiting for
one task to get somewhere.

Theory of operation
-------------------
A watch is a loop over ``store.events(after=cursor)``: read what committed past the cursor,
hand it out, move the cursor to the last event handed out; when nothing is new, wait for a
wake-up, then read again. The events cursor is the store's own commit order (see
:mod:`tasklife.store.sqlite` and :mod:`tasklife.store.postgres`), so a watch is in commit
order, and resuming from the last cursor seen loses and repeats nothing, whatever happened
in between (a reconnect, a server restart, a new process).

The wake-up is the only thing that differs by backend (:meth:`Backend.waker`): PostgreSQL
listens on the channel every history-writing transaction notifies at its commit
(:data:`~tasklife.store.schema.NOTIFY_CHANNEL`), and still reads again at least every
``poll_s`` (a notification says "look", the cursor says what: a change may become visible
only when an older transaction ends, which notifies nothing). SQLite polls every ``poll_s``.
A lost connection (a server restart) is waited out: the watch reconnects, with a growing
pause, and reads on from its cursor.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any, Final, Protocol

from tasklife.errors import StoreError, StoreUnavailable, WaitTimeout

__all__ = ["DEFAULT_POLL_S", "PAGE", "AsyncWatch", "Waker", "Watch", "wait_for_events"]

DEFAULT_POLL_S: Final = 0.1
"""How often a SQLite watch reads the history (its latency is at most this), and how often a
PostgreSQL watch reads without a notification (a safety net)."""
PAGE: Final = 1_000
"""Events read per query."""
ASYNC_TICK_S: Final = 1.0
"""The longest an async watch's worker thread waits at a time: a cancelled watch leaves no
thread waiting longer than this."""
RECONNECT_MAX_S: Final = 2.0
"""The longest pause between attempts to reach a server that went away."""

Events = Callable[[int, int], list[dict[str, Any]]]
"""``events(after, limit)``: a store's committed events past a cursor."""


class Waker(Protocol):
    """A backend's way for a watch to wait for the next commit."""

    def wait(self, timeout_s: float) -> None:
        """Return after a commit (maybe) or ``timeout_s`` seconds, whichever comes first."""

    def close(self) -> None:
        """Stop listening."""


class Watch:
    """A store's committed events past ``cursor``, as they commit: an iterator (blocking)
    that never ends by itself; :meth:`poll` for a bounded wait. ``cursor`` is the last
    event handed out: pass it as ``after`` to resume. Close it (or use ``with``) to stop
    listening.

    >>> from tasklife.store import open_store
    >>> with open_store("sqlite://") as store, store.watch(poll_s=0.01) as watch:
    ...     _ = store.add({"status": "kAccepted"}, task_id="t")
    ...     [e["status"] for e in watch.poll(timeout_s=1)], watch.cursor
    (['kAccepted'], 1)
    """

    def __init__(
        self, events: Events, make_waker: Callable[[], Waker], after: int, poll_s: float
    ) -> None:
        if poll_s <= 0:
            raise ValueError(f"poll_s must be positive, got {poll_s!r}")
        self.cursor = after
        self._events = events
        self._make_waker = make_waker
        self._waker: Waker | None = None
        self._poll_s = poll_s
        self._pause = 0.0

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop listening (the store stays open)."""
        if self._waker is not None:
            self._waker.close()
            self._waker = None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        while True:
            yield from self.poll(timeout_s=None)

    def poll(self, timeout_s: float | None) -> list[dict[str, Any]]:
        """The next events (at least one), or ``[]`` after ``timeout_s`` seconds with none
        (None: wait as long as it takes)."""
        end = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            batch = self._read()
            if batch:
                return batch
            left = self._poll_s if end is None else min(self._poll_s, end - time.monotonic())
            if left <= 0:
                return []
            self._wait(left)

    def _read(self) -> list[dict[str, Any]]:
        try:
            batch = self._events(self.cursor, PAGE)
        except StoreUnavailable:
            self._lost()
            return []
        if batch:
            self.cursor = batch[-1]["cursor"]
        return batch

    def _wait(self, seconds: float) -> None:
        if self._pause:  # reconnecting: wait without a waker
            time.sleep(min(self._pause, seconds))
        try:
            if self._waker is None:
                self._waker = self._make_waker()
            self._waker.wait(seconds)
            self._pause = 0.0
        except StoreError:
            self._lost()

    def _lost(self) -> None:
        """The server went away: drop the waker, pause longer each time, then read again."""
        self.close()
        self._pause = min(max(self._pause * 2, 0.05), RECONNECT_MAX_S)
        time.sleep(self._pause)


def wait_for_events(
    watch: Watch,
    matches: Callable[[dict[str, Any]], bool],
    timeout_s: float | None,
    awaited: str,
    status: Callable[[], str],
) -> dict[str, Any]:
    """The first event of ``watch`` that ``matches``; :class:`~tasklife.errors.WaitTimeout`
    (with the task's status then, from ``status()``) after ``timeout_s`` seconds."""
    end = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        left = None if end is None else end - time.monotonic()
        if left is not None and left <= 0:
            raise WaitTimeout(awaited, status(), timeout_s)
        for event in watch.poll(left):
            if matches(event):
                return event


class AsyncWatch:
    """:class:`Watch` as an async iterator (its waits run on a worker thread, a tick at a
    time, so the event loop never blocks); ``async with`` closes it."""

    def __init__(self, watch: Watch) -> None:
        self.watch = watch
        self._ready: list[dict[str, Any]] = []

    @property
    def cursor(self) -> int:
        """The cursor of the last event handed out."""
        return self.watch.cursor

    async def __aenter__(self) -> AsyncWatch:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.watch.close)

    def __aiter__(self) -> AsyncWatch:
        return self

    async def __anext__(self) -> dict[str, Any]:
        while not self._ready:
            self._ready = await self.poll(ASYNC_TICK_S)
        return self._ready.pop(0)

    async def poll(self, timeout_s: float) -> list[dict[str, Any]]:
        """:meth:`Watch.poll`, awaited."""
        return await asyncio.to_thread(self.watch.poll, timeout_s)
