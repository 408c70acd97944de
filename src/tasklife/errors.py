"""The exceptions tasklife raises: every one names what was wrong and where.

>>> from tasklife import InvalidRecord
>>> issubclass(InvalidRecord, ValueError)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from transitions import MachineError

__all__ = [
    "InvalidLifecycle",
    "InvalidRecord",
    "InvalidTransition",
    "TaskLifeError",
    "UnknownLifecycle",
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
    """A lifecycle name or file that cannot be found."""

    def __init__(self, spec: str, known: Sequence[str]) -> None:
        self.spec = spec
        super().__init__(
            f"unknown lifecycle {spec!r}: not a built-in ({', '.join(known)}) nor a readable "
            ".toml/.json file"
        )

    def __str__(self) -> str:
        return str(self.args[0])
