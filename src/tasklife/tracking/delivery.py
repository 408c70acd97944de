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

Cost: the usual case, a sync ``fire`` that is its record's head, builds no Delivery and no
queue: it marks the record busy (``PENDING[id] = INLINE``) under the stripe it holds anyway,
calls the listeners inline (written out in :meth:`Tracked.fire`), and takes the
stripe once more to pop the mark, finding a list only when another call queued behind it
meanwhile; a Delivery is built only for a call that must queue or await. The sink of the
thread is one slot of a per-thread object, and the context variable of async executors is
read only once one ever ran in the process.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Awaitable
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any, Final

from tasklife.errors import AfterTransitionError, NoEventLoop
from tasklife.tracking.listeners import Registration, running_loop
from tasklife.tracking.locks import STRIPE_CONDITIONS, after_fork_in_child

if TYPE_CHECKING:
    import asyncio

__all__ = [
    "ASYNC_EXECUTORS",
    "INLINE",
    "NOBODY",
    "PENDING",
    "Delivery",
    "Executing",
    "Sink",
    "call_listeners",
    "current_sink",
    "enqueue",
    "executing",
    "executing_set",
    "finish",
    "listener_loop",
    "log_errors",
    "next_awaitable",
    "promote_inline",
    "queue_behind",
    "raise_after",
    "raise_for",
    "thread_executing",
]

log = logging.getLogger("tasklife.tracking")

LOOP_CHECK_SECONDS: Final = 0.25
"""How often a thread waiting for a coroutine listener on another loop checks that the loop
still runs (a stopped loop never finishes it): rare enough to cost nothing, soon enough that a
dead loop is reported promptly."""


class _Inline(list["Delivery | None"]):
    __slots__ = ()

    def __repr__(self) -> str:
        return "INLINE"


INLINE: Final[list[Delivery | None]] = _Inline()
"""The mark of a record whose only delivery in progress is a sync ``fire`` calling listeners
inline, with nobody queued behind it: shared and never mutated (a call that queues behind it
replaces it with the list ``[None, its delivery]``), so marking costs no allocation."""

PENDING: dict[int, list[Delivery | None]] = {}
"""id(record) -> its deliveries not yet executed, the one being executed first (None: a sync
``fire`` delivering inline, with no Delivery built), or ``INLINE``; each entry is guarded by
its record's stripe lock (a record is alive while its deliveries are pending, so ids are not
reused)."""


def _forget_after_fork() -> None:  # the threads that owned these do not exist in the child
    PENDING.clear()


after_fork_in_child(_forget_after_fork)


Sink = list[Exception]
"""The errors the top-level ``fire``/``afire`` call executing in a context answers for."""


executing: ContextVar[Sink | None] = ContextVar("tasklife_executing", default=None)
"""The sink of the deliveries a task on an event loop is executing (async executors); read
only once ``ASYNC_EXECUTORS.ran`` (before any, it is None in every context)."""


class _AsyncExecutors:
    __slots__ = ("ran",)

    def __init__(self) -> None:
        self.ran = False
        """Whether an async executor ever set ``executing`` in this process: set before its
        first ``executing.set`` and never cleared, so it needs no lock."""


ASYNC_EXECUTORS: Final = _AsyncExecutors()


def executing_set(sink: Sink) -> Token[Sink | None]:
    """Set ``executing`` for an async executor (the only way it is set)."""
    ASYNC_EXECUTORS.ran = True
    return executing.set(sink)


class Executing:
    """What this thread is executing synchronously: one per thread, so that a trigger reads
    the thread-local once and then only a slot (a thread-local attribute costs as much as a
    dict lookup, on every read and write)."""

    __slots__ = ("sink",)

    def __init__(self) -> None:
        self.sink: Sink | None = None
        """The sink of the deliveries this thread is executing synchronously (None: not
        inside a sync listener); no other code of this thread runs while a listener does."""


class _PerThread(threading.local):
    def __init__(self) -> None:
        self.executing = Executing()


thread_executing: Final = _PerThread()
"""``thread_executing.executing``: this thread's :class:`Executing`."""


def current_sink() -> Sink | None:
    """The sink of the deliveries being executed here (None: not inside a listener)."""
    sink = thread_executing.executing.sink
    if sink is None and ASYNC_EXECUTORS.ran:
        return executing.get()
    return sink


"""The sink of the deliveries being executed in this context: set while listeners run."""

NOBODY: Final[Sink] = []
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
        self.loop = running_loop()
        parent = current_sink()
        self.owner: Sink | None
        """Where its errors go: None when its caller waits for it (and raises them)."""
        if parent is not None:  # fired by a listener: never waits
            self.owner = parent
        elif is_async or self.loop is None:
            self.owner = None
        else:  # a sync fire on a running loop cannot block it
            self.owner = NOBODY
        self.done = False
        self.future: asyncio.Future[None] | None = None


def promote_inline(
    record: Any,
    stripe: int,
    change: tuple[str, str, str, int],
    listeners: tuple[Registration, ...],
    index: int,
) -> Delivery:
    """An inline delivery that needs the general machinery from listener ``index`` on."""
    d = Delivery(record, stripe, change, listeners, is_async=False)
    d.index = index
    with STRIPE_CONDITIONS[stripe]:
        queue = PENDING[d.key]
        if queue is INLINE:
            PENDING[d.key] = [d]
        else:
            queue[0] = d
    return d


def enqueue(d: Delivery) -> bool:
    """Queue ``d`` behind its record's earlier deliveries (call under the record's stripe
    lock); True when it is the head, to be executed now by its caller."""
    queue = PENDING.get(d.key)
    if queue is None:
        PENDING[d.key] = [d]
        return True
    queue_behind(queue, d)
    return False


def queue_behind(queue: list[Delivery | None], d: Delivery) -> None:
    """Queue ``d`` in its record's non-empty ``queue`` (under the record's stripe lock)."""
    if queue is INLINE:
        PENDING[d.key] = [None, d]
    else:
        queue.append(d)


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


def next_awaitable(d: Delivery) -> tuple[Registration, Awaitable[Any]] | None:
    """Call ``d``'s next listeners until one returns an awaitable (errors go to ``d.errors``);
    None when all were called."""
    listeners = d.listeners
    while d.index < len(listeners):
        reg = listeners[d.index]
        d.index += 1
        try:
            result = reg.fn(d.record, d.source, d.dest, d.trigger, d.at_usecs)
        except Exception as exc:
            d.errors.append(exc)
            continue
        if result is not None and inspect.isawaitable(result):
            return reg, result
    return None


def call_listeners(d: Delivery) -> tuple[asyncio.AbstractEventLoop, Awaitable[Any]] | None:
    """Call ``d``'s remaining listeners; stop at an awaitable this thread cannot wait for."""
    while (called := next_awaitable(d)) is not None:
        reg, awaitable = called
        try:
            target = listener_loop(reg, d, awaitable)
            if running_loop() is not None:
                return target, awaitable
            wait_threadsafe(reg, awaitable, target)
        except Exception as exc:
            d.errors.append(exc)
    return None


def listener_loop(reg: Registration, d: Delivery, awaitable: Awaitable[Any]) -> Any:
    target = reg.loop or d.loop
    if target is None or target.is_closed():
        discard(awaitable)
        raise NoEventLoop(reg.fn)
    return target


def wait_threadsafe(
    reg: Registration, awaitable: Awaitable[Any], loop: asyncio.AbstractEventLoop
) -> None:
    import asyncio  # a loop exists, so asyncio is loaded already
    import concurrent.futures

    future = asyncio.run_coroutine_threadsafe(as_coroutine(awaitable), loop)
    while True:
        try:
            future.result(LOOP_CHECK_SECONDS)
            return
        except concurrent.futures.TimeoutError:
            if not loop.is_running():
                future.cancel()
                raise NoEventLoop(reg.fn) from None


async def as_coroutine(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def discard(awaitable: Awaitable[Any]) -> None:
    close = getattr(awaitable, "close", None)  # a coroutine never awaited: no warning
    if close is not None:
        close()


def finish(d: Delivery, first: Delivery | None, sink: Sink) -> Delivery | None:
    """``d`` was executed: route its errors, release its waiting caller, pass the queue on.
    Returns the next delivery this executor must execute (None when the queue is empty)."""
    if d is first or d.owner is sink:
        sink += d.errors
    elif d.owner is not None and d.errors:
        log_errors(d, d.errors)
    cond = STRIPE_CONDITIONS[d.stripe]
    with cond:
        d.done = True
        future = d.future
        queue = PENDING[d.key]
        del queue[0]
        nxt = queue[0] if queue else None
        if nxt is None:
            del PENDING[d.key]
        if d is not first and d.owner is None:
            cond.notify_all()
    if future is not None:
        future.get_loop().call_soon_threadsafe(resolve, future)
    return nxt


def resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def log_sink(d: Delivery, sink: Sink) -> None:
    if sink:
        log_errors(d, sink)


def log_errors(d: Delivery, errors: list[Exception]) -> None:
    try:
        raise_for(d, errors)
    except AfterTransitionError as group:
        log.error("listeners failed and no caller waited to be told: %s", group, exc_info=group)
