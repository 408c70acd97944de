"""Wire documents as the store reads them: the keys of the wire table."""

from __future__ import annotations

from typing import Any, Final, cast

import attrs

from tasklife.wire import WireModel

__all__ = ["WIRE", "wire_keys"]

WIRE: Final = "tasklife.wire"
"""The attrs metadata key of a wire field: ``(json key, Kind, sparse)`` (see tasklife.wire)."""


def wire_keys(model: type[WireModel], *names: str) -> tuple[str, ...]:
    """The wire keys of fields ``names`` of ``model``, read from its wire table.

    >>> from tasklife.models import CopyRunStats
    >>> wire_keys(CopyRunStats, "start_time_usecs", "is_incremental")
    ('startTimeUsecs', 'isIncremental')
    """
    fields = {f.name: f for f in attrs.fields(cast(Any, model))}
    return tuple(fields[name].metadata[WIRE][0] for name in names)
