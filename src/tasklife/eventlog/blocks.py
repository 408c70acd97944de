"""Reading a stream in blocks of whole lines, into a few reused buffers.

A last line without a newline comes in a block of its own, when the stream ends:

>>> import io
>>> stream = io.BytesIO(b"a\\nb\\nc")
>>> [(bytes(data[:end]), lines, rows) for data, end, lines, rows, _ in blocks(stream)]
[(b'a\\nb', 2, 2), (b'c', 0, 1)]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO, Any, Final, cast

import numpy as np

__all__ = ["CHUNK_BYTES", "blocks"]

CHUNK_BYTES: Final = 16 << 20
"""About how many bytes a block holds: 16 MB halved the per-block overhead of 8 MB, and 32 MB
was no faster (``benchmarks/bench_validation.py``)."""
BUFFERS: Final = 3
"""Blocks in memory at once by default: the one being read into, and the last two yielded,
which the reader may still be using."""
_REST_ROOM: Final = 8
"""A buffer is made 1/8 larger than a block, so the partial line carried over fits."""
_NEWLINE: Final = 10


def blocks(
    stream: IO[bytes],
    progress: Callable[[int], None] | None = None,
    line: int = 1,
    buffers: int = BUFFERS,
) -> Iterator[tuple[bytearray, int, int, int, int]]:
    """``(data, end, lines, rows, first line)``: ``data[:end]`` holds ``rows`` whole lines
    (``lines`` newlines) of about :data:`CHUNK_BYTES`.

    ``data`` is one of ``buffers`` buffers read into in turn (fresh memory for every block
    would cost a page fault per 4 KiB): it is overwritten when the ``buffers``-th next block is
    read.
    """
    ring = [bytearray() for _ in range(buffers)]
    newline = np.empty(0, np.bool_)
    rest = b""
    turn = 0  # the buffer of the next block: the last ones yielded may still be in use
    while True:
        data = ring[turn]
        need = len(rest) + CHUNK_BYTES
        if len(data) < need:
            data = ring[turn] = bytearray(need + CHUNK_BYTES // _REST_ROOM)
        data[: len(rest)] = rest
        got = cast(Any, stream).readinto(memoryview(data)[len(rest) : need]) or 0
        if progress is not None and got:
            progress(got)
        size = len(rest) + got
        cut = data.rfind(b"\n", 0, size) + 1 if got else size
        if got and cut == 0:
            rest = bytes(data[:size])
            continue
        rest = bytes(data[cut:size])
        if cut:
            if len(newline) < cut:
                newline = np.empty(len(data), np.bool_)
            np.equal(np.frombuffer(data, np.uint8, cut), _NEWLINE, out=newline[:cut])
            lines = int(np.count_nonzero(newline[:cut]))
            end = cut - 1 if data[cut - 1] == _NEWLINE else cut  # without the last newline
            yield data, end, lines, lines + (end == cut), line
            line += lines
            turn = (turn + 1) % len(ring)
        if not got:
            return
