"""Executing deliveries: who calls a record's listeners, in which thread or loop.

See :mod:`tasklife.tracking.delivery` for the rules. Sync callers (``fire``, ``observe``)
execute the head of their record's queue, or wait on the stripe's condition for their delivery
to be executed, or return at once when they cannot wait. On an event loop, ``afire`` does the
same with a future, and the part of a delivery that must be awaited runs in a task kept alive
until done, shielded from cancellation: cancelling ``afire`` or ending ``asyncio.run`` never
drops a transition on its way to a listener.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from tasklife.errors import AfterTransitionError
from tasklife.tracking.delivery import (
    NOBODY,
    PENDING,
    Delivery,
    Sink,
    as_coroutine,
    call_listeners,
    current_sink,
    executing,
    executing_set,
    finish,
    listener_loop,
    log_errors,
    log_sink,
    next_awaitable,
    promote_inline,
    raise_for,
    thread_executing,
    wait_threadsafe,
)
from tasklife.tracking.listeners import Registration, running_loop
from tasklife.tracking.locks import STRIPE_CONDITIONS, after_fork_in_child

if TYPE_CHECKING:
    import asyncio
    from threading import Lock

__all__ = ["deliver", "deliver_async", "deliver_steps", "pass_on_inline", "resume_inline"]

_background: set[asyncio.Task[Any]] = set()
"""Tasks finishing deliveries on a loop, kept alive until done."""


def _forget_after_fork() -> None:
    _background.clear()


after_fork_in_child(_forget_after_fork)


def deliver_steps(steps: list[tuple[Delivery, bool]], known: list[Exception] | None = None) -> None:
    """Deliver the consecutive transitions of one call (``observe``), raising once; ``known``
    are errors of transitions callbacks of those steps."""
    errors: list[Exception] = list(known or ())
    for d, head in steps:
        try:
            deliver(d, head)
        except AfterTransitionError as group:
            errors += [e for e in group.exceptions if isinstance(e, Exception)]
    if steps:
        raise_for(steps[-1][0], errors)
    elif errors:
        raise errors[0]


# -- sync callers ------------------------------------------------------------------------------


def deliver(d: Delivery, head: bool, errors: list[Exception] | None = None) -> None:
    """After a sync ``fire`` queued ``d``: execute, wait or return; raise what it owns.

    ``errors`` are already known errors of the same transition (transitions callbacks)."""
    known = errors or []
    if head:
        parent = current_sink()
        sink = parent if parent is not None else []
        sink += known
        _execute(d, sink, d)
        if parent is None:
            raise_for(d, sink)
        return
    if d.owner is not None:  # cannot wait: it runs after the delivery in progress
        if d.owner is not NOBODY:
            d.owner += known
        elif known:
            log_errors(d, known)
        return
    cond = STRIPE_CONDITIONS[d.stripe]
    with cond:
        while not d.done:
            cond.wait()
    raise_for(d, known + d.errors)


def resume_inline(
    record: Any,
    stripe: int,
    change: tuple[str, str, str, int],
    listeners: tuple[Registration, ...],
    reg: Registration,
    awaitable: Awaitable[Any],
    sink: Sink,
) -> None:
    """Go on with an inline delivery (``Tracked.fire``'s, with no Delivery built) whose
    listener ``reg`` returned ``awaitable``: the general machinery takes over from there."""
    d = promote_inline(record, stripe, change, listeners, listeners.index(reg) + 1)
    _resume(d, reg, awaitable, sink)


def pass_on_inline(queue: list[Delivery | None], key: int, lock: Lock, sink: Sink) -> None:
    """An inline delivery is done and others queued behind it meanwhile: ``queue`` was popped
    from ``PENDING`` under the stripe ``lock``, still held. Put the queue back without its
    head, release the lock, and execute the deliveries queued (errors of those our listeners
    caused go to ``sink``)."""
    del queue[0]
    nxt = queue[0]
    PENDING[key] = queue
    lock.release()
    if nxt is not None:
        _execute(nxt, sink, None)


def _resume(d: Delivery, reg: Registration, awaitable: Awaitable[Any], sink: Sink) -> None:
    """Go on with an inline delivery whose listener ``reg`` returned ``awaitable``."""
    try:
        target = listener_loop(reg, d, awaitable)
        if running_loop() is not None:
            _hand_off(d, (target, awaitable), d)
            return
        wait_threadsafe(reg, awaitable, target)
    except Exception as exc:
        sink.append(exc)
    _execute(d, sink, d)


def _execute(start: Delivery, sink: Sink, first: Delivery | None) -> None:
    """Execute ``start`` and the deliveries queued behind it, in this sync context; ``first``
    is the caller's own delivery (its errors are the caller's), if among them."""
    here = thread_executing.executing
    outer = here.sink
    here.sink = sink
    try:
        d: Delivery | None = start
        while d is not None:
            handoff = call_listeners(d)
            if handoff is not None:  # the rest must be awaited on this thread's loop
                if d is first:
                    sink += d.errors
                    d.errors.clear()
                _hand_off(d, handoff, first)
                return
            d = finish(d, first, sink)
    finally:
        here.sink = outer


def _hand_off(
    d: Delivery,
    handoff: tuple[asyncio.AbstractEventLoop, Awaitable[Any]],
    first: Delivery | None,
) -> None:
    """Finish ``d`` (and the queue behind it) in a task on this thread's running loop; nobody
    waits for that task, so what fails in it is logged."""
    rest: Sink = []
    task = _start_task(lambda p: _finish_on_loop(d, handoff, first, rest, p), d, first)
    task.add_done_callback(lambda _: log_sink(d, rest))


# -- asyncio -----------------------------------------------------------------------------------


async def deliver_async(d: Delivery, head: bool, errors: list[Exception] | None = None) -> None:
    """After ``afire`` queued ``d``: execute (awaiting coroutine listeners) or wait; raise."""
    import asyncio  # loaded: a loop runs

    known = errors or []
    if head:
        parent = current_sink()
        sink = parent if parent is not None else []
        sink += known
        token = executing_set(sink)
        try:
            handoff = call_listeners(d)
            task = None
            if handoff is not None:
                task = _start_task(lambda p: _finish_on_loop(d, handoff, d, sink, p), d, d)
            else:
                nxt = finish(d, d, sink)
                if nxt is not None:
                    task = _start_task(lambda p: _execute_on_loop(nxt, d, sink, p), nxt, d)
        finally:
            executing.reset(token)
        if task is not None:
            await _shielded(task, sink, d)
        if parent is None:
            raise_for(d, sink)
        return
    if d.owner is not None:
        if d.owner is not NOBODY:
            d.owner += known
        return
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()
    with STRIPE_CONDITIONS[d.stripe]:
        if not d.done:
            d.future = future
    if d.future is not None:
        try:
            await asyncio.shield(future)
        except asyncio.CancelledError:  # the delivery goes on; its errors are logged
            future.add_done_callback(lambda _: log_sink(d, known + d.errors))
            raise
    raise_for(d, known + d.errors)


async def _shielded(task: asyncio.Task[Any], sink: Sink, d: Delivery) -> None:
    import asyncio  # loaded: a loop runs

    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:  # our caller gave up waiting; the delivery goes on
        task.add_done_callback(lambda _: log_sink(d, sink))
        raise


Progress = list[Delivery | None]
"""A one-item list: the delivery a task is executing (None once it finished its work)."""


def _start_task(
    make: Callable[[Progress], Coroutine[Any, Any, None]], current: Delivery, first: Delivery | None
) -> asyncio.Task[None]:
    """Run ``make(progress)`` (finishing ``current``) as a task kept alive until done; if the
    task dies before finishing (cancelled before it started), the queue is passed on anyway."""
    import asyncio  # loaded: a loop runs

    progress: Progress = [current]
    task = asyncio.get_running_loop().create_task(make(progress))
    _background.add(task)
    task.add_done_callback(lambda t: _task_done(t, progress, first))
    return task


def _task_done(task: asyncio.Task[None], progress: Progress, first: Delivery | None) -> None:
    _background.discard(task)
    d = progress[0]
    if d is None:
        return
    progress[0] = None  # interrupted: skip what it could not call, and go on
    d.errors.append(RuntimeError(f"listeners of {d.trigger!r} were not all called: {task!r}"))
    sink: Sink = []
    nxt = finish(d, first, sink)
    if nxt is not None:
        _execute(nxt, sink, None)
    log_sink(d, sink)


async def _execute_on_loop(
    d: Delivery | None, first: Delivery | None, sink: Sink, progress: Progress
) -> None:
    token = executing_set(sink)
    try:
        while d is not None:
            progress[0] = d
            await _call_listeners_async(d)
            d = finish(d, first, sink)
        progress[0] = None
    finally:
        executing.reset(token)


async def _finish_on_loop(
    d: Delivery,
    handoff: tuple[asyncio.AbstractEventLoop, Awaitable[Any]],
    first: Delivery | None,
    sink: Sink,
    progress: Progress,
) -> None:
    target, awaitable = handoff
    token = executing_set(sink)
    try:
        await _await_listener(target, awaitable)
    except Exception as exc:
        d.errors.append(exc)
    finally:
        executing.reset(token)
    await _execute_on_loop(d, first, sink, progress)


async def _call_listeners_async(d: Delivery) -> None:
    while (called := next_awaitable(d)) is not None:
        reg, awaitable = called
        try:
            await _await_listener(listener_loop(reg, d, awaitable), awaitable)
        except Exception as exc:
            d.errors.append(exc)


async def _await_listener(target: asyncio.AbstractEventLoop, awaitable: Awaitable[Any]) -> Any:
    """Await a listener's awaitable through to its end, whatever cancels the task awaiting it.

    It runs as its own task, shielded: a cancellation of ours (``asyncio.run`` ending cancels
    every task) is absorbed. If that cancellation also killed the listener's task before it
    started, it is started again (nothing of it ran); one cancelled while it ran is an error.
    """
    import asyncio  # loaded: a loop runs

    me = asyncio.current_task()
    started = [False]

    async def run() -> Any:
        started[0] = True
        if target is not asyncio.get_running_loop():
            coroutine = as_coroutine(awaitable)
            return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, target))
        return await awaitable

    inner = asyncio.ensure_future(run())
    while True:
        try:
            return await asyncio.shield(inner)
        except asyncio.CancelledError:
            if me is not None and me.cancelling():
                me.uncancel()
            if not inner.done():
                continue
            if not inner.cancelled():
                return inner.result()
            if not started[0]:
                inner = asyncio.ensure_future(run())
                continue
            raise RuntimeError("a coroutine listener was cancelled while it ran") from None
