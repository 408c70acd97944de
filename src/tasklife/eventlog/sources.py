"""Event-log sources as byte streams: opened, decompressed when gzip, their format sniffed.

The single-process reader and the Dask engine open sources the same way: a path, ``-``
(standard input) or an open binary stream; gzip content is found by its magic bytes (whatever
the name), decompressed as it is read, and its name for the format loses ``.gz``; the format
comes from the name's suffix, else from the first :data:`HEAD_BYTES` (see
:mod:`tasklife.eventlog.readers`).

>>> import gzip
>>> opened = sniff("a.jsonl.gz", io.BytesIO(gzip.compress(b'{"taskId": 1}')))
>>> opened.format.name, opened.gzipped, opened.stream.read()
('jsonl', True, b'{"taskId": 1}')
"""

from __future__ import annotations

import gzip
import io
import os
import sys
import zlib
from collections.abc import Callable
from typing import IO, Any, Final, cast

import attrs

from tasklife.errors import UnusableInput
from tasklife.eventlog.readers import Format, format_of

__all__ = [
    "GZIP_MAGIC",
    "HEAD_BYTES",
    "Opened",
    "Progress",
    "Source",
    "is_gzip",
    "open_source",
    "sniff",
]

Progress = Callable[[int], None]
"""Called with the number of bytes just read."""
Source = str | os.PathLike[str] | IO[bytes]
"""An event log as the readers take it: a path, ``-`` for standard input, or a binary stream."""

GZIP_MAGIC: Final = b"\x1f\x8b"
HEAD_BYTES: Final = 4096
"""How much of a source is looked at to tell its format: one page, enough for a CSV header or
a few JSON lines (the first of which may be malformed)."""


def is_gzip(head: bytes) -> bool:
    """Whether bytes read from a source's start begin a gzip stream (its magic bytes).

    >>> is_gzip(b"\\x1f\\x8b\\x08"), is_gzip(b'{"taskId": 1}')
    (True, False)
    """
    return head[:2] == GZIP_MAGIC


def open_source(source: Source) -> tuple[str, IO[bytes]]:
    """``(name, binary stream)`` of a path, ``-`` (standard input) or an open binary stream;
    a path that cannot be opened is :class:`~tasklife.errors.UnusableInput`.

    >>> open_source("-")[0]
    '<stdin>'
    """
    if not isinstance(source, str | os.PathLike):
        return getattr(source, "name", "<stream>"), source
    if str(source) == "-":
        return "<stdin>", sys.stdin.buffer
    try:
        return str(source), open(source, "rb")
    except OSError as exc:
        raise UnusableInput(f"{source}: cannot read: {exc.strerror or exc}") from None


@attrs.frozen
class Opened:
    """A source ready to read: its events' format, the (decompressed) stream, and the
    progress callback to give the reader (None when the compressed bytes are counted)."""

    name: str
    format: Format
    stream: io.BufferedReader
    gzipped: bool
    progress: Progress | None


def sniff(name: str, stream: IO[bytes], progress: Progress | None = None) -> Opened:
    """Decompress ``stream`` when it is gzip and tell its format (see the module docstring).

    ``progress`` then counts compressed bytes, like the file size does.
    """
    buffered = (
        stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(cast(Any, stream))
    )
    if not is_gzip(buffered.peek(len(GZIP_MAGIC))):
        return Opened(name, format_of(name, _head(buffered)), buffered, False, progress)
    inner = name[:-3] if name.lower().endswith(".gz") else name
    compressed = buffered if progress is None else _Counted(buffered, progress)
    plain = io.BufferedReader(cast(Any, _Gunzip(compressed, name)))
    return Opened(name, format_of(inner, _head(plain)), plain, True, None)


def _head(stream: io.BufferedReader) -> bytes:
    return stream.peek(HEAD_BYTES)[:HEAD_BYTES]


class _Counted(io.RawIOBase):
    """A stream that reports the bytes read from it."""

    def __init__(self, stream: io.BufferedReader, progress: Progress) -> None:
        self._stream, self._progress = stream, progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        got = self._stream.readinto(buffer)
        self._progress(got)
        return got


class _Gunzip(io.RawIOBase):
    """gzip content, decompressed; a corrupt or cut-off file is :class:`UnusableInput`."""

    def __init__(self, compressed: io.BufferedReader | io.RawIOBase, name: str) -> None:
        self._gzip, self._name = gzip.GzipFile(fileobj=compressed, mode="rb"), name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            return self._gzip.readinto(buffer)
        except (OSError, EOFError, zlib.error) as exc:
            raise UnusableInput(f"{self._name}: cannot decompress: {exc}") from None
