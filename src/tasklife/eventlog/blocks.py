"""Reading a stream in blocks of whole lines, in bounded memory, in pure Python.

A block holds whole lines of about :data:`BLOCK_BYTES` (the last line of a stream may lack
its newline). A UTF-8 byte order mark at the start of a stream is not part of line 1. A line
longer than the limit is not held: it is reported as one skipped line (``data`` None) and its
bytes are read past until the next newline, so a file without newlines (a gzip stream of one
endless line included) costs at most the limit plus a block (issue 12, item 12).

>>> import io
>>> list(blocks(io.BytesIO(b"a\\nb\\nc")))
[(b'a\\nb\\n', 1), (b'c', 3)]
>>> list(blocks(io.BytesIO(b"ab\\nxxxxxxxx\\nc\\n"), limit=4))
[(b'ab\\n', 1), (None, 2), (b'c\\n', 3)]
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING, Final

import attrs

from tasklife.errors import UnusableInput

if TYPE_CHECKING:
    from tasklife.eventlog.lines import Event

__all__ = ["BLOCK_BYTES", "DEFAULT_READ", "Block", "ReadOptions", "blocks"]

BLOCK_BYTES: Final = 16 << 20
"""About how many bytes a block holds: large enough that a block's fixed costs (a DuckDB
query, a Python call per block) vanish, small enough to bound memory."""
_NEWLINE: Final = b"\n"


@attrs.frozen
class ReadOptions:
    """How sources are read: the longest line (longer ones are malformed lines, skipped in
    bounded memory), the progress callback (bytes read), the first line's number (a block
    of a file read alone)."""

    max_line_bytes: int | None = None
    progress: Callable[[int], None] | None = None
    first_line: int = 1


@attrs.frozen
class Block:
    """Some consecutive lines of one source from line ``first`` on: raw whole JSON lines
    (``data``) or rows read by the reference (``rows``: ``(line, event or reason)``)."""

    first: int
    data: bytes | None = None
    rows: tuple[tuple[int, Event | str], ...] = ()

    def decoded(self) -> Iterator[tuple[int, Event | str]]:
        """``(line, event or why it is malformed)`` of each non-blank line."""
        if self.data is None:
            yield from self.rows
            return
        from tasklife.eventlog.lines import read_json_line

        for line, raw in enumerate(self.data.split(b"\n"), self.first):
            got = read_json_line(raw) if raw else None
            if got is not None:
                yield line, got


DEFAULT_READ: Final = ReadOptions()
"""Reading with no line limit but the default, no progress, from line 1."""


def blocks(
    stream: IO[bytes],
    progress: Callable[[int], None] | None = None,
    limit: int | None = None,
    size: int | None = None,
    name: str = "<stream>",
) -> Iterator[tuple[bytes | None, int]]:
    """``(data, first line)`` of each block of whole lines; ``(None, line)`` for a line longer
    than ``limit`` bytes, skipped. An I/O error while reading is
    :class:`~tasklife.errors.UnusableInput` naming the source (issue 12, item 9)."""
    size = size or BLOCK_BYTES
    rest = b""
    line = 1
    first = True
    skipping = False
    while True:
        data = _read(stream, size, name)
        if progress is not None and data:
            progress(len(data))
        if first:
            data = data.removeprefix(codecs.BOM_UTF8)
            first = False
        if skipping:
            cut = data.find(_NEWLINE)
            if cut < 0 and data:
                continue
            data, skipping = data[cut + 1 :], False
            line += 1
            if not data:
                continue
        if not data:
            if rest:
                yield from _checked(rest, line, limit)
            return
        buf = rest + data if rest else data
        cut = buf.rfind(_NEWLINE) + 1
        if cut == 0:
            if limit is not None and len(buf) > limit:
                yield None, line
                rest, skipping = b"", True
            else:
                rest = buf
            continue
        rest = buf[cut:]
        block = buf[:cut]
        yield from _checked(block, line, limit)
        line += block.count(_NEWLINE)
        if limit is not None and len(rest) > limit:
            yield None, line
            rest, skipping = b"", True


def _checked(block: bytes, line: int, limit: int | None) -> Iterator[tuple[bytes | None, int]]:
    """The block, or its pieces around lines longer than ``limit`` (only possible when the
    limit is below the block size)."""
    if limit is None or len(block) <= limit:
        yield block, line
        return
    start = line
    kept: list[bytes] = []
    for raw in block.split(_NEWLINE)[: block.count(_NEWLINE) + (not block.endswith(_NEWLINE))]:
        if len(raw) > limit:
            if kept:
                yield b"".join(kept), start
                kept = []
            yield None, line
            start = line + 1
        else:
            kept.append(raw + _NEWLINE)
        line += 1
    if kept:
        yield b"".join(kept), start


def _read(stream: IO[bytes], size: int, name: str) -> bytes:
    try:
        return stream.read(size) or b""
    except UnusableInput:
        raise
    except OSError as exc:
        raise UnusableInput(f"{name}: cannot read: {exc.strerror or exc}") from None
