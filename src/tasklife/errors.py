"""Every exception tasklife raises, under one base class: each names what was wrong and where.

Each class also subclasses the fitting builtin, so code that knows nothing of tasklife still
catches it as a ``ValueError``, ``LookupError``, ``ImportError`` or ``RuntimeError``.

>>> from tasklife.errors import InvalidRecord, TaskLifeError, UnreadableLifecycle
>>> issubclass(InvalidRecord, ValueError), issubclass(UnreadableLifecycle, TaskLifeError)
(True, True)
"""

from __future__ import annotations

import reprlib
from collections.abc import Sequence
from typing import Any, Final

from transitions import MachineError

__all__ = [
    "AfterTransitionError",
    "CorruptTask",
    "DiagramError",
    "GraphvizNotFound",
    "InvalidLifecycle",
    "InvalidRecord",
    "InvalidRunTask",
    "InvalidStoreURL",
    "InvalidTransition",
    "LeaseLost",
    "MissingExtra",
    "NoEventLoop",
    "RetryRefused",
    "StoreError",
    "StoreReadOnly",
    "StoreSchemaError",
    "StoreUnavailable",
    "TaskExists",
    "TaskLifeError",
    "TaskNotFound",
    "UnknownLifecycle",
    "UnreadableLifecycle",
    "UnusableInput",
    "WaitTimeout",
    "shown",
]

SHOWN_CHARS: Final = 60
"""The most characters of a value a message shows: enough to recognise it, never a whole file
pasted into a terminal or a log line."""
_SHOWN_ITEMS: Final = 4
"""Items of a list or object shown before ``...``."""
_SHOWN_LEVELS: Final = 3
"""Nesting shown before ``...``: a value nested 20,000 deep is shown, not a RecursionError."""


def _shower() -> reprlib.Repr:
    r = reprlib.Repr()
    r.maxstring = r.maxother = r.maxlong = SHOWN_CHARS
    r.maxlist = r.maxtuple = r.maxdict = r.maxset = r.maxfrozenset = r.maxdeque = _SHOWN_ITEMS
    r.maxarray = _SHOWN_ITEMS
    r.maxlevel = _SHOWN_LEVELS
    return r


_SHOWER: Final = _shower()


def shown(value: Any) -> str:
    """How an error message shows an offending value: its ``repr`` (so control characters are
    escaped and markup is inert text), shortened to about :data:`SHOWN_CHARS` characters and
    three levels of nesting.

    >>> print(shown("kBogus"), shown("\\x1b[31m" + "x" * 100))
    'kBogus' '\\x1b[31mxxxxxxxxxxxxxxxxxxx...xxxxxxxxxxxxxxxxxxxxxxxxxxxx'
    >>> shown({"a": [[[[[1]]]]]})
    "{'a': [[[...]]]}"
    """
    try:
        return _SHOWER.repr(value)
    except Exception:  # a __repr__ that raises: name the type instead
        return f"<{type(value).__name__} object>"


class TaskLifeError(Exception):
    """Base class of every error tasklife raises on purpose."""


class InvalidRecord(TaskLifeError, ValueError):
    """A wire document or field value that tasklife cannot accept.

    ``path`` is the dotted wire path of the field (``stats.startTimeUsecs``; empty for the
    document itself) and ``value`` the offending value.
    """

    def __init__(self, path: str, value: Any, reason: str) -> None:
        self.path = path
        self.value = value
        self.reason = reason
        where = path or "document"
        super().__init__(f"{where}: {reason} (got {shown(value)})")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, self.value, self.reason))


class InvalidTransition(TaskLifeError, MachineError):
    """A trigger that is not legal from the record's current status, or (``target`` set, from
    ``observe``/``wait``) a status that no path of triggers reaches from it.

    The record is left exactly as it was; ``record`` is the record refused (never printed).
    ``reason`` (when set) says why no trigger applies, instead of listing the allowed ones: a
    trigger that is not a name, or a status that is not a state of the lifecycle.

    >>> exc = InvalidTransition("start", "kSuccess", (), "copy-task", record=object())
    >>> print(exc)
    cannot 'start' from status 'kSuccess' in lifecycle 'copy-task'; allowed triggers: none ...
    >>> exc.record is not None
    True
    """

    def __init__(
        self,
        trigger: str | None,
        state: str | None,
        allowed: Sequence[str],
        lifecycle: str,
        *,
        record: Any = None,
        target: str | None = None,
        reason: str | None = None,
    ) -> None:
        self.trigger = trigger
        self.state = state
        self.allowed = tuple(allowed)
        self.lifecycle = lifecycle
        self.record = record
        self.target = target
        self.reason = reason
        allowed_text = ", ".join(self.allowed) if self.allowed else "none (final state)"
        if reason is not None:
            what = shown(trigger) if target is None else f"reach status {shown(target)}"
            msg = f"cannot {what} in lifecycle {lifecycle!r}: {reason}"
        elif target is not None:
            msg = (
                f"cannot reach status {shown(target)} from status {state!r} in lifecycle "
                f"{lifecycle!r}: no path of triggers leads there"
            )
        else:
            msg = (
                f"cannot {shown(trigger)} from status {state!r} in lifecycle {lifecycle!r}; "
                f"allowed triggers: {allowed_text}"
            )
        MachineError.__init__(self, msg)
        self.args = (msg,)

    def __str__(self) -> str:
        return str(self.value)

    def __reduce__(self) -> tuple[Any, ...]:
        state = (self.trigger, self.state, self.allowed, self.lifecycle)
        where = {"record": self.record, "target": self.target, "reason": self.reason}
        return (_rebuild_invalid_transition, (type(self), state, where))


def _rebuild_invalid_transition(
    cls: type[InvalidTransition], state: tuple[Any, ...], where: dict[str, Any]
) -> InvalidTransition:
    return cls(*state, **where)


class InvalidLifecycle(TaskLifeError, ValueError):
    """A lifecycle definition with problems; ``problems`` lists one message per problem."""

    def __init__(self, name: str, problems: Sequence[str]) -> None:
        self.name = name
        self.problems = tuple(problems)
        super().__init__(f"lifecycle {name!r} is not sound:\n  " + "\n  ".join(self.problems))


class UnknownLifecycle(TaskLifeError, LookupError):
    """A lifecycle given by something that is neither a built-in name nor a lifecycle file;
    ``reason`` says so without repeating ``spec``."""

    def __init__(self, spec: str, known: Sequence[str]) -> None:
        self.spec = spec
        self.reason = (
            f"not a built-in lifecycle ({', '.join(known)}) nor a readable .toml/.json file"
        )
        super().__init__(f"unknown lifecycle {spec!r}: {self.reason}")

    def __str__(self) -> str:
        return str(self.args[0])


class UnreadableLifecycle(TaskLifeError, ValueError):
    """A lifecycle file that cannot be read as one: missing or unreadable, not UTF-8, not
    TOML/JSON, or not a table at the top. (A file that reads but describes an unsound
    lifecycle is :class:`InvalidLifecycle`.)
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class InvalidRunTask(InvalidRecord):
    """A task of a copy run that cannot be rolled up; ``index`` is its position in the run's
    ``copySnapshotTasks`` (None: the run itself)."""

    def __init__(self, index: int | None, path: str, value: Any, reason: str) -> None:
        self.index = index
        where = "copySnapshotTasks" if index is None else f"copySnapshotTasks[{index}]"
        super().__init__(f"{where}.{path}" if path else where, value, reason)


class UnusableInput(TaskLifeError, ValueError):
    """An event log that cannot be read at all: a missing file, an unknown format, a bad CSV
    header, a corrupt gzip stream, an unreachable Dask scheduler."""


class MissingExtra(TaskLifeError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


class DiagramError(TaskLifeError, ValueError):
    """A diagram request that cannot be met (unknown format or file suffix, failed layout)."""


class GraphvizNotFound(TaskLifeError, RuntimeError):
    """No Graphviz executable to lay out SVG or PNG; the message says how to install one.

    ``engine`` is the engine asked for, ``wanted`` the executables it may use.
    """

    def __init__(self, engine: str, wanted: Sequence[str], searched: str) -> None:
        self.engine = engine
        super().__init__(
            f"no Graphviz layout engine for SVG/PNG: {' or '.join(wanted)} not found on "
            f"{searched or '(empty path)'}. Install one: pip install 'tasklife[graphviz]' "
            "(graphviz-pure, no root needed) or apt-get install graphviz (dot). "
            "Mermaid and DOT text need neither."
        )


class TaskExists(TaskLifeError, ValueError):
    """A task id the store already holds: ``add`` never overwrites a task.

    >>> str(TaskExists("copy-1"))
    "task 'copy-1' already exists in the store"
    """

    def __init__(self, task_id: str) -> None:
        self.task_id = task_id
        super().__init__(f"task {task_id!r} already exists in the store")


class TaskNotFound(TaskLifeError, LookupError):
    """A task id the store does not hold."""

    def __init__(self, task_id: object) -> None:
        self.task_id = task_id
        super().__init__(f"no task {task_id!r} in the store")

    def __str__(self) -> str:
        return str(self.args[0])


class InvalidStoreURL(TaskLifeError, ValueError):
    """A store URL tasklife cannot use; ``url`` is shown without its password."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        super().__init__(f"store URL {url!r}: {reason}")


class StoreError(TaskLifeError, OSError):
    """The store's database failed or cannot be used. Messages name the store by its URL
    without the password."""


class StoreUnavailable(StoreError, ConnectionError):
    """The database server cannot be reached or refuses the connection."""


class StoreReadOnly(StoreError, PermissionError):
    """A write to a store opened read-only (or on a file that cannot be written)."""


class StoreSchemaError(StoreError, ValueError):
    """A database that is not a tasklife store, or one of a schema version this tasklife
    does not know (written by a newer tasklife)."""


class CorruptTask(StoreError, ValueError):
    """A stored task that no longer reads back (a row changed by hand); names the task."""

    def __init__(self, task_id: str, reason: str) -> None:
        self.task_id = task_id
        self.reason = reason
        super().__init__(f"stored task {task_id!r} is corrupt: {reason}")


class AfterTransitionError(TaskLifeError, ExceptionGroup):
    """A transition happened, but listeners or transitions callbacks that run after the state
    change raised. The transition stands and every other listener ran.

    ``exceptions`` holds what each failing listener or callback raised, in call order;
    ``record``, ``trigger``, ``source``, ``dest`` and ``at_usecs`` say which transition it was.
    ``except* SomeError`` picks out one kind.

    >>> err = AfterTransitionError("1 listener failed", [ValueError("x")], trigger="start")
    >>> err.trigger, [type(e).__name__ for e in err.exceptions]
    ('start', ['ValueError'])
    """

    record: Any
    trigger: str | None
    source: str | None
    dest: str | None
    at_usecs: int | None

    def __new__(
        cls,
        message: str,
        exceptions: Sequence[Exception],
        *,
        record: Any = None,
        trigger: str | None = None,
        source: str | None = None,
        dest: str | None = None,
        at_usecs: int | None = None,
    ) -> AfterTransitionError:
        self = super().__new__(cls, message, exceptions)
        self.record = record
        self.trigger = trigger
        self.source = source
        self.dest = dest
        self.at_usecs = at_usecs
        return self

    def __init__(self, message: str, exceptions: Sequence[Exception], **_: Any) -> None:
        super().__init__(message, exceptions)

    def derive(self, excs: Sequence[Exception]) -> AfterTransitionError:  # type: ignore[override]
        return AfterTransitionError(
            self.message,
            excs,
            record=self.record,
            trigger=self.trigger,
            source=self.source,
            dest=self.dest,
            at_usecs=self.at_usecs,
        )

    def __reduce__(self) -> tuple[Any, ...]:
        where = {k: getattr(self, k) for k in ("record", "trigger", "source", "dest", "at_usecs")}
        return (_rebuild_after_transition, (self.message, list(self.exceptions), where))


def _rebuild_after_transition(
    message: str, exceptions: list[Exception], where: dict[str, Any]
) -> AfterTransitionError:
    return AfterTransitionError(message, exceptions, **where)


class NoEventLoop(TaskLifeError, RuntimeError):
    """A coroutine listener has no event loop to run on: it was fired from a thread with no
    running loop and was added without ``loop=``. It is not called (the transition stands)."""

    def __init__(self, listener: Any) -> None:
        self.listener = listener
        name = getattr(listener, "__qualname__", repr(listener))
        super().__init__(
            f"coroutine listener {name} has no event loop: fired from a thread with no running "
            "loop; add it with add_listener(fn, loop=loop), or fire with afire() in a loop"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (getattr(self.listener, "__qualname__", repr(self.listener)),))


class WaitTimeout(TaskLifeError, TimeoutError):
    """``wait``/``wait_for`` gave up: the record did not reach what was awaited in time."""

    def __init__(self, awaited: str, status: str, timeout: float | None) -> None:
        self.awaited = awaited
        self.status = status
        self.timeout = timeout
        super().__init__(f"waited {timeout} s for {awaited}; the status is still {status!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.awaited, self.status, self.timeout))


class LeaseLost(TaskLifeError, RuntimeError):
    """A worker's heartbeat came too late: its lease on the task was reaped, the task was
    retried, or it ended. The worker no longer holds the task and should stop working on it."""

    def __init__(self, task_id: str, worker: str, reason: str) -> None:
        self.task_id = task_id
        self.worker = worker
        self.reason = reason
        super().__init__(f"worker {worker!r} lost task {task_id!r}: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.task_id, self.worker, self.reason))


class RetryRefused(TaskLifeError, ValueError):
    """``store.retry`` of a task its lifecycle does not let be retried (not in a retryable
    final state, or no retries left); nothing was written."""

    def __init__(self, task_id: str, reason: str) -> None:
        self.task_id = task_id
        self.reason = reason
        super().__init__(f"task {task_id!r} cannot be retried: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.task_id, self.reason))
