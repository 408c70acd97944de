"""Reading JSON Lines event logs: ``{"taskId": ..., "status": ..., "atUsecs": ...}`` a line,
optionally with ``attempt`` and the snapshot fields (:mod:`tasklife.validation.fields`).

The reader only cuts the stream into blocks of whole lines (:mod:`tasklife.eventlog.blocks`);
what a line means is decided by :mod:`tasklife.eventlog.lines` (the reference), either line
by line (:meth:`~tasklife.eventlog.readers.Block.decoded`, the light engine's hot loop) or,
for the lines a columnar parser vouches for, in bulk (the fast engine).

>>> import io
>>> block = next(read(io.BytesIO(b'{"taskId": 7, "status": "kRunning", "atUsecs": 5}'), "x"))
>>> [(line, event.task, event.at) for line, event in block.decoded()]
[(1, 7, 5)]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from tasklife.eventlog.blocks import DEFAULT_READ, Block, ReadOptions, blocks
from tasklife.eventlog.lines import MAX_LINE_BYTES, too_long

__all__ = ["read"]


def read(stream: IO[bytes], name: str, options: ReadOptions = DEFAULT_READ) -> Iterator[Block]:
    """The blocks of a JSON Lines stream (see :data:`~tasklife.eventlog.readers.Reader`)."""
    limit = options.max_line_bytes or MAX_LINE_BYTES
    offset = options.first_line - 1
    for data, first in blocks(stream, options.progress, limit, name=name):
        if data is None:
            yield Block(first + offset, rows=((first + offset, too_long(limit)),))
        else:
            yield Block(first + offset, data)
