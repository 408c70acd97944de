"""Tracked records: ``fire``, ``afire``, ``observe``, waiting, and trigger methods per lifecycle.

A record is any slotted attrs object that mixes in :class:`Tracked` and has the fields
``status``, ``error``, ``task_start_time_usecs``, ``task_end_time_usecs`` and the keyword-only
``clock``, ``journal`` and ``changed_usecs``. Its lifecycle is a class attribute;
:meth:`Tracked.for_lifecycle` gives the subclass bound to another one (one per lifecycle,
found again by value, pickled by base class and lifecycle).

Trigger methods exist exactly for the triggers of the record's lifecycle. Copy-task records
have typed methods (:class:`CopyTaskTriggers`, checked against the copy-task table when this
module is imported); a class bound to another lifecycle gets methods generated from its table
(a ``copy-task-6.8`` record has ``finalize()``, a CI job has no ``miss()``), except for
triggers that are not usable method names (``pass``), which ``fire("pass")`` fires.

The fast path of :meth:`Tracked.fire` is written out in one function: it is the hot loop of
every orchestrator (see ``benchmarks/bench_tracking.py``).
"""

from __future__ import annotations

import copyreg
import inspect
import keyword
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Self, cast

import attrs

from tasklife.errors import InvalidRecord, TaskLifeError
from tasklife.lifecycle import COPY_TASK, Lifecycle, get_lifecycle
from tasklife.tracking.delivery import Delivery, deliver, deliver_async, enqueue, raise_after
from tasklife.tracking.journal import JournalEntry
from tasklife.tracking.listeners import L, Listener, ListenerSet, track_class
from tasklife.tracking.locks import STRIPE_LOCKS, STRIPE_SHIFT, STRIPES
from tasklife.tracking.machine import LifecycleMachine, Run, machine_for
from tasklife.tracking.moves import Tables, apply_move, check_error, check_move, refuse
from tasklife.tracking.observing import Observation, observe
from tasklife.tracking.waiting import wait, wait_for
from tasklife.wire.travel import LOCAL, Portable

__all__ = ["Clock", "CopyTaskTriggers", "Task", "Tracked", "TrackedType"]

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
                    **_trigger_methods(cls, lc),
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
            return _fire_through_machine(record, trigger, at_usecs, error, kwargs)
        stripe = (id(record) >> STRIPE_SHIFT) & _MASK
        with STRIPE_LOCKS[stripe]:
            source = record.status
            dest = tables.table.get((trigger, source))
            if dest is None:
                raise refuse(record, trigger, source, tables.lifecycle)
            if error is not None or dest in tables.fails:
                check_error(tables, trigger, dest, error)
            if at_usecs is None:
                clock = record.clock
                at_usecs = clock() if clock is not None else _time_ns() // 1000
            elif at_usecs.__class__ is not int or at_usecs < 0:
                raise InvalidRecord("at_usecs", at_usecs, "must be a non-negative integer")
            # the move (as tasklife.tracking.moves.apply_move, written out: the hot path)
            if dest in tables.starts and record.task_start_time_usecs is None:
                record.task_start_time_usecs = at_usecs
            if dest in tables.ends:
                record.task_end_time_usecs = at_usecs
            if error is not None or record.error is not None:
                record.error = error
            record.status = dest
            record.changed_usecs = at_usecs
            if record.journal is not None:
                record.journal.append(JournalEntry(trigger, source, dest, at_usecs, error))
            listeners = cls._listeners
            if listeners:
                d = Delivery(
                    self, stripe, (trigger, source, dest, at_usecs), listeners, is_async=False
                )
                head = enqueue(d)
        if listeners:
            deliver(d, head)
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
        >>> asyncio.run(Task(clock=lambda: 5).afire("miss"))
        True
        """
        machine = type(self)._machine
        tables = machine.fast
        run: Run | _PlainRun
        callback_error: Exception | None = None
        if tables is None:
            run, callback_error = machine.run(self, trigger, at_usecs, error, kwargs, is_async=True)
        else:
            run = _fire_plain(self, tables, trigger, at_usecs, error)
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

        >>> Task().may("start"), Task().may("succeed")
        (True, False)
        """
        return type(self).lifecycle.dest(trigger, self.status) is not None

    def allowed_triggers(self) -> tuple[str, ...]:
        """The triggers legal from the current status, in table order.

        >>> Task().allowed_triggers()
        ('start', 'hold', 'fail', 'cancel', 'miss')
        """
        return type(self).lifecycle.triggers_from(self.status)

    @property
    def is_final(self) -> bool:
        """Whether the status is a final state of the lifecycle."""
        return type(self).lifecycle.is_terminal(self.status)


class _PlainRun:
    """What ``afire`` needs of a fast-path move: as :class:`~tasklife.tracking.machine.Run`."""

    __slots__ = ("applied", "change", "delivery", "head")

    def __init__(self, change: tuple[str, str, str, int], d: Delivery | None, head: bool):
        self.applied = True
        self.change = change
        self.delivery = d
        self.head = head


def _fire_plain(
    record: Tracked, tables: Tables, trigger: str, at_usecs: int | None, error: str | None
) -> _PlainRun:
    """The fast path for ``afire`` (the same move as ``fire``'s; its delivery is awaited)."""
    cls = type(record)
    stripe = (id(record) >> STRIPE_SHIFT) & _MASK
    with STRIPE_LOCKS[stripe]:
        source, dest, at = check_move(record, tables, trigger, at_usecs, error)
        apply_move(record, tables, source, dest, trigger, at, error)
        change = (trigger, source, dest, at)
        listeners = cls._listeners
        d = Delivery(record, stripe, change, listeners, is_async=True) if listeners else None
        head = enqueue(d) if d is not None else False
    return _PlainRun(change, d, head)


def _fire_through_machine(
    record: Tracked, trigger: str, at_usecs: int | None, error: str | None, kwargs: dict[str, Any]
) -> bool:
    run, callback_error = type(record)._machine.run(record, trigger, at_usecs, error, kwargs)
    if not run.applied:
        return False
    known = [callback_error] if callback_error is not None else None
    if run.delivery is not None:
        deliver(run.delivery, run.head, known)
    elif known:
        raise_after(record, run.change, known)
    return True


# -- trigger methods ---------------------------------------------------------------------------


class _NoTrigger:
    """Hides an inherited trigger method that is not a trigger of the class's lifecycle."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, record: Any, owner: type[Tracked]) -> Any:
        raise AttributeError(
            f"{owner.__name__} has no method {self.name!r}: {self.name!r} is not a trigger of "
            f"lifecycle {owner.lifecycle.name!r}"
        )


def _trigger_method(lc: Lifecycle, trigger: str) -> Callable[..., bool]:
    moves = [(s, d) for (t, s), d in lc.table.items() if t == trigger]
    takes_error = any(lc.state(d).terminal == "failure" for _, d in moves)
    if takes_error:

        def method(self: Tracked, error: str | None = None, *, at_usecs: int | None = None) -> bool:
            return self.fire(trigger, at_usecs=at_usecs, error=error)

    else:

        def method(self: Tracked, *, at_usecs: int | None = None) -> bool:  # type: ignore[misc]
            return self.fire(trigger, at_usecs=at_usecs)

    method.__name__ = method.__qualname__ = trigger
    method.__doc__ = "; ".join(f"{s} -> {d}" for s, d in moves) + f" (lifecycle {lc.name!r})"
    return method


def _trigger_methods(cls: type[Tracked], lc: Lifecycle) -> dict[str, Any]:
    """The namespace of ``cls`` bound to ``lc``: a method per trigger, inherited ones hidden."""
    inherited: frozenset[str] = getattr(cls, "_trigger_methods_", frozenset())
    namespace: dict[str, Any] = {name: _NoTrigger(name) for name in inherited}
    made = []
    for trigger in lc.triggers:
        usable = trigger.isidentifier() and not keyword.iskeyword(trigger)
        if (
            not usable
            or trigger.startswith("_")
            or (trigger not in inherited and hasattr(cls, trigger))
        ):
            continue  # fired by name only: fire(trigger)
        namespace[trigger] = _trigger_method(lc, trigger)
        made.append(trigger)
    namespace["_trigger_methods_"] = frozenset(made)
    return namespace


class CopyTaskTriggers(Tracked):
    """The copy-task triggers as typed methods (checked against the copy-task table)."""

    __slots__ = ()
    _trigger_methods_: ClassVar[frozenset[str]] = frozenset(COPY_TASK.triggers)

    def start(self, *, at_usecs: int | None = None) -> bool:
        """kAccepted -> kRunning; stamps the start time."""
        return self.fire("start", at_usecs=at_usecs)

    def hold(self, *, at_usecs: int | None = None) -> bool:
        """kAccepted, kRunning -> kOnHold."""
        return self.fire("hold", at_usecs=at_usecs)

    def resume(self, *, at_usecs: int | None = None) -> bool:
        """kOnHold -> kRunning; the original start time is kept."""
        return self.fire("resume", at_usecs=at_usecs)

    def succeed(self, *, at_usecs: int | None = None) -> bool:
        """kRunning -> kSuccess; stamps the end time."""
        return self.fire("succeed", at_usecs=at_usecs)

    def warn(self, *, at_usecs: int | None = None) -> bool:
        """kRunning -> kWarning; stamps the end time."""
        return self.fire("warn", at_usecs=at_usecs)

    def fail(self, error: str, *, at_usecs: int | None = None) -> bool:
        """kAccepted, kRunning, kOnHold -> kFailure with a non-empty ``error``."""
        return self.fire("fail", at_usecs=at_usecs, error=error)

    def cancel(self, *, at_usecs: int | None = None) -> bool:
        """kAccepted, kRunning, kOnHold -> kCanceling."""
        return self.fire("cancel", at_usecs=at_usecs)

    def confirm_cancel(self, *, at_usecs: int | None = None) -> bool:
        """kCanceling -> kCanceled; stamps the end time."""
        return self.fire("confirm_cancel", at_usecs=at_usecs)

    def miss(self, *, at_usecs: int | None = None) -> bool:
        """kAccepted -> kMissed; stamps the end time."""
        return self.fire("miss", at_usecs=at_usecs)


def check_typed_triggers(cls: type[Tracked], lc: Lifecycle) -> None:
    """Refuse typed trigger methods that are not exactly the triggers of ``lc``: one each,
    taking ``error`` exactly when the trigger leads to a failure state."""
    methods = {n for n, v in vars(cls).items() if inspect.isfunction(v) and not n.startswith("_")}
    problems = []
    if methods != set(lc.triggers):
        problems.append(f"methods {sorted(methods)} are not the triggers {sorted(lc.triggers)}")
    for name in methods & set(lc.triggers):
        takes_error = "error" in inspect.signature(getattr(cls, name)).parameters
        needs_error = any(
            lc.state(d).terminal == "failure" for (t, _), d in lc.table.items() if t == name
        )
        if takes_error != needs_error:
            problems.append(f"{name}() {'takes' if takes_error else 'lacks'} an error argument")
    if problems:
        raise TaskLifeError(f"{cls.__name__} disagrees with {lc.name!r}: {'; '.join(problems)}")


check_typed_triggers(CopyTaskTriggers, COPY_TASK)


def _initial_status(record: Tracked) -> str:
    return type(record).lifecycle.initial


@attrs.define(slots=True, eq=False, weakref_slot=True)
class Task(CopyTaskTriggers, Portable):
    """A light tracked task with no wire format: any lifecycle, via ``for_lifecycle``.

    Compared by identity: two tasks are two tasks.

    >>> t = Task(clock=iter(range(10, 100, 10)).__next__)
    >>> t.start(); t.fail("disk full")
    True
    True
    >>> t.status, t.task_start_time_usecs, t.task_end_time_usecs, t.error
    ('kFailure', 10, 20, 'disk full')
    """

    status: Any = attrs.field(default=attrs.Factory(_initial_status, takes_self=True))
    error: str | None = None
    task_start_time_usecs: int | None = None
    task_end_time_usecs: int | None = None
    clock: Clock | None = attrs.field(
        default=None, kw_only=True, repr=False, metadata={LOCAL: True}
    )
    journal: list[JournalEntry] | None = attrs.field(default=None, kw_only=True, repr=False)
    changed_usecs: int | None = attrs.field(default=None, kw_only=True, repr=False)
    """When the record last moved (epoch microseconds; None before its first transition)."""

    def __attrs_post_init__(self) -> None:
        lifecycle = type(self).lifecycle
        if not lifecycle.has_state(self.status):
            raise InvalidRecord("status", self.status, lifecycle.unknown_status_reason(self.status))
        self.status = str(self.status)
