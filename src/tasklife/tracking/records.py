"""Tracked records: ``fire``, ``afire``, ``observe``, waiting, listeners of a record class.

A record is any slotted attrs object that mixes in :class:`Tracked` and has the fields
``status``, ``error``, ``task_start_time_usecs``, ``task_end_time_usecs`` and the keyword-only
``clock``, ``journal`` and ``changed_usecs``. Its lifecycle is a class attribute;
:meth:`Tracked.for_lifecycle` gives the subclass bound to another one: one per lifecycle,
found again by value, with the trigger methods of its table (:mod:`tasklife.tracking.triggers`),
pickled as base class and lifecycle (the :class:`TrackedType` metaclass, for class objects;
``_portable_key``, for records: :mod:`tasklife.wire.travel`).

The fast path of :meth:`Tracked.fire` is written out in one function, about ninety lines: the
move, then the inline delivery to listeners when the call is its record's head (the rules are
:mod:`tasklife.tracking.delivery`'s; :mod:`tasklife.tracking.dispatch` takes over for a queue
or an awaitable). It is the hot loop of every orchestrator (``benchmarks/bench_tracking.py``),
and each call or ``with`` taken out of it was a measurable share of a trigger: the call into
a separate delivery function alone was 0.15-0.2 µs of a 2.1 µs trigger with one listener.
"""

from __future__ import annotations

import copyreg
import inspect
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Self, cast

from tasklife.lifecycle import COPY_TASK, Lifecycle, get_lifecycle
from tasklife.tracking.delivery import (
    ASYNC_EXECUTORS,
    INLINE,
    PENDING,
    Delivery,
    Sink,
    executing,
    queue_behind,
    raise_after,
    thread_executing,
)
from tasklife.tracking.dispatch import (
    deliver,
    deliver_async,
    pass_on_inline,
    resume_inline,
)
from tasklife.tracking.firing import PlainRun, fire_plain, fire_through_machine
from tasklife.tracking.invariants import INT64_MAX
from tasklife.tracking.journal import JournalEntry
from tasklife.tracking.listeners import L, Listener, ListenerSet, track_class
from tasklife.tracking.locks import STRIPE_LOCKS, STRIPE_SHIFT, STRIPES
from tasklife.tracking.machine import LifecycleMachine, Run, machine_for
from tasklife.tracking.moves import (
    check_error,
    floor_usecs,
    journal_refused,
    now_usecs,
    refuse,
    too_early,
)
from tasklife.tracking.observing import Observation, observe
from tasklife.tracking.triggers import trigger_methods
from tasklife.tracking.waiting import wait, wait_for

__all__ = ["Clock", "Tracked", "TrackedType"]

Clock = Callable[[], int]
"""A callable returning the time in epoch microseconds."""

_MASK = STRIPES - 1
_time_ns = time.time_ns
_class_lock = threading.Lock()


class TrackedType(type):
    """The metaclass of record classes: classes bound by :meth:`Tracked.for_lifecycle` pickle
    as (base class, lifecycle), so any process finds (or makes) the same class."""


def _reduce_class(cls: type) -> str | tuple[Any, ...]:
    bound = cls.__dict__.get("_bound_from_")
    if bound is not None:
        return (_bound_class, bound)
    unscoped = cls.__dict__.get("_unscoped_")
    if unscoped is not None:  # a scope is local to its process
        return (_same, (unscoped,))
    return cls.__qualname__  # found by module and name, like any class


def _bound_class(base: type[Tracked], lifecycle: Lifecycle) -> type[Tracked]:
    return base.for_lifecycle(lifecycle)


def _same(cls: type) -> type:
    return cls


copyreg.pickle(TrackedType, _reduce_class)


class Tracked(metaclass=TrackedType):
    """Mixin giving a slotted attrs record a lifecycle: ``fire``, ``afire``, ``observe``, ...

    >>> from tasklife.tracking import Task
    >>> task = Task(clock=lambda: 1_000)
    >>> task.fire("start")
    True
    >>> task.status, task.task_start_time_usecs
    ('kRunning', 1000)
    """

    __slots__ = ()
    lifecycle: ClassVar[Lifecycle] = COPY_TASK
    _machine: ClassVar[LifecycleMachine]
    _listeners: ClassVar[tuple[Any, ...]]
    status: Any
    error: str | None
    task_start_time_usecs: int | None
    task_end_time_usecs: int | None
    clock: Clock | None
    journal: list[JournalEntry] | None
    changed_usecs: int | None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        type.__setattr__(cls, "_machine", machine_for(cls.lifecycle))
        track_class(cls)

    @classmethod
    def for_lifecycle(cls, lifecycle: str | os.PathLike[str] | Lifecycle) -> type[Self]:
        """This record class bound to another lifecycle (one class per lifecycle, by value).

        >>> from tasklife.tracking import Task
        >>> Task68 = Task.for_lifecycle("copy-task-6.8")
        >>> Task68.lifecycle.name, Task68 is Task.for_lifecycle("copy-task-6.8")
        ('copy-task-6.8', True)
        >>> hasattr(Task68(), "finalize"), hasattr(Task.for_lifecycle("copy-task")(), "finalize")
        (True, False)
        """
        lc = get_lifecycle(lifecycle)
        if lc == cls.lifecycle:
            return cls
        base = cls.__dict__.get("_bound_from_", (cls,))[0]
        if base is not cls:
            return base.for_lifecycle(lc)  # type: ignore[no-any-return]
        with _class_lock:
            cache = cls.__dict__.get("_bound_classes_")
            if cache is None:  # weak: a class lives while its records or a listener need it
                cache = weakref.WeakValueDictionary()
                type.__setattr__(cls, "_bound_classes_", cache)
            bound: type[Self] | None = cache.get(lc)
            if bound is None:
                namespace = {
                    "__slots__": (),
                    "__module__": cls.__module__,
                    "lifecycle": lc,
                    "_bound_from_": (cls, lc),
                    **trigger_methods(cls, lc),
                }
                made = TrackedType(f"{cls.__name__}[{lc.name}]", (cls,), namespace)
                bound = cache[lc] = cast("type[Self]", made)
        return bound

    @classmethod
    def _portable_key(cls) -> Any:
        """How records of this class travel: by base class and lifecycle when bound, as the
        unscoped class when in a scope (a scope is local to its process)."""
        bound = cls.__dict__.get("_bound_from_")
        if bound is not None:
            return (bound[0]._portable_key(), bound[1])
        unscoped = cls.__dict__.get("_unscoped_")
        if unscoped is not None:
            return unscoped._portable_key()
        return f"{cls.__module__}:{cls.__qualname__}"

    @classmethod
    def _portable_member(cls, lifecycle: Lifecycle) -> type[Self]:
        return cls.for_lifecycle(lifecycle)

    # -- listeners of this record class ----------------------------------------------------

    @classmethod
    def add_listener(cls, listener: L, *, loop: Any = None) -> L:
        """Call ``listener(record, source, dest, trigger, at_usecs)`` after every transition of
        a record of this class (or a subclass); a decorator too. See
        :mod:`tasklife.tracking.delivery` for order, errors and coroutine listeners."""
        with _class_lock:
            own = cls.__dict__.get("_own_listeners_")
            if own is None:
                own = ListenerSet(cls)
                type.__setattr__(cls, "_own_listeners_", own)
        return own.add(listener, loop)

    @classmethod
    def remove_listener(cls, listener: Listener) -> None:
        """Stop calling ``listener`` for this class (ValueError when it was not added)."""
        own = cls.__dict__.get("_own_listeners_")
        if own is None:
            raise ValueError(f"{listener!r} is not a listener of {cls.__name__}")
        own.remove(listener)

    # -- firing ------------------------------------------------------------------------------

    def fire(
        self,
        trigger: str,
        /,
        *,
        at_usecs: int | None = None,
        error: str | None = None,
        **kwargs: Any,
    ) -> bool:
        """Fire ``trigger``; True when the status changed (False: a transitions condition
        said no). ``at_usecs`` overrides the clock; ``error`` is required by, and only
        accepted by, triggers into a ``failure`` state. Extra keywords reach transitions
        callbacks. Raises :class:`~tasklife.errors.InvalidTransition` (the record untouched),
        or :class:`~tasklife.errors.AfterTransitionError` after the move when listeners
        raised."""
        record: Any = self  # its fields are the subclass's slots
        cls = type(self)
        tables = cls._machine.fast
        if tables is None:  # transitions callbacks are attached: their path
            return fire_through_machine(record, trigger, at_usecs, error, kwargs)
        key = id(record)
        stripe = (key >> STRIPE_SHIFT) & _MASK
        lock = STRIPE_LOCKS[stripe]
        lock.acquire()  # not "with": its __enter__/__exit__ calls cost more than the move
        try:
            source = record.status
            try:
                dest = tables.table.get((trigger, source))
            except TypeError:  # an unhashable trigger: refused below, saying so
                dest = None
            if dest is None:
                raise refuse(record, trigger, source, tables.lifecycle)
            if error is not None or dest in tables.needs_error:
                check_error(tables, trigger, dest, error)
            # the time (as tasklife.tracking.moves.check_move: never before the last move)
            last = record.changed_usecs
            if last is None:
                last = record.task_start_time_usecs
            if last is not None and last.__class__ is not int:
                last = floor_usecs(record)  # a stamp set by hand that is no time: raises
            if at_usecs is None and record.clock is None:
                at_usecs = _time_ns() // 1000
                if last is not None and at_usecs < last:  # the wall clock stepped back
                    at_usecs = last
            else:
                if at_usecs is None:
                    at_usecs = now_usecs(record, None)  # the clock's value, checked
                elif at_usecs.__class__ is not int or not 0 <= at_usecs <= INT64_MAX:
                    at_usecs = now_usecs(record, at_usecs)  # raises, naming it
                if last is not None and at_usecs < last:
                    raise too_early(record, at_usecs, last)
            # the move (as tasklife.tracking.moves.apply_move, written out: the hot path)
            journal = record.journal
            if journal is not None:  # first: a journal that refuses leaves the record as it was
                try:
                    journal.append(JournalEntry(trigger, source, dest, at_usecs, error))
                except Exception as exc:
                    raise journal_refused(record, exc) from None
            if dest in tables.starts and record.task_start_time_usecs is None:
                record.task_start_time_usecs = at_usecs
            if dest in tables.ends:
                record.task_end_time_usecs = at_usecs
            if error is not None or record.error is not None:
                record.error = error
            record.status = dest
            record.changed_usecs = at_usecs
            listeners = cls._listeners
            if listeners:  # queue the delivery (as delivery.enqueue, written out)
                change = (trigger, source, dest, at_usecs)
                queue = PENDING.get(key)
                if queue is None:
                    PENDING[key] = INLINE  # the head: delivered inline by this call
                else:
                    queued = Delivery(record, stripe, change, listeners, is_async=False)
                    queue_behind(queue, queued)
        finally:
            lock.release()
        if not listeners:
            return True
        if queue is not None:
            deliver(queued, False)
            return True
        # the head: call the listeners here (delivery's "Cost"; dispatch for the rare cases)
        here = thread_executing.executing
        outer = parent = here.sink
        if parent is None and ASYNC_EXECUTORS.ran:
            parent = executing.get()
        sink: Sink = parent if parent is not None else []
        here.sink = sink
        try:
            for reg in listeners:
                try:
                    result = reg.fn(record, source, dest, trigger, at_usecs)
                except Exception as exc:
                    sink.append(exc)
                    continue
                if result is not None and inspect.isawaitable(result):
                    resume_inline(record, stripe, change, listeners, reg, result, sink)
                    break
            else:
                lock.acquire()
                queue = PENDING.pop(key)
                if queue is INLINE:
                    lock.release()
                else:  # others queued behind meanwhile
                    pass_on_inline(queue, key, lock, sink)
        finally:
            here.sink = outer
        if sink and sink is not parent:
            raise_after(record, change, sink)
        return True

    async def afire(
        self,
        trigger: str,
        /,
        *,
        at_usecs: int | None = None,
        error: str | None = None,
        **kwargs: Any,
    ) -> bool:
        """``fire`` for asyncio: awaits coroutine listeners before returning; cancelling it
        cancels the wait, never the delivery.

        >>> import asyncio
        >>> from tasklife.tracking import Task
        >>> asyncio.run(Task(clock=lambda: 5).afire("miss"))
        True
        """
        machine = type(self)._machine
        tables = machine.fast
        run: Run | PlainRun
        callback_error: Exception | None = None
        if tables is None:
            run, callback_error = machine.run(self, trigger, at_usecs, error, kwargs, is_async=True)
        else:
            run = fire_plain(self, tables, trigger, at_usecs, error)
        if not run.applied:
            return False
        known = [callback_error] if callback_error is not None else None
        if run.delivery is not None:
            await deliver_async(run.delivery, run.head, known)
        elif known:
            raise_after(self, run.change, known)
        return True

    def observe(
        self, status: str | int, *, at_usecs: int | None = None, error: str | None = None
    ) -> Observation:
        """Move to a status a poller saw, by the shortest legal path (as
        ``validate(mode="polling")`` explains it), every step at ``at_usecs``.

        ``status`` is a v1 or v2 name or a code. An observation older than the record's last
        transition is ignored (``Observation.ignored`` says why); an unknown status raises
        :class:`~tasklife.errors.InvalidRecord`, an unreachable one
        :class:`~tasklife.errors.InvalidTransition`. ``error`` is the failure message of an
        observed failure state.

        >>> from tasklife.tracking import Task
        >>> task = Task(journal=[])
        >>> task.observe("Succeeded", at_usecs=9).path
        ('start', 'succeed')
        >>> task.task_start_time_usecs, task.task_end_time_usecs, len(task.journal)
        (9, 9, 2)
        """
        return observe(self, status, at_usecs, error)

    def wait(
        self,
        *,
        status: str | int | Iterable[str | int] | None = None,
        final: bool = False,
        timeout: float | None = None,
    ) -> str:
        """Block this thread until the record reaches ``status`` (one or several) or, with
        ``final=True``, any final state; returns the status reached. Raises
        :class:`~tasklife.errors.WaitTimeout` after ``timeout`` seconds, and
        :class:`~tasklife.errors.InvalidTransition` once what is awaited cannot be reached.
        Woken by a listener, not by polling; do not call it from a listener of this record."""
        return wait(self, status, final, timeout)

    async def wait_for(
        self,
        *,
        status: str | int | Iterable[str | int] | None = None,
        final: bool = False,
        timeout: float | None = None,
    ) -> str:
        """``wait`` for asyncio: awaits without blocking the loop.

        >>> import asyncio
        >>> from tasklife.tracking import Task
        >>> async def main():
        ...     task = Task()
        ...     waiter = asyncio.ensure_future(task.wait_for(final=True, timeout=5))
        ...     await asyncio.sleep(0)
        ...     task.fire("miss")
        ...     return await waiter
        >>> asyncio.run(main())
        'kMissed'
        """
        return await wait_for(self, status, final, timeout)

    def may(self, trigger: str) -> bool:
        """Whether ``trigger`` is legal from the current status (conditions not evaluated).

        >>> from tasklife.tracking import Task
        >>> Task().may("start"), Task().may("succeed")
        (True, False)
        """
        return type(self).lifecycle.dest(trigger, self.status) is not None

    def allowed_triggers(self) -> tuple[str, ...]:
        """The triggers legal from the current status, in table order.

        >>> from tasklife.tracking import Task
        >>> Task().allowed_triggers()
        ('start', 'hold', 'fail', 'cancel', 'miss')
        """
        return type(self).lifecycle.triggers_from(self.status)

    @property
    def is_final(self) -> bool:
        """Whether the status is a final state of the lifecycle."""
        return type(self).lifecycle.is_final(self.status)
