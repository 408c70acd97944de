"""Tracking: records driven through one shared ``transitions`` machine per lifecycle.

Theory of operation
-------------------
Every lifecycle gets exactly one :class:`LifecycleMachine` (a ``transitions.Machine``),
built from the lifecycle table on first use by :func:`machine_for` and shared by every record
that follows that lifecycle. Records are *not* registered with ``add_model``: the machine
keeps no list of them, injects no methods, never compares them with ``==``, and holds no
reference to one once a trigger returns. A record is any slotted attrs object that mixes in
:class:`Tracked`; its trigger methods (``task.start()``) are ordinary typed methods that call
:meth:`Tracked.fire`, which hands the record to the machine's event for that trigger.

Firing a trigger, under the record's lock:

1. the trigger must be legal from the record's status (``Lifecycle.dest``), else
   :class:`~tasklife.errors.InvalidTransition` and the record is untouched;
2. arguments are checked before anything changes: entering a ``failure`` state needs a
   non-empty ``error``, and ``error`` is refused for every other destination;
3. the transition is applied in one step (:meth:`LifecycleMachine.apply`): the status, the
   start stamp on the first entry into an ``active`` state, the end stamp on entry into a final
   state, ``error``, and the journal entry when the record keeps a journal.

Which path does step 3 take? When nobody has attached callbacks or conditions to the machine
(the usual case) a precomputed fast path applies the table directly. As soon as anything is
attached through transitions' API (``machine.on_enter_kRunning(cb)``, ``add_transition(...,
conditions=...)``, ``machine.before_state_change = ...``), firing goes through transitions'
own ``Event.trigger`` with the record as the model, in transitions' documented callback order;
:class:`StampingTransition` (the machine's ``transition_cls``) applies step 3 at the moment
transitions changes the state. Callback lists mutated by hand need :meth:`LifecycleMachine.refresh`.

Listeners (:meth:`LifecycleMachine.add_listener`) run after the lock is released and receive
``(record, source, dest, trigger, at_usecs)``. Coroutine listeners are awaited by
:meth:`Tracked.afire`; nothing here ever cancels a task it did not create.

Locks are striped: a fixed pool indexed by the record's identity, so a record carries no lock
of its own. Of conflicting triggers racing from the same status exactly one wins; the others
see the new status and get ``InvalidTransition``.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Self, TypeVar

import attrs
from transitions import Machine, State, Transition
from transitions.core import EventData

from tasklife.errors import InvalidRecord, InvalidTransition, TaskLifeError
from tasklife.lifecycle import COPY_TASK, Lifecycle, get_lifecycle

__all__ = [
    "Clock",
    "CopyTaskTriggers",
    "JournalEntry",
    "LifecycleMachine",
    "Listener",
    "Task",
    "Tracked",
    "machine_for",
    "wall_clock_usecs",
]

Clock = Callable[[], int]
"""A callable returning the time in epoch microseconds."""
Listener = Callable[[Any, str, str, str, int], Awaitable[None] | None]
"""Called as ``listener(record, source, dest, trigger, at_usecs)`` after every transition."""


def wall_clock_usecs() -> int:
    """The wall clock in epoch microseconds (the default clock)."""
    return time.time_ns() // 1000


@attrs.frozen
class JournalEntry:
    """One transition in a record's journal.

    >>> JournalEntry("start", "kAccepted", "kRunning", 1_718_000_000_000_000).dest
    'kRunning'
    """

    trigger: str
    source: str
    dest: str
    at_usecs: int


_STRIPES = 256
_locks = tuple(threading.RLock() for _ in range(_STRIPES))


_machines: dict[Lifecycle, LifecycleMachine] = {}
_machines_lock = threading.Lock()


def machine_for(lifecycle: str | Lifecycle = COPY_TASK) -> LifecycleMachine:
    """The one shared machine of ``lifecycle`` (a name, a file or a value).

    >>> machine_for("copy-task") is machine_for()
    True
    """
    lc = get_lifecycle(lifecycle)
    machine = _machines.get(lc)
    if machine is None:
        with _machines_lock:
            machine = _machines.get(lc)
            if machine is None:
                machine = _machines[lc] = LifecycleMachine(lc)
    return machine


class TrackedState(State):
    """transitions' State; adding a callback switches its machine to transitions' full path."""

    def add_callback(self, trigger: str, func: Any) -> None:
        super().add_callback(trigger, func)
        _invalidate_all()


class StampingTransition(Transition):
    """transitions' Transition, but the state change applies the whole record update at once."""

    def _change_state(self, event_data: EventData) -> None:
        machine = event_data.machine
        assert isinstance(machine, LifecycleMachine) and self.dest is not None
        assert event_data.event is not None
        machine.get_state(self.source).exit(event_data)
        machine.apply(
            event_data.model, self.source, self.dest, event_data.event.name, event_data.kwargs
        )
        dest = machine.get_state(self.dest)
        event_data.update(dest)
        dest.enter(event_data)
        if dest.final:
            machine.callbacks(machine.on_final, event_data)

    def add_callback(self, trigger: str, func: Any) -> None:
        super().add_callback(trigger, func)
        _invalidate_all()


def _invalidate_all() -> None:
    for machine in list(_machines.values()):
        machine.refresh()


class LifecycleMachine(Machine):
    """The shared ``transitions.Machine`` of one lifecycle (get it with :func:`machine_for`).

    It has no models; records are passed to it per trigger. ``auto_transitions`` is off and
    final states are transitions ``final`` states.

    >>> from tasklife import COPY_TASK
    >>> m = machine_for(COPY_TASK)
    >>> sorted(m.get_triggers("kRunning"))
    ['cancel', 'fail', 'hold', 'succeed', 'warn']
    """

    transition_cls = StampingTransition
    state_cls = TrackedState

    def __init__(self, lifecycle: Lifecycle, clock: Clock = wall_clock_usecs) -> None:
        self.lifecycle = lifecycle
        self.clock = clock
        self._listeners: tuple[Listener, ...] = ()
        self._plain: bool | None = None
        self._built = False
        super().__init__(
            model=None,
            states=[{"name": s.name, "final": s.is_final} for s in lifecycle.states],
            initial=lifecycle.initial,
            transitions=[
                {"trigger": t.trigger, "source": list(t.source), "dest": t.dest}
                for t in lifecycle.transitions
            ],
            auto_transitions=False,
            send_event=True,
            model_attribute="status",
            name=lifecycle.name,
        )
        self._starts = lifecycle.states_of("active")
        self._table = dict(lifecycle.table)
        self._ends = lifecycle.final_states
        self._fails = lifecycle.states_of("failure")
        self._built = True

    # -- listeners ---------------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> Listener:
        """Call ``listener(record, source, dest, trigger, at_usecs)`` after every transition.

        Returns the listener, so it can be used as a decorator; a coroutine function is
        awaited by ``afire`` and scheduled on the running loop by ``fire``.
        """
        self._listeners = (*self._listeners, listener)
        return listener

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener`` (ValueError when it was not added)."""
        listeners = list(self._listeners)
        listeners.remove(listener)
        self._listeners = tuple(listeners)

    # -- callbacks attached through transitions' API switch off the fast path ---------------

    def refresh(self) -> None:
        """Re-check for callbacks and conditions (call after mutating callback lists by hand)."""
        self._plain = None

    def _is_plain(self) -> bool:
        if self._plain is None:
            lists: list[list[Any]] = [
                self.prepare_event,
                self.before_state_change,
                self.after_state_change,
                self.finalize_event,
                self.on_exception,
                self.on_final,
            ]
            for state in self.states.values():
                lists += [state.on_enter, state.on_exit]
            for event in self.events.values():
                for transitions in event.transitions.values():
                    for t in transitions:
                        lists += [t.prepare, t.conditions, t.before, t.after]
            self._plain = not any(lists)
        return self._plain

    def add_transition(self, *args: Any, **kwargs: Any) -> None:
        if self._built:
            raise TaskLifeError(
                f"the {self.lifecycle.name!r} machine is built from its lifecycle table: change "
                "the table, or attach conditions and callbacks to the transitions it has "
                "(machine.get_transitions(trigger)[i].conditions, then machine.refresh())"
            )
        super().add_transition(*args, **kwargs)

    def add_states(self, *args: Any, **kwargs: Any) -> None:
        if self._built:
            raise TaskLifeError(
                f"the {self.lifecycle.name!r} machine is built from its lifecycle table: "
                "add states to the table"
            )
        super().add_states(*args, **kwargs)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name.startswith("_") and name[1:] in _MACHINE_CALLBACKS:
            object.__setattr__(self, "_plain", None)

    def get_model_state(self, model: Any) -> State:
        # a Status member is an Enum, which transitions would look up by its member name
        return self.states[str(model.status)]

    # -- firing ------------------------------------------------------------------------------

    def transition(
        self,
        record: Any,
        trigger: str,
        at_usecs: int | None = None,
        error: str | None = None,
        kwargs: dict[str, Any] | None = None,
    ) -> tuple[str, str, int] | None:
        """Move ``record`` by ``trigger``; returns (source, dest, at_usecs), or None when a
        transitions condition vetoed it. Listeners are not called: see :meth:`Tracked.fire`."""
        lock = _locks[(id(record) >> 4) % _STRIPES]
        with lock:
            source = record.status
            dest = self.check(source, trigger, error, at_usecs)
            if at_usecs is None:
                clock = record.clock
                at_usecs = clock() if clock is not None else self.clock()
            if self._plain if self._plain is not None else self._is_plain():
                self._update(record, source, dest, trigger, at_usecs, error)  # the fast path
            else:
                kw = dict(kwargs or {}, at_usecs=at_usecs, error=error)
                if not self.events[trigger].trigger(record, **kw):
                    return None
        return source, dest, at_usecs

    def check(
        self, source: str, trigger: str, error: str | None, at_usecs: int | None = None
    ) -> str:
        """Where ``trigger`` leads from ``source``, once the table's rules allow it: the
        trigger is legal there (else InvalidTransition), ``error`` is a non-empty message
        exactly when the destination is a failure state, and ``at_usecs`` (when given) is a
        non-negative integer (else InvalidRecord). Pure: nothing changes."""
        dest = self._table.get((trigger, source))
        if dest is None:
            lc = self.lifecycle
            raise InvalidTransition(trigger, source, lc.triggers_from(source), lc.name)
        if dest in self._fails:
            if not isinstance(error, str) or not error:
                raise InvalidRecord("error", error, f"{trigger!r} needs a non-empty error message")
        elif error is not None:
            raise InvalidRecord("error", error, f"error is only set on failure, not by {trigger!r}")
        if at_usecs is not None and (at_usecs.__class__ is not int or at_usecs < 0):
            raise InvalidRecord("at_usecs", at_usecs, "must be a non-negative integer")
        return dest

    def apply(
        self, record: Any, source: str, dest: str, trigger: str, kwargs: dict[str, Any]
    ) -> None:
        """Apply one transition's whole update to ``record`` (transitions' path)."""
        self._update(record, source, dest, trigger, kwargs["at_usecs"], kwargs["error"])

    def _update(
        self, record: Any, source: str, dest: str, trigger: str, at: int, error: str | None
    ) -> None:
        """Status, stamps, error and journal in one step: the one place a record changes."""
        if dest in self._starts and record.task_start_time_usecs is None:
            record.task_start_time_usecs = at
        if dest in self._ends:
            record.task_end_time_usecs = at
        if record.error is not None or error is not None:
            record.error = error
        record.status = dest
        if record.journal is not None:
            record.journal.append(JournalEntry(trigger, source, dest, at))

    def notify(
        self, record: Any, trigger: str, change: tuple[str, str, int]
    ) -> list[Awaitable[None]]:
        """Call the sync listeners; return the awaitables of the async ones."""
        pending: list[Awaitable[None]] = []
        source, dest, at = change
        for listener in self._listeners:
            result = listener(record, source, dest, trigger, at)
            if result is not None and inspect.isawaitable(result):
                pending.append(result)
        return pending


_MACHINE_CALLBACKS = frozenset(
    (
        "prepare_event",
        "before_state_change",
        "after_state_change",
        "finalize_event",
        "on_exception",
        "on_final",
    )
)

_background: set[asyncio.Task[None]] = set()


async def _gather(pending: list[Awaitable[None]]) -> None:
    for awaitable in pending:
        await awaitable


R = TypeVar("R", bound="Tracked")


class Tracked:
    """Mixin giving a slotted attrs record a lifecycle: ``fire``, ``afire``, ``may``, ...

    A subclass has the fields ``status``, ``error``, ``task_start_time_usecs``,
    ``task_end_time_usecs`` and the keyword-only ``clock`` and ``journal``. The lifecycle is a
    class attribute; :meth:`for_lifecycle` makes a subclass bound to another one.

    >>> task = Task(clock=lambda: 1_000)
    >>> task.fire("start")
    True
    >>> task.status, task.task_start_time_usecs
    ('kRunning', 1000)
    """

    __slots__ = ()
    lifecycle: ClassVar[Lifecycle] = COPY_TASK
    status: Any
    error: str | None
    task_start_time_usecs: int | None
    task_end_time_usecs: int | None
    clock: Clock | None
    journal: list[JournalEntry] | None

    @classmethod
    def for_lifecycle(cls, lifecycle: str | Lifecycle) -> type[Self]:
        """This record class bound to another lifecycle (cached: one subclass per lifecycle).

        >>> CiTask = Task.for_lifecycle("copy-task-6.8")
        >>> CiTask.lifecycle.name, CiTask is Task.for_lifecycle("copy-task-6.8")
        ('copy-task-6.8', True)
        """
        lc = get_lifecycle(lifecycle)
        if lc is cls.lifecycle:
            return cls
        cache: dict[Lifecycle, type[Self]] = cls.__dict__.get("_bound_classes") or {}
        if "_bound_classes" not in cls.__dict__:
            type.__setattr__(cls, "_bound_classes", cache)
        bound = cache.get(lc)
        if bound is None:
            name = f"{cls.__name__}[{lc.name}]"
            namespace = {"__slots__": (), "lifecycle": lc, "__module__": cls.__module__}
            bound = cache[lc] = type(name, (cls,), namespace)
        return bound

    def fire(
        self,
        trigger: str,
        /,
        *,
        at_usecs: int | None = None,
        error: str | None = None,
        **kwargs: Any,
    ) -> bool:
        """Fire ``trigger``; True when the status changed (False: a condition said no).

        ``at_usecs`` overrides the clock; ``error`` is required by, and only accepted by,
        triggers into a ``failure`` state. Extra keywords reach transitions callbacks.
        """
        lifecycle = type(self).lifecycle
        machine = _machines.get(lifecycle) or machine_for(lifecycle)
        change = machine.transition(self, trigger, at_usecs, error, kwargs)
        if change is None:
            return False
        if machine._listeners:
            pending = machine.notify(self, trigger, change)
            if pending:
                _run_detached(pending)
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
        """``fire`` for asyncio: awaits coroutine listeners before returning.

        >>> import asyncio
        >>> asyncio.run(Task(clock=lambda: 5).afire("miss"))
        True
        """
        machine = machine_for(type(self).lifecycle)
        change = machine.transition(self, trigger, at_usecs, error, kwargs)
        if change is None:
            return False
        if machine._listeners:
            for awaitable in machine.notify(self, trigger, change):
                await awaitable
        return True

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
        return type(self).lifecycle.is_final(self.status)


def _run_detached(pending: list[Awaitable[None]]) -> None:
    """Coroutine listeners fired from sync code: on the running loop, else run to completion."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(_gather(pending))
        return
    task = loop.create_task(_gather(pending))
    _background.add(task)
    task.add_done_callback(_background.discard)


class CopyTaskTriggers(Tracked):
    """The copy-task triggers as typed methods (one per row of the copy-task table)."""

    __slots__ = ()

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


@attrs.define(slots=True, eq=False, weakref_slot=False)
class Task(CopyTaskTriggers):
    """A light tracked task with no wire format: any lifecycle, via ``for_lifecycle``.

    Compared by identity: two tasks are two tasks.

    >>> t = Task(clock=iter(range(10, 100, 10)).__next__)
    >>> t.start(); t.fail("disk full")
    True
    True
    >>> t.status, t.task_start_time_usecs, t.task_end_time_usecs, t.error
    ('kFailure', 10, 20, 'disk full')
    """

    status: Any = attrs.field(
        default=attrs.Factory(lambda self: type(self).lifecycle.initial, takes_self=True)
    )
    error: str | None = None
    task_start_time_usecs: int | None = None
    task_end_time_usecs: int | None = None
    clock: Clock | None = attrs.field(default=None, kw_only=True, repr=False)
    journal: list[JournalEntry] | None = attrs.field(default=None, kw_only=True, repr=False)

    def __attrs_post_init__(self) -> None:
        lifecycle = type(self).lifecycle
        if not lifecycle.has_state(self.status):
            raise InvalidRecord("status", self.status, lifecycle.unknown_status_reason(self.status))
        self.status = str(self.status)
