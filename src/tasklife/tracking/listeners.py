"""Who listens: listener sets of a lifecycle, of a record class and of a scope.

A listener is called as ``listener(record, source, dest, trigger, at_usecs)`` after a
transition (:mod:`tasklife.tracking.delivery` says when, in which order and what happens to
its errors). Three places hold listeners, each a thread-safe :class:`ListenerSet`:

* a lifecycle's machine (``machine_for(lifecycle).add_listener``): every record of it;
* a record class (``Job.add_listener``): records of that class and its subclasses;
* a :class:`ListenerScope`: one orchestrator's records, bound to the scope with
  ``scope.bind(cls)`` or ``scope.adopt(record)``. Two scopes never hear each other.

Every record class keeps the concatenation of the sets that apply to it as one tuple,
``cls._listeners`` (lifecycle first, then classes from the most general, then the scope), so a
trigger reads one attribute to know whether anybody listens; adding or removing a listener
recomputes these tuples under one lock. A listener removed while a transition is being
delivered may still hear that transition.

Lifetimes: a machine or class with listeners is kept alive (registries elsewhere hold them
weakly); a scope lives as long as its owner keeps it.

>>> scope = ListenerScope("runner-1")
>>> seen = []
>>> _ = scope.add_listener(lambda record, source, dest, trigger, at: seen.append(dest))
>>> len(scope.listeners.registrations)
1
"""

from __future__ import annotations

import inspect
import sys
import threading
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast

from tasklife.tracking.locks import after_fork_in_child

if TYPE_CHECKING:
    import asyncio

__all__ = [
    "Listener",
    "ListenerScope",
    "ListenerSet",
    "Registration",
    "refresh_listeners",
    "running_loop",
]

Listener = Callable[[Any, str, str, str, int], Awaitable[None] | None]
"""Called as ``listener(record, source, dest, trigger, at_usecs)`` after a transition."""
L = TypeVar("L", bound=Listener)
C = TypeVar("C", bound=type)

_lock = threading.RLock()
_classes: weakref.WeakSet[type] = weakref.WeakSet()
_kept: set[object] = set()
"""Machines and classes that have listeners: kept alive while they do."""


def _reset_after_fork() -> None:
    global _lock
    _lock = threading.RLock()


after_fork_in_child(_reset_after_fork)


class Registration:
    """One added listener: the callable and, for a coroutine listener, the loop it runs on."""

    __slots__ = ("fn", "loop")

    def __init__(self, fn: Listener, loop: asyncio.AbstractEventLoop | None) -> None:
        self.fn = fn
        self.loop = loop

    def __repr__(self) -> str:
        return f"<listener {getattr(self.fn, '__qualname__', self.fn)!r}>"


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread, if any, without importing asyncio (which
    loads ssl: a tenth of a second for every worker process that only tracks tasks); no loop
    can run before asyncio is imported."""
    asyncio = sys.modules.get("asyncio")
    return None if asyncio is None else asyncio.events._get_running_loop()


def _home_loop(fn: Listener, loop: asyncio.AbstractEventLoop | None) -> Any:
    if loop is not None or not inspect.iscoroutinefunction(fn):
        return loop
    return running_loop()  # a coroutine listener added inside a running loop belongs to it


class ListenerSet:
    """Listeners in the order added; add/remove are thread-safe, readers see a tuple."""

    __slots__ = ("__weakref__", "_owner", "registrations")

    def __init__(self, owner: object) -> None:
        self._owner = weakref.ref(owner)
        self.registrations: tuple[Registration, ...] = ()

    def add(self, fn: L, loop: asyncio.AbstractEventLoop | None = None) -> L:
        if not callable(fn):
            raise TypeError(f"a listener must be callable, got {fn!r}")
        with _lock:
            self.registrations = (*self.registrations, Registration(fn, _home_loop(fn, loop)))
            self._changed()
        return fn

    def remove(self, fn: Listener) -> None:
        with _lock:
            regs = list(self.registrations)
            for i, reg in enumerate(regs):
                if reg.fn == fn:
                    del regs[i]
                    break
            else:
                raise ValueError(f"{fn!r} is not a listener here")
            self.registrations = tuple(regs)
            self._changed()

    def _changed(self) -> None:
        owner = self._owner()
        if owner is not None:
            if self.registrations:
                _kept.add(owner)
            elif not getattr(owner, "keep_alive", False):
                _kept.discard(owner)
        refresh_listeners()


def track_class(cls: type) -> None:
    """Let ``cls`` receive its listener tuple now and whenever a listener set changes."""
    with _lock:
        _classes.add(cls)
        type.__setattr__(cls, "_listeners", _effective(cls))


def keep(owner: object, needed: bool) -> None:
    """Keep ``owner`` alive (or stop) for a reason other than listeners (callbacks)."""
    with _lock:
        if needed:
            _kept.add(owner)
        else:
            listeners = getattr(owner, "listeners", None)
            if not (isinstance(listeners, ListenerSet) and listeners.registrations):
                _kept.discard(owner)


def refresh_listeners() -> None:
    """Recompute every live record class's listener tuple (after any listener set changed)."""
    with _lock:
        for cls in list(_classes):
            type.__setattr__(cls, "_listeners", _effective(cls))


def _effective(cls: type) -> tuple[Registration, ...]:
    machine = getattr(cls, "_machine", None)
    regs: list[Registration] = []
    if machine is not None:
        regs += machine.listeners.registrations
    for klass in reversed(cls.__mro__):
        own = klass.__dict__.get("_own_listeners_")
        if own is not None:
            regs += own.registrations
    scope = getattr(cls, "_scope_", None)
    if scope is not None:
        regs += scope.listeners.registrations
    return tuple(regs)


_SCOPE_MARK: Final = "_scope_"


class ListenerScope:
    """One orchestrator's records and their listeners; other scopes never hear them.

    ``bind(cls)`` gives the subclass of ``cls`` whose records belong to the scope (one per
    class); ``adopt(record)`` moves an existing record into it. A record that travels to
    another process (pickle) leaves its scope: it arrives as a record of the unscoped class.
    """

    def __init__(self, name: str = "scope") -> None:
        self.name = name
        self.listeners = ListenerSet(self)
        self._bound: dict[type, type] = {}

    def __repr__(self) -> str:
        return f"<ListenerScope {self.name!r}: {len(self.listeners.registrations)} listeners>"

    def add_listener(self, fn: L, *, loop: asyncio.AbstractEventLoop | None = None) -> L:
        """Call ``fn`` after every transition of the scope's records (usable as a decorator)."""
        return self.listeners.add(fn, loop)

    def remove_listener(self, fn: Listener) -> None:
        """Stop calling ``fn`` (ValueError when it was not added)."""
        self.listeners.remove(fn)

    def bind(self, cls: C) -> C:
        """The subclass of the record class ``cls`` whose records belong to this scope."""
        if cls.__dict__.get(_SCOPE_MARK) is self:
            return cls
        with _lock:
            bound = self._bound.get(cls)
            if bound is None:
                namespace = {"__slots__": (), "__module__": cls.__module__, _SCOPE_MARK: self}
                name = f"{cls.__name__}{{{self.name}}}"
                bound = self._bound[cls] = type(cls)(name, (cls,), namespace)
                type.__setattr__(bound, "_unscoped_", cls)
        return cast(C, bound)

    def adopt(self, record: Any) -> Any:
        """Move ``record`` into this scope (its class becomes ``bind(type(record))``)."""
        cls = type(record)
        cls = getattr(cls, "_unscoped_", cls) if cls.__dict__.get(_SCOPE_MARK) else cls
        record.__class__ = self.bind(cls)
        return record
