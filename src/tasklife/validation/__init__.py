"""Validating what was observed of tasks against their lifecycle.

* :mod:`~tasklife.validation.kinds`: the one table of violation kinds (name, order, message,
  how its values are recovered, and the snapshot rules as expressions);
* :mod:`~tasklife.validation.rules`: the other rules, read from the lifecycle table (which
  state a status names, the verdict on a change of status);
* :mod:`~tasklife.validation.history`: :func:`validate`, one task's history: the reference
  every other judge must agree with;
* :mod:`~tasklife.validation.report`: :class:`Violation`, :class:`Gap`,
  :class:`ValidationReport`.

Event logs of many tasks are :mod:`tasklife.eventlog`'s (:func:`tasklife.validate_log`).

>>> validate(["kAccepted", "kRunning", "kSuccess"]).counts
{}
"""

from tasklife.validation.history import SNAPSHOT_KEYS, Mode, validate
from tasklife.validation.kinds import KIND_NAMES, KINDS, Kind
from tasklife.validation.report import Gap, StatusName, ValidationReport, Violation
from tasklife.validation.rules import MODES, VOCABULARY_CHOICES

__all__ = [
    "KINDS",
    "KIND_NAMES",
    "MODES",
    "SNAPSHOT_KEYS",
    "VOCABULARY_CHOICES",
    "Gap",
    "Kind",
    "Mode",
    "StatusName",
    "ValidationReport",
    "Violation",
    "validate",
]
