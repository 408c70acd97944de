"""The nine copy-task statuses, with their exact wire strings, in wire order.

The members are written out so type checkers and IDEs know them, and checked against the
copy-task lifecycle table when this module is imported: a table that gains, loses or reorders
a state fails the import with a message naming the difference.

>>> from tasklife import Status
>>> Status.RUNNING == "kRunning"
True
>>> [s.value for s in Status if s.is_final][:2]
['kCanceled', 'kSuccess']
"""

from __future__ import annotations

import enum

from tasklife.errors import TaskLifeError
from tasklife.lifecycle import COPY_TASK, Lifecycle

__all__ = ["Status", "check_status_enum"]


class Status(enum.StrEnum):
    """A ``CopySnapshotTaskStatus.status`` value; a ``str`` equal to its wire string."""

    ACCEPTED = "kAccepted"
    RUNNING = "kRunning"
    CANCELING = "kCanceling"
    CANCELED = "kCanceled"
    SUCCESS = "kSuccess"
    FAILURE = "kFailure"
    WARNING = "kWarning"
    ON_HOLD = "kOnHold"
    MISSED = "kMissed"

    @property
    def is_final(self) -> bool:
        """Whether the copy-task lifecycle ends in this status (read from the lifecycle table)."""
        return COPY_TASK.is_final(self.value)


def check_status_enum(enum_class: type[enum.StrEnum], lifecycle: Lifecycle) -> None:
    """Refuse an enum whose values are not the lifecycle's states, in table order.

    >>> check_status_enum(Status, COPY_TASK)
    """
    values = tuple(member.value for member in enum_class)
    if values != lifecycle.state_names:
        raise TaskLifeError(
            f"{enum_class.__name__} {values} is not the states of {lifecycle.name!r} in table "
            f"order {lifecycle.state_names}"
        )


check_status_enum(Status, COPY_TASK)
