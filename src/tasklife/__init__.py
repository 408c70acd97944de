"""tasklife: the lifecycle of long-running tasks as one shared state machine.

The names here are the user-facing ones: records and listener scopes, lifecycles,
validation and its reports, diagrams, roll-up, the durable store and the errors to catch.
Everything else is reachable through its module (``tasklife.lifecycle``,
``tasklife.tracking``, ``tasklife.validation``, ``tasklife.eventlog``, ``tasklife.diagrams``,
``tasklife.store``, ``tasklife.errors``, ...).

Importing tasklife is light, because every worker process of an orchestrator does it: each
name is imported from its module when first used (:data:`_HOMES`), so a worker that only
tracks tasks never loads validation or diagrams, and numpy, pyarrow, rich and Dask load only
when event logs are read, diagrams of logs drawn or the command line run.

>>> from tasklife import CopySnapshotTaskStatus
>>> task = CopySnapshotTaskStatus(clock=iter([10, 20]).__next__)
>>> task.start(), task.succeed(), task.status
(True, True, 'kSuccess')
>>> task.to_dictionary()
{'status': 'kSuccess', 'taskEndTimeUsecs': 20, 'taskStartTimeUsecs': 10}
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from tasklife.diagrams import render_lifecycle, write_diagram
    from tasklife.diagrams.overlay import task_overlay
    from tasklife.errors import (
        AfterTransitionError,
        InvalidLifecycle,
        InvalidRecord,
        InvalidTransition,
        TaskLifeError,
        TaskNotFound,
        UnusableInput,
    )
    from tasklife.eventlog import LogReport, validate_log
    from tasklife.lifecycle import COPY_TASK, Lifecycle, get_lifecycle, load_lifecycle
    from tasklife.models import CopySnapshotTaskStatus, ProtectionSource
    from tasklife.rollup import RunRollUp, roll_up
    from tasklife.status import Status
    from tasklife.store import open_store
    from tasklife.tracking import ListenerScope, Task, machine_for
    from tasklife.validation import ValidationReport, validate

__all__ = [
    "COPY_TASK",
    "AfterTransitionError",
    "CopySnapshotTaskStatus",
    "InvalidLifecycle",
    "InvalidRecord",
    "InvalidTransition",
    "Lifecycle",
    "ListenerScope",
    "LogReport",
    "ProtectionSource",
    "RunRollUp",
    "Status",
    "Task",
    "TaskLifeError",
    "TaskNotFound",
    "UnusableInput",
    "ValidationReport",
    "get_lifecycle",
    "load_lifecycle",
    "machine_for",
    "open_store",
    "render_lifecycle",
    "roll_up",
    "task_overlay",
    "validate",
    "validate_log",
    "write_diagram",
]

_HOMES: Final = {
    **dict.fromkeys(("render_lifecycle", "write_diagram"), "tasklife.diagrams"),
    "task_overlay": "tasklife.diagrams.overlay",
    **dict.fromkeys(
        (
            "AfterTransitionError",
            "InvalidLifecycle",
            "InvalidRecord",
            "InvalidTransition",
            "TaskLifeError",
            "TaskNotFound",
            "UnusableInput",
        ),
        "tasklife.errors",
    ),
    **dict.fromkeys(("LogReport", "validate_log"), "tasklife.eventlog"),
    **dict.fromkeys(
        ("COPY_TASK", "Lifecycle", "get_lifecycle", "load_lifecycle"),
        "tasklife.lifecycle",
    ),
    **dict.fromkeys(("CopySnapshotTaskStatus", "ProtectionSource"), "tasklife.models"),
    **dict.fromkeys(("RunRollUp", "roll_up"), "tasklife.rollup"),
    "Status": "tasklife.status",
    "open_store": "tasklife.store",
    **dict.fromkeys(("ListenerScope", "Task", "machine_for"), "tasklife.tracking"),
    **dict.fromkeys(("ValidationReport", "validate"), "tasklife.validation"),
}
"""The module each public name lives in (the imports above, for type checkers)."""


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'tasklife' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # found once; later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
