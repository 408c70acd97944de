"""Every exception tasklife raises, under one base class: each names what was wrong and where.

Each class also subclasses the fitting builtin, so code that knows nothing of tasklife still
catches it as a ``ValueError``, ``LookupError``, ``ImportError`` or ``RuntimeError``.

>>> from tasklife.errors import InvalidRecord, TaskLifeError, UnreadableLifecycle
>>> issubclass(InvalidRecord, ValueError), issubclass(UnreadableLifecycle, TaskLifeError)
(True, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from transitions import MachineError

__all__ = [
    "CorruptTask",
    "DiagramError",
    "GraphvizNotFound",
    "InvalidLifecycle",
    "InvalidRecord",
    "InvalidRunTask",
    "InvalidStoreURL",
    "InvalidTransition",
    "MissingExtra",
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
]


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
        super().__init__(f"{where}: {reason} (got {value!r})")


class InvalidTransition(TaskLifeError, MachineError):
    """A trigger that is not legal from the record's current status.

    The record is left exactly as it was.
    """

    def __init__(
        self, trigger: str, state: str | None, allowed: Sequence[str], lifecycle: str
    ) -> None:
        self.trigger = trigger
        self.state = state
        self.allowed = tuple(allowed)
        self.lifecycle = lifecycle
        allowed_text = ", ".join(self.allowed) if self.allowed else "none (final state)"
        msg = (
            f"cannot {trigger!r} from status {state!r} in lifecycle {lifecycle!r}; "
            f"allowed triggers: {allowed_text}"
        )
        MachineError.__init__(self, msg)
        self.args = (msg,)

    def __str__(self) -> str:
        return str(self.value)


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
