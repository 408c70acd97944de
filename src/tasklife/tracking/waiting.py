"""Waiting for a record to reach a status: ``wait`` (threads) and ``wait_for`` (asyncio).

Both are built on a listener, not on polling: while anybody waits on a record of a lifecycle,
one internal listener on that lifecycle's machine hands each transition to the waiters of its
record. A waiter is woken by the first transition into an awaited status, or by one after which
no awaited status can be reached any more (then :class:`~tasklife.errors.InvalidTransition`
says so). The status is checked once the waiter is registered, so a transition that happens
while it registers is not missed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from tasklife.errors import InvalidRecord, InvalidTransition, WaitTimeout
from tasklife.lifecycle import Lifecycle

if TYPE_CHECKING:
    import asyncio

__all__ = ["wait", "wait_for"]

Awaited = str | int | Iterable[str | int] | None


class _Waiter:
    """One wait: what it accepts, and how to wake whoever waits."""

    __slots__ = ("event", "final", "future", "lifecycle", "record", "targets", "verdict")

    def __init__(self, record: Any, status: Awaited, final: bool) -> None:
        lc: Lifecycle = type(record).lifecycle
        self.record = record
        self.lifecycle = lc
        self.final = final
        names = [] if status is None else [status] if isinstance(status, str | int) else status
        targets = []
        for name in names:
            state = lc.canonical(name)
            if state is None:
                raise InvalidRecord("status", name, lc.unknown_status_reason(name))
            targets.append(state)
        if not targets and not final:
            raise InvalidRecord("status", status, "wait for a status or final=True")
        self.targets = frozenset(targets)
        self.event = threading.Event()
        self.future: asyncio.Future[None] | None = None
        self.verdict: str | InvalidTransition | None = None

    def describe(self) -> str:
        wanted = sorted(self.targets) + (["a final state"] if self.final else [])
        return " or ".join(repr(w) if w in self.targets else w for w in wanted)

    def judge(self, status: str) -> str | InvalidTransition | None:
        """The status reached, the error when nothing awaited is reachable, or None."""
        lc = self.lifecycle
        if status in self.targets or (self.final and lc.is_final(status)):
            return status
        if self.final or any(lc.path(status, t) is not None for t in self.targets):
            return None
        target = min(self.targets)
        allowed = lc.triggers_from(status)
        return InvalidTransition(None, status, allowed, lc.name, record=self.record, target=target)

    def hear(self, status: str) -> None:
        verdict = self.judge(status)
        if verdict is not None and self.verdict is None:
            self.verdict = verdict
            self.event.set()
            future = self.future
            if future is not None:
                future.get_loop().call_soon_threadsafe(_resolve, future)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


_lock = threading.Lock()
_waiters: dict[int, list[_Waiter]] = {}
_listening: dict[Any, int] = {}
"""machine -> number of waiters on its records (its listener is attached while any wait)."""


def _hear(record: Any, source: str, dest: str, trigger: str, at_usecs: int) -> None:
    with _lock:
        waiters = list(_waiters.get(id(record), ()))
    for waiter in waiters:
        waiter.hear(dest)


def _register(waiter: _Waiter) -> None:
    machine = type(waiter.record)._machine
    with _lock:
        _waiters.setdefault(id(waiter.record), []).append(waiter)
        count = _listening.get(machine, 0)
        _listening[machine] = count + 1
    if not count:
        machine.listeners.add(_hear)


def _unregister(waiter: _Waiter) -> None:
    machine = type(waiter.record)._machine
    with _lock:
        waiters = _waiters[id(waiter.record)]
        waiters.remove(waiter)
        if not waiters:
            del _waiters[id(waiter.record)]
        _listening[machine] -= 1
        last = not _listening[machine]
        if last:
            del _listening[machine]
    if last:
        machine.listeners.remove(_hear)


def _settle(waiter: _Waiter, verdict: str | InvalidTransition) -> str:
    if isinstance(verdict, InvalidTransition):
        raise verdict
    return verdict


def wait(record: Any, status: Awaited, final: bool, timeout: float | None) -> str:
    """Block until ``record`` reaches what is awaited (see :meth:`Tracked.wait`)."""
    waiter = _Waiter(record, status, final)
    verdict = waiter.judge(record.status)
    if verdict is not None:
        return _settle(waiter, verdict)
    _register(waiter)
    try:
        waiter.hear(record.status)
        if not waiter.event.wait(timeout):
            raise WaitTimeout(waiter.describe(), record.status, timeout)
        assert waiter.verdict is not None
        return _settle(waiter, waiter.verdict)
    finally:
        _unregister(waiter)


async def wait_for(record: Any, status: Awaited, final: bool, timeout: float | None) -> str:
    """Await until ``record`` reaches what is awaited (see :meth:`Tracked.wait_for`)."""
    import asyncio  # loaded: a loop runs

    waiter = _Waiter(record, status, final)
    verdict = waiter.judge(record.status)
    if verdict is not None:
        return _settle(waiter, verdict)
    waiter.future = asyncio.get_running_loop().create_future()
    _register(waiter)
    try:
        waiter.hear(record.status)
        try:
            await asyncio.wait_for(asyncio.shield(waiter.future), timeout)
        except TimeoutError:
            raise WaitTimeout(waiter.describe(), record.status, timeout) from None
        assert waiter.verdict is not None
        return _settle(waiter, waiter.verdict)
    finally:
        _unregister(waiter)
