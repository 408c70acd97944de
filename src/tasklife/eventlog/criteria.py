"""What a log is judged by, as every engine takes it.

>>> from tasklife.lifecycle import COPY_TASK
>>> Criteria(COPY_TASK, mode="polling").require_final
False
"""

from __future__ import annotations

from typing import Final

import attrs

from tasklife.lifecycle import Lifecycle

__all__ = ["NO_OPTIONS", "Criteria", "RunOptions"]


@attrs.frozen
class Criteria:
    """The lifecycle, strict or polling, the accepted vocabulary, and whether a task must end
    in a final status."""

    lifecycle: Lifecycle
    mode: str = "strict"
    vocabulary: str = "auto"
    require_final: bool = False


@attrs.frozen
class RunOptions:
    """How an engine may run (never what it finds): the memory budget in bytes (None: no
    limit; the engine then judges in memory), the directory its spill files go under
    (None: the platform's temporary directory), and the longest line read."""

    memory_limit: int | None = None
    tmp: str | None = None
    max_line_bytes: int | None = None


NO_OPTIONS: Final = RunOptions()
"""No memory limit, the platform's temporary directory, the default line limit."""
