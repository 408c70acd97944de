"""Delivering transitions to listeners: in order per record, errors reported, asyncio-aware.

Theory of operation
-------------------
A transition that has listeners becomes a :class:`Delivery`: the record, the change, and the
listeners that applied at that moment. A record's deliveries are queued under its stripe lock,
in the critical section that changed the record, and executed one at a time in that order: so
every listener sees a record's transitions in the order they happened, whatever the threads,
the loops and the slowness of the listeners.

Who executes: the call that finds its record's queue empty (the *head*) executes its own
delivery, then every delivery queued behind it meanwhile, until the queue is empty. Another
call waits until its delivery was executed (a thread on the stripe's condition, ``afire`` on a
future), then returns or raises; a call that cannot wait returns at once: a ``fire`` made by a
listener (any thread), or a sync ``fire`` on a thread whose event loop runs. So listeners of
one record may run in the thread of an earlier trigger of it, and listeners may fire triggers
(of their own record too) without deadlock: nothing is called out under a stripe lock, and no
call made by a listener waits for another delivery.

Errors: a listener that raises an ``Exception`` neither undoes nor hides the transition, and
the other listeners still run. The call that owns the delivery raises, once all of them ran,
one :class:`~tasklife.errors.AfterTransitionError` (an ``ExceptionGroup``) holding every
error, its own and those of the deliveries its listeners caused. Errors nobody can raise (a
delivery whose caller did not wait and whose executor does not own it) are logged on the
``tasklife.tracking`` logger.

Coroutine listeners: a listener may return an awaitable. It runs on the listener's own loop
(the loop running when it was added, or ``loop=``), else on the loop of the call that fired:

* ``afire`` awaits it in a shielded task: cancelling ``afire`` cancels the caller's wait,
  never the delivery;
* a sync ``fire`` on a thread without a running loop hands it to its loop with
  ``run_coroutine_threadsafe`` and waits (never ``asyncio.run`` on a new loop);
* a sync ``fire`` on a thread whose loop runs hands the rest of the delivery to a task on that
  loop and returns. Such tasks survive ``asyncio.run`` ending: a listener they had not
  started is started after the shutdown's cancellation, one cancelled while it ran is
  reported as an error;
* with no loop at all, the listener is refused with :class:`~tasklife.errors.NoEventLoop`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import logging
from asyncio import events
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from typing import Any, Final

from tasklife.errors import AfterTransitionError, NoEventLoop
from tasklife.tracking.listeners import Registration
from tasklife.tracking.locks import STRIPE_CONDITIONS, after_fork_in_child

__all__ = [
    "Delivery",
    "Sink",
    "deliver",
    "deliver_async",
    "deliver_steps",
    "enqueue",
    "executing",
    "raise_after",
    "raise_for",
]

log = logging.getLogger("tasklife.tracking")

LOOP_CHECK_SECONDS: Final = 0.25
"""How often a thread waiting for a coroutine listener on another loop checks that the loop
still runs (a stopped loop never finishes it): rare enough to cost nothing, soon enough that a
dead loop is reported promptly."""

_pending: dict[int, list[Delivery]] = {}
"""id(record) -> its deliveries not yet executed, the one being executed first; each entry is
guarded by its record's stripe lock (a queued delivery holds its record, so ids are not reused)."""
_background: set[asyncio.Task[Any]] = set()
"""Tasks finishing deliveries on a loop, kept alive until done."""


def _forget_after_fork() -> None:  # the threads that owned these do not exist in the child
    _pending.clear()
    _background.clear()


after_fork_in_child(_forget_after_fork)


class Sink:
    """The errors the top-level ``fire``/``afire`` call executing in a context answers for."""

    __slots__ = ("errors",)

    def __init__(self) -> None:
        self.errors: list[Exception] = []


executing: ContextVar[Sink | None] = ContextVar("tasklife_executing", default=None)
"""The sink of the deliveries being executed in this context: set while listeners run."""

_NOBODY: Final = Sink()
"""The owner of a delivery whose caller could not wait and was not a listener."""


class Delivery:
    """One transition on its way to its listeners (built under the record's stripe lock)."""

    __slots__ = (
        "at_usecs",
        "dest",
        "done",
        "errors",
        "future",
        "index",
        "key",
        "listeners",
        "loop",
        "owner",
        "record",
        "source",
        "stripe",
        "trigger",
    )

    def __init__(
        self,
        record: Any,
        stripe: int,
        change: tuple[str, str, str, int],
        listeners: tuple[Registration, ...],
        *,
        is_async: bool,
    ) -> None:
        self.record = record
        self.key = id(record)
        self.stripe = stripe
        self.trigger, self.source, self.dest, self.at_usecs = change
        self.listeners = listeners
        self.index = 0
        self.errors: list[Exception] = []
        self.loop = events._get_running_loop()
        parent = executing.get()
        self.owner: Sink | None
        """Where its errors go: None when its caller waits for it (and raises them)."""
        if parent is not None:  # fired by a listener: never waits
            self.owner = parent
        elif is_async or self.loop is None:
            self.owner = None
        else:  # a sync fire on a running loop cannot block it
            self.owner = _NOBODY
        self.done = False
        self.future: asyncio.Future[None] | None = None


def enqueue(d: Delivery) -> bool:
    """Queue ``d`` behind its record's earlier deliveries (call under the record's stripe
    lock); True when it is the head, to be executed now by its caller."""
    queue = _pending.get(d.key)
    if queue is None:
        _pending[d.key] = [d]
        return True
    queue.append(d)
    return False


def raise_for(d: Delivery, errors: list[Exception]) -> None:
    """Raise the errors a call collected for its transition ``d`` (nothing when none)."""
    raise_after(d.record, (d.trigger, d.source, d.dest, d.at_usecs), errors)


def raise_after(record: Any, change: tuple[str, str, str, int], errors: list[Exception]) -> None:
    """Raise :class:`AfterTransitionError` for ``errors`` after ``change`` (none: nothing)."""
    if errors:
        trigger, source, dest, at = change
        n = len(errors)
        raise AfterTransitionError(
            f"{n} listener{'s' if n > 1 else ''} or callback{'s' if n > 1 else ''} failed after "
            f"{trigger!r} moved a {type(record).__name__} from {source!r} to {dest!r}",
            errors,
            record=record,
            trigger=trigger,
            source=source,
            dest=dest,
            at_usecs=at,
        )


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
        parent = executing.get()
        sink = parent or Sink()
        sink.errors += known
        _execute(d, sink)
        if parent is None:
            raise_for(d, sink.errors)
        return
    if d.owner is not None:  # cannot wait: it runs after the delivery in progress
        if d.owner is not _NOBODY:
            d.owner.errors += known
        elif known:
            _log(d, known)
        return
    cond = STRIPE_CONDITIONS[d.stripe]
    with cond:
        while not d.done:
            cond.wait()
    raise_for(d, known + d.errors)


def _execute(first: Delivery, sink: Sink) -> None:
    """Execute ``first`` and the deliveries queued behind it, in this sync context."""
    token = executing.set(sink)
    try:
        d: Delivery | None = first
        while d is not None:
            handoff = _call_listeners(d)
            if handoff is not None:  # the rest must be awaited on this thread's loop
                if d is first:
                    sink.errors += d.errors
                    d.errors.clear()
                _hand_off(d, handoff, first)
                return
            d = _finish(d, first, sink)
    finally:
        executing.reset(token)


def _hand_off(
    d: Delivery, handoff: tuple[asyncio.AbstractEventLoop, Awaitable[Any]], first: Delivery
) -> None:
    """Finish ``d`` (and the queue behind it) in a task on this thread's running loop; nobody
    waits for that task, so what fails in it is logged."""
    rest = Sink()
    task = _start_task(lambda p: _finish_on_loop(d, handoff, first, rest, p), d, first)
    task.add_done_callback(lambda _: _log_sink(first, rest))


def _call_listeners(d: Delivery) -> tuple[asyncio.AbstractEventLoop, Awaitable[Any]] | None:
    """Call ``d``'s remaining listeners; stop at an awaitable this thread cannot wait for."""
    listeners = d.listeners
    while d.index < len(listeners):
        reg = listeners[d.index]
        d.index += 1
        try:
            result = reg.fn(d.record, d.source, d.dest, d.trigger, d.at_usecs)
            if result is None or not inspect.isawaitable(result):
                continue
            target = _target(reg, d, result)
            if events._get_running_loop() is not None:
                return target, result
            _wait_threadsafe(reg, result, target)
        except Exception as exc:
            d.errors.append(exc)
    return None


def _target(reg: Registration, d: Delivery, awaitable: Awaitable[Any]) -> Any:
    target = reg.loop or d.loop
    if target is None or target.is_closed():
        _discard(awaitable)
        raise NoEventLoop(reg.fn)
    return target


def _wait_threadsafe(
    reg: Registration, awaitable: Awaitable[Any], loop: asyncio.AbstractEventLoop
) -> None:
    future = asyncio.run_coroutine_threadsafe(_as_coroutine(awaitable), loop)
    while True:
        try:
            future.result(LOOP_CHECK_SECONDS)
            return
        except concurrent.futures.TimeoutError:
            if not loop.is_running():
                future.cancel()
                raise NoEventLoop(reg.fn) from None


async def _as_coroutine(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def _discard(awaitable: Awaitable[Any]) -> None:
    close = getattr(awaitable, "close", None)  # a coroutine never awaited: no warning
    if close is not None:
        close()


def _finish(d: Delivery, first: Delivery, sink: Sink) -> Delivery | None:
    """``d`` was executed: route its errors, release its waiting caller, pass the queue on.
    Returns the next delivery this executor must execute (None when the queue is empty)."""
    if d is first or d.owner is sink:
        sink.errors += d.errors
    elif d.owner is not None and d.errors:
        _log(d, d.errors)
    cond = STRIPE_CONDITIONS[d.stripe]
    with cond:
        d.done = True
        future = d.future
        queue = _pending[d.key]
        del queue[0]
        nxt = queue[0] if queue else None
        if nxt is None:
            del _pending[d.key]
        if d is not first and d.owner is None:
            cond.notify_all()
    if future is not None:
        future.get_loop().call_soon_threadsafe(_resolve, future)
    return nxt


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _sink_of(errors: list[Exception]) -> Sink:
    sink = Sink()
    sink.errors = errors
    return sink


def _log_sink(d: Delivery, sink: Sink) -> None:
    if sink.errors:
        _log(d, sink.errors)


def _log(d: Delivery, errors: list[Exception]) -> None:
    try:
        raise_for(d, errors)
    except AfterTransitionError as group:
        log.error("listeners failed and no caller waited to be told: %s", group, exc_info=group)


# -- asyncio -----------------------------------------------------------------------------------


async def deliver_async(d: Delivery, head: bool, errors: list[Exception] | None = None) -> None:
    """After ``afire`` queued ``d``: execute (awaiting coroutine listeners) or wait; raise."""
    known = errors or []
    if head:
        parent = executing.get()
        sink = parent or Sink()
        sink.errors += known
        token = executing.set(sink)
        try:
            handoff = _call_listeners(d)
            task = None
            if handoff is not None:
                task = _start_task(lambda p: _finish_on_loop(d, handoff, d, sink, p), d, d)
            else:
                nxt = _finish(d, d, sink)
                if nxt is not None:
                    task = _start_task(lambda p: _execute_on_loop(nxt, d, sink, p), nxt, d)
        finally:
            executing.reset(token)
        if task is not None:
            await _shielded(task, sink, d)
        if parent is None:
            raise_for(d, sink.errors)
        return
    if d.owner is not None:
        if d.owner is not _NOBODY:
            d.owner.errors += known
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
            future.add_done_callback(lambda _: _log_sink(d, _sink_of(known + d.errors)))
            raise
    raise_for(d, known + d.errors)


async def _shielded(task: asyncio.Task[Any], sink: Sink, d: Delivery) -> None:
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:  # our caller gave up waiting; the delivery goes on
        task.add_done_callback(lambda _: _log_sink(d, sink))
        raise


Progress = list[Delivery | None]
"""A one-item list: the delivery a task is executing (None once it finished its work)."""


def _start_task(
    make: Callable[[Progress], Coroutine[Any, Any, None]], current: Delivery, first: Delivery
) -> asyncio.Task[None]:
    """Run ``make(progress)`` (finishing ``current``) as a task kept alive until done; if the
    task dies before finishing (cancelled before it started), the queue is passed on anyway."""
    progress: Progress = [current]
    task = events.get_running_loop().create_task(make(progress))
    _background.add(task)
    task.add_done_callback(lambda t: _task_done(t, progress, first))
    return task


def _task_done(task: asyncio.Task[None], progress: Progress, first: Delivery) -> None:
    _background.discard(task)
    d = progress[0]
    if d is None:
        return
    progress[0] = None  # interrupted: skip what it could not call, and go on
    d.errors.append(RuntimeError(f"listeners of {d.trigger!r} were not all called: {task!r}"))
    sink = Sink()
    nxt = _finish(d, first, sink)
    if nxt is not None:
        _execute(nxt, sink)
    _log_sink(d, sink)


async def _execute_on_loop(
    d: Delivery | None, first: Delivery, sink: Sink, progress: Progress
) -> None:
    token = executing.set(sink)
    try:
        while d is not None:
            progress[0] = d
            await _call_listeners_async(d)
            d = _finish(d, first, sink)
        progress[0] = None
    finally:
        executing.reset(token)


async def _finish_on_loop(
    d: Delivery,
    handoff: tuple[asyncio.AbstractEventLoop, Awaitable[Any]],
    first: Delivery,
    sink: Sink,
    progress: Progress,
) -> None:
    target, awaitable = handoff
    token = executing.set(sink)
    try:
        await _await_listener(target, awaitable)
    except Exception as exc:
        d.errors.append(exc)
    finally:
        executing.reset(token)
    await _execute_on_loop(d, first, sink, progress)


async def _call_listeners_async(d: Delivery) -> None:
    listeners = d.listeners
    while d.index < len(listeners):
        reg = listeners[d.index]
        d.index += 1
        try:
            result = reg.fn(d.record, d.source, d.dest, d.trigger, d.at_usecs)
            if result is not None and inspect.isawaitable(result):
                await _await_listener(_target(reg, d, result), result)
        except Exception as exc:
            d.errors.append(exc)


async def _await_listener(target: asyncio.AbstractEventLoop, awaitable: Awaitable[Any]) -> Any:
    """Await a listener's awaitable through to its end, whatever cancels the task awaiting it.

    It runs as its own task, shielded: a cancellation of ours (``asyncio.run`` ending cancels
    every task) is absorbed. If that cancellation also killed the listener's task before it
    started, it is started again (nothing of it ran); one cancelled while it ran is an error.
    """
    me = asyncio.current_task()
    started = [False]

    async def run() -> Any:
        started[0] = True
        if target is not events.get_running_loop():
            coroutine = _as_coroutine(awaitable)
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
