"""What a log is judged by, as every engine takes it.

>>> from tasklife.lifecycle import COPY_TASK
>>> Criteria(COPY_TASK, mode="polling").require_final
False
"""

from __future__ import annotations

import attrs

from tasklife.lifecycle import Lifecycle

__all__ = ["Criteria"]


@attrs.frozen
class Criteria:
    """The lifecycle, strict or polling, the accepted vocabulary, and whether a task must end
    in a final status."""

    lifecycle: Lifecycle
    mode: str = "strict"
    vocabulary: str = "auto"
    require_final: bool = False
