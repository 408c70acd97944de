"""tasklife: the lifecycle of long-running tasks as one shared state machine.

>>> from tasklife import CopySnapshotTaskStatus
>>> task = CopySnapshotTaskStatus(clock=iter([10, 20]).__next__)
>>> task.start(), task.succeed(), task.status
(True, True, 'kSuccess')
>>> task.to_dictionary()
{'status': 'kSuccess', 'taskEndTimeUsecs': 20, 'taskStartTimeUsecs': 10}
"""

from tasklife.batch import LogReport, ObservedFlow, judge, observed_flow
from tasklife.diagrams import render_lifecycle, write_all, write_diagram
from tasklife.errors import (
    DiagramError,
    GraphvizNotFound,
    InvalidLifecycle,
    InvalidRecord,
    InvalidRunTask,
    InvalidTransition,
    MissingExtra,
    TaskLifeError,
    UnknownLifecycle,
    UnusableInput,
)
from tasklife.eventlog import EventLog, Malformed, events_from_objects, read_events
from tasklife.lifecycle import (
    COPY_TASK,
    COPY_TASK_6_8,
    OUTCOMES,
    PHASES,
    Lifecycle,
    StateDef,
    TransitionDef,
    builtin_lifecycles,
    check_definition,
    get_lifecycle,
    load_lifecycle,
)
from tasklife.models import CopyRunStats, CopySnapshotTaskStatus, ProtectionSource
from tasklife.overlay import Overlay, flow_overlay, task_overlay
from tasklife.rollup import RunRollUp, roll_up
from tasklife.status import Status
from tasklife.tracking import (
    Clock,
    CopyTaskTriggers,
    JournalEntry,
    LifecycleMachine,
    Listener,
    Task,
    Tracked,
    machine_for,
    wall_clock_usecs,
)
from tasklife.validation import KINDS, Gap, ValidationReport, Violation, validate, validate_log

__all__ = [
    "COPY_TASK",
    "COPY_TASK_6_8",
    "KINDS",
    "OUTCOMES",
    "PHASES",
    "Clock",
    "CopyRunStats",
    "CopySnapshotTaskStatus",
    "CopyTaskTriggers",
    "DiagramError",
    "EventLog",
    "Gap",
    "GraphvizNotFound",
    "InvalidLifecycle",
    "InvalidRecord",
    "InvalidRunTask",
    "InvalidTransition",
    "JournalEntry",
    "Lifecycle",
    "LifecycleMachine",
    "Listener",
    "LogReport",
    "Malformed",
    "MissingExtra",
    "ObservedFlow",
    "Overlay",
    "ProtectionSource",
    "RunRollUp",
    "StateDef",
    "Status",
    "Task",
    "TaskLifeError",
    "Tracked",
    "TransitionDef",
    "UnknownLifecycle",
    "UnusableInput",
    "ValidationReport",
    "Violation",
    "builtin_lifecycles",
    "check_definition",
    "events_from_objects",
    "flow_overlay",
    "get_lifecycle",
    "judge",
    "load_lifecycle",
    "machine_for",
    "observed_flow",
    "read_events",
    "render_lifecycle",
    "roll_up",
    "task_overlay",
    "validate",
    "validate_log",
    "wall_clock_usecs",
    "write_all",
    "write_diagram",
]
