"""tasklife: the lifecycle of long-running tasks as one shared state machine.

The names here are the user-facing ones: records, lifecycles, validation and its reports,
diagrams, roll-up and the errors to catch. Everything else is reachable through its module
(``tasklife.lifecycle``, ``tasklife.tracking``, ``tasklife.validation``,
``tasklife.eventlog``, ``tasklife.diagrams``, ``tasklife.errors``, ...). Importing tasklife
stays light: numpy, pyarrow, rich and Dask load only when event logs are read, diagrams of
logs drawn or the command line run.

>>> from tasklife import CopySnapshotTaskStatus
>>> task = CopySnapshotTaskStatus(clock=iter([10, 20]).__next__)
>>> task.start(), task.succeed(), task.status
(True, True, 'kSuccess')
>>> task.to_dictionary()
{'status': 'kSuccess', 'taskEndTimeUsecs': 20, 'taskStartTimeUsecs': 10}
"""

from tasklife.diagrams import render_lifecycle, write_diagram
from tasklife.diagrams.overlay import task_overlay
from tasklife.errors import (
    InvalidLifecycle,
    InvalidRecord,
    InvalidTransition,
    TaskLifeError,
    UnknownLifecycle,
    UnreadableLifecycle,
    UnusableInput,
)
from tasklife.eventlog import LogReport, validate_log
from tasklife.lifecycle import (
    COPY_TASK,
    Lifecycle,
    StateDef,
    TransitionDef,
    get_lifecycle,
    load_lifecycle,
)
from tasklife.models import CopySnapshotTaskStatus, ProtectionSource
from tasklife.rollup import RunRollUp, roll_up
from tasklife.status import Status
from tasklife.tracking import Task, machine_for
from tasklife.validation import ValidationReport, validate

__all__ = [
    "COPY_TASK",
    "CopySnapshotTaskStatus",
    "InvalidLifecycle",
    "InvalidRecord",
    "InvalidTransition",
    "Lifecycle",
    "LogReport",
    "ProtectionSource",
    "RunRollUp",
    "StateDef",
    "Status",
    "Task",
    "TaskLifeError",
    "TransitionDef",
    "UnknownLifecycle",
    "UnreadableLifecycle",
    "UnusableInput",
    "ValidationReport",
    "get_lifecycle",
    "load_lifecycle",
    "machine_for",
    "render_lifecycle",
    "roll_up",
    "task_overlay",
    "validate",
    "validate_log",
    "write_diagram",
]
