"""The nine copy-task statuses, with their exact wire strings, in wire order.

>>> from tasklife import Status
>>> Status.RUNNING == "kRunning"
True
>>> [s.value for s in Status if s.is_final][:2]
['kCanceled', 'kSuccess']
"""

from __future__ import annotations

import enum

__all__ = ["Status"]


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
        from tasklife.lifecycle import COPY_TASK

        return COPY_TASK.is_final(self.value)
