"""Lifecycles as data: the one table everything else is derived from.

Theory of operation
-------------------
A lifecycle is a value: named states, one initial state, final states classed by outcome
(success, warning, failure, canceled, missed), other states classed by phase (queued, active,
held, canceling), and triggers that each move a set of source states to one destination. It
is built in Python (:class:`Lifecycle`) or read from TOML/JSON (:func:`load_lifecycle`); the
copy-task lifecycle itself is such a file, ``lifecycles/copy-task.toml``, kept once.

* :mod:`~tasklife.lifecycle.definition`: the states and transitions as data, and the checks
  a definition must pass;
* :mod:`~tasklife.lifecycle.graph`: the one search over the table (breadth-first, by trigger);
* :mod:`~tasklife.lifecycle.table`: the :class:`Lifecycle` value, compiled into the lookups
  the machine, the validators, the diagrams and the roll-up share;
* :mod:`~tasklife.lifecycle.shape`: the TOML/JSON shape, read and written;
* :mod:`~tasklife.lifecycle.loading`: built-ins by name, files with ``extends``, and
  :func:`get_lifecycle`, which every ``lifecycle=`` argument goes through.

Rules that do not fit the table: a final state has no exits, and a status that is the same
as the previous one is a re-observation, not a transition.

>>> copy = get_lifecycle("copy-task")
>>> copy.dest("start", "kAccepted")
'kRunning'
>>> copy.path("kAccepted", "kSuccess")
('start', 'succeed')
"""

from tasklife.lifecycle.definition import (
    ERROR_RULES,
    MAX_STATES,
    OUTCOMES,
    PHASES,
    VOCABULARIES,
    LivenessDef,
    StateDef,
    TransitionDef,
    check_definition,
    check_name,
)
from tasklife.lifecycle.loading import (
    COPY_TASK,
    COPY_TASK_6_8,
    LifecycleSpec,
    builtin_lifecycles,
    get_lifecycle,
    load_lifecycle,
)
from tasklife.lifecycle.table import Lifecycle

__all__ = [
    "COPY_TASK",
    "COPY_TASK_6_8",
    "ERROR_RULES",
    "MAX_STATES",
    "OUTCOMES",
    "PHASES",
    "VOCABULARIES",
    "Lifecycle",
    "LifecycleSpec",
    "LivenessDef",
    "StateDef",
    "TransitionDef",
    "builtin_lifecycles",
    "check_definition",
    "check_name",
    "get_lifecycle",
    "load_lifecycle",
]
