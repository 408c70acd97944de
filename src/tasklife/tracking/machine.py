"""The transitions adaptation: one shared ``transitions.Machine`` per lifecycle.

Everything that knows ``transitions``' internals lives in this module (and
``tests/tracking/test_transitions_hooks.py`` fails loudly if they change): the one private
hook, ``Transition._change_state(event_data)``, which :class:`StampingTransition` overrides to
apply tasklife's whole move at the moment transitions changes the state, and the private
attributes behind the machine's callback properties (``_before_state_change``, ...).

Theory of operation
-------------------
:func:`machine_for` keeps one :class:`LifecycleMachine` per lifecycle (lifecycles are values:
equal definitions share it). It has no models: records are handed to it per trigger, so it
keeps no list of them, injects no methods, never compares them and holds none once a trigger
returns. The registry holds machines weakly; a machine stays alive while a record class uses
it or while it has listeners or callbacks.

Two paths apply a trigger. When nothing is attached through transitions' API (no callbacks, no
conditions: the usual case) the machine is *plain* and records apply moves themselves from
``machine.fast``, the compiled :class:`~tasklife.tracking.moves.Tables`. Once anything is
attached (``machine.on_enter_kRunning(cb)``, ``machine.before_state_change = cb``, a condition
appended to ``machine.get_transitions("start")[0].conditions``) ``fast`` is None and every
trigger goes through :meth:`LifecycleMachine.run`: transitions' ``Event.trigger`` with the
record as the model, in transitions' documented callback order. Every callback list is watched,
so a list mutated by hand switches paths at once: nothing to refresh.

On that path the record is *claimed* (other threads' triggers on it wait; the same thread may
re-enter) and no stripe lock is held while callbacks run, so callbacks may fire other records
without lock-order deadlocks. The move itself is applied under the stripe lock when
transitions changes the state, and only if the status is still the source (another trigger of
the same thread, from a callback, may have moved it: then this one is refused). Callbacks that
raise after the state changed (``on_enter``, ``after``, ``after_state_change``, ``on_final``)
neither undo nor hide the move: listeners still hear it and the caller gets an
:class:`~tasklife.errors.AfterTransitionError`. With ``on_exception`` set, transitions hands it
the error instead, and ``fire`` reports whether the status changed.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterable
from typing import Any, Final, SupportsIndex

from transitions import Machine, State, Transition
from transitions.core import EventData

from tasklife.errors import TaskLifeError
from tasklife.lifecycle import COPY_TASK, Lifecycle, get_lifecycle
from tasklife.tracking.delivery import Delivery, enqueue
from tasklife.tracking.listeners import L, Listener, ListenerSet, keep
from tasklife.tracking.locks import STRIPE_LOCKS, after_fork_in_child, claim, release
from tasklife.tracking.moves import Tables, apply_move, check_move, refuse

__all__ = ["LifecycleMachine", "Run", "StampingTransition", "TrackedState", "machine_for"]

_MACHINE_LISTS: Final = (
    "prepare_event",
    "before_state_change",
    "after_state_change",
    "finalize_event",
    "on_exception",
    "on_final",
)
"""The machine's callback properties; transitions keeps each in a private ``_<name>`` list."""
_STATE_LISTS: Final = ("on_enter", "on_exit")
_TRANSITION_LISTS: Final = ("prepare", "conditions", "before", "after")


class _WatchedList(list[Any]):
    """A callback list that tells its machine when it changes (so no refresh is needed)."""

    def __init__(self, items: Iterable[Any], machine: LifecycleMachine) -> None:
        super().__init__(items)
        self.machine = machine

    def _changed(self) -> None:
        self.machine.callbacks_changed()

    def append(self, item: Any) -> None:
        super().append(item)
        self._changed()

    def extend(self, items: Iterable[Any]) -> None:
        super().extend(items)
        self._changed()

    def insert(self, index: SupportsIndex, item: Any) -> None:
        super().insert(index, item)
        self._changed()

    def remove(self, item: Any) -> None:
        super().remove(item)
        self._changed()

    def pop(self, index: SupportsIndex = -1) -> Any:
        item = super().pop(index)
        self._changed()
        return item

    def clear(self) -> None:
        super().clear()
        self._changed()

    def __setitem__(self, index: Any, value: Any) -> None:
        super().__setitem__(index, value)
        self._changed()

    def __delitem__(self, index: Any) -> None:
        super().__delitem__(index)
        self._changed()

    def __iadd__(self, items: Iterable[Any]) -> _WatchedList:  # type: ignore[misc]
        super().__iadd__(items)
        self._changed()
        return self


def _watch(obj: Any, names: Iterable[str], machine: LifecycleMachine) -> None:
    object.__setattr__(obj, "_tasklife_machine", machine)
    for name in names:
        object.__setattr__(obj, name, _WatchedList(getattr(obj, name), machine))


def _set_watched(obj: Any, name: str, value: Any, names: tuple[str, ...]) -> None:
    machine = obj.__dict__.get("_tasklife_machine")
    if machine is not None and name in names:
        object.__setattr__(obj, name, _WatchedList(value, machine))
        machine.callbacks_changed()
    else:
        object.__setattr__(obj, name, value)


class TrackedState(State):
    """transitions' State whose callback lists are watched by its machine."""

    def __setattr__(self, name: str, value: Any) -> None:
        _set_watched(self, name, value, _STATE_LISTS)


class StampingTransition(Transition):
    """transitions' Transition; changing the state applies tasklife's whole move at once."""

    def __setattr__(self, name: str, value: Any) -> None:
        _set_watched(self, name, value, _TRANSITION_LISTS)

    def _change_state(self, event_data: EventData) -> None:  # transitions' private hook
        machine = event_data.machine
        run = _running.run
        if not isinstance(machine, LifecycleMachine) or run is None or self.dest is None:
            raise TaskLifeError("tasklife records are moved by record.fire(), not Event.trigger")
        machine.get_state(self.source).exit(event_data)
        run.apply(event_data.model, self.source, self.dest)
        dest = machine.get_state(self.dest)
        event_data.update(dest)
        dest.enter(event_data)
        if dest.final:
            machine.callbacks(machine.on_final, event_data)


class Run:
    """One trigger on transitions' path: what to apply, and what happened."""

    __slots__ = (
        "applied",
        "at_usecs",
        "change",
        "delivery",
        "error",
        "head",
        "is_async",
        "stripe",
        "tables",
        "trigger",
    )

    def __init__(
        self,
        tables: Tables,
        stripe: int,
        trigger: str,
        at_usecs: int,
        error: str | None,
        is_async: bool,
    ) -> None:
        self.tables = tables
        self.stripe = stripe
        self.trigger = trigger
        self.at_usecs = at_usecs
        self.error = error
        self.is_async = is_async
        self.applied = False
        self.change = (trigger, "", "", at_usecs)
        self.delivery: Delivery | None = None
        self.head = False

    def apply(self, record: Any, source: str, dest: str) -> None:
        """The move, under the stripe lock, if the record is still where the trigger began."""
        i = self.stripe
        lock = STRIPE_LOCKS[i]
        lock.acquire()
        try:
            if record.status != source:  # moved meanwhile by a trigger of a callback
                raise refuse(record, self.trigger, record.status, self.tables.lifecycle)
            apply_move(record, self.tables, source, dest, self.trigger, self.at_usecs, self.error)
            self.applied = True
            self.change = (self.trigger, source, dest, self.at_usecs)
            listeners = type(record)._listeners
            if listeners:
                self.delivery = Delivery(record, i, self.change, listeners, is_async=self.is_async)
                self.head = enqueue(self.delivery)
        finally:
            lock.release()


class _Running(threading.local):
    run: Run | None = None
    """The run transitions is executing in this thread: callbacks run synchronously, inside
    ``Event.trigger``, so a thread-local (cheaper than a context variable) is exact."""


_running = _Running()


class LifecycleMachine(Machine):
    """The shared ``transitions.Machine`` of one lifecycle (get it with :func:`machine_for`).

    It has no models; records are passed to it per trigger. ``auto_transitions`` is off and
    final states are transitions ``final`` states.

    >>> m = machine_for(COPY_TASK)
    >>> sorted(m.get_triggers("kRunning"))
    ['cancel', 'fail', 'hold', 'succeed', 'warn']
    """

    transition_cls = StampingTransition
    state_cls = TrackedState

    def __init__(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle
        self.listeners = ListenerSet(self)
        self.fast: Tables | None = None
        self.keep_alive = False
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
        self.tables = Tables(lifecycle)
        for state in self.states.values():
            _watch(state, _STATE_LISTS, self)
        for transition in self._transitions():
            _watch(transition, _TRANSITION_LISTS, self)
        self._built = True
        self.callbacks_changed()

    def __repr__(self) -> str:
        return f"<LifecycleMachine {self.lifecycle.name!r}>"

    # -- listeners ---------------------------------------------------------------------------

    def add_listener(self, listener: L, *, loop: Any = None) -> L:
        """Call ``listener(record, source, dest, trigger, at_usecs)`` after every transition of
        every record of this lifecycle (see :mod:`tasklife.tracking.delivery` for when, in
        which order, and what its errors do). Returns it: usable as a decorator. A coroutine
        listener runs on ``loop``, by default the loop running when it is added."""
        return self.listeners.add(listener, loop)

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener`` (ValueError when it was not added)."""
        self.listeners.remove(listener)

    # -- callbacks attached through transitions' API switch off the fast path ---------------

    def _transitions(self) -> list[Transition]:
        return [t for e in self.events.values() for ts in e.transitions.values() for t in ts]

    def callbacks_changed(self) -> None:
        """Re-check whether anything is attached (called by every watched list)."""
        if not self._built:
            return
        lists: list[list[Any]] = [getattr(self, name) for name in _MACHINE_LISTS]
        for state in self.states.values():
            lists += [getattr(state, name) for name in _STATE_LISTS]
        for transition in self._transitions():
            lists += [getattr(transition, name) for name in _TRANSITION_LISTS]
        plain = not any(lists)
        self.fast = self.tables if plain else None
        self.keep_alive = not plain
        keep(self, not plain)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_") and name[1:] in _MACHINE_LISTS:  # behind the properties
            value = _WatchedList(value, self)
            object.__setattr__(self, name, value)
            self.callbacks_changed()
            return
        object.__setattr__(self, name, value)

    def add_transition(self, *args: Any, **kwargs: Any) -> None:
        if self._built:
            raise TaskLifeError(
                f"the {self.lifecycle.name!r} machine is built from its lifecycle table: change "
                "the table, or attach conditions and callbacks to the transitions it has "
                "(machine.get_transitions(trigger)[i].conditions)"
            )
        super().add_transition(*args, **kwargs)

    def add_states(self, *args: Any, **kwargs: Any) -> None:
        if self._built:
            raise TaskLifeError(
                f"the {self.lifecycle.name!r} machine is built from its lifecycle table: "
                "add states to the table"
            )
        super().add_states(*args, **kwargs)

    def get_model_state(self, model: Any) -> State:
        # a Status member is an Enum, which transitions would look up by its member name
        return self.states[str(model.status)]

    # -- transitions' path -------------------------------------------------------------------

    def run(
        self,
        record: Any,
        trigger: str,
        at_usecs: int | None,
        error: str | None,
        kwargs: dict[str, Any],
        *,
        is_async: bool = False,
    ) -> tuple[Run, Exception | None]:
        """Fire ``trigger`` through transitions' ``Event.trigger``, the record claimed.

        Returns the run (was it applied, its delivery) and the exception a callback raised
        after the state changed. Refusals and exceptions before the change are raised."""
        key, i = claim(record)
        try:
            lock = STRIPE_LOCKS[i]
            lock.acquire()
            try:
                _, _, at = check_move(record, self.tables, trigger, at_usecs, error)
            finally:
                lock.release()
            run = Run(self.tables, i, trigger, at, error, is_async)
            outer, _running.run = _running.run, run
            try:
                self.events[trigger].trigger(record, **kwargs, at_usecs=at, error=error)
            except Exception as exc:
                if not run.applied:
                    raise
                return run, exc
            finally:
                _running.run = outer
        finally:
            release(key, i)
        return run, None


_machines: weakref.WeakValueDictionary[Lifecycle, LifecycleMachine] = weakref.WeakValueDictionary()
_machines_lock = threading.Lock()


def _new_machines_lock() -> None:
    global _machines_lock
    _machines_lock = threading.Lock()


after_fork_in_child(_new_machines_lock)


def machine_for(lifecycle: str | os.PathLike[str] | Lifecycle = COPY_TASK) -> LifecycleMachine:
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
