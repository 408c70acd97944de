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
import select
import sys
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any, Final, cast

import attrs

from tasklife.errors import UnusableInput
from tasklife.eventlog.blocks import DEFAULT_READ, Block, ReadOptions
from tasklife.eventlog.readers import Format, format_of

__all__ = [
    "GZIP_MAGIC",
    "HEAD_BYTES",
    "Opened",
    "Progress",
    "Source",
    "each_source",
    "input_bytes",
    "is_gzip",
    "open_source",
    "sniff",
]

Progress = Callable[[int], None]
"""Called with the number of bytes just read."""
Source = str | bytes | os.PathLike[str] | IO[bytes]
"""An event log as the readers take it: a path (``str``, ``bytes`` or path-like), ``-`` for
standard input, or a binary stream (``io.BytesIO``, a file opened ``"rb"``)."""

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
    a path that cannot be opened, a text stream or anything else is
    :class:`~tasklife.errors.UnusableInput` (issue 12, item 17).

    >>> open_source("-")[0]
    '<stdin>'
    >>> open_source(io.StringIO("x"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    tasklife.errors.UnusableInput: <stream>: a text stream; open the file in binary mode ...
    """
    if isinstance(source, bytes):
        source = os.fsdecode(source)
    if not isinstance(source, str | os.PathLike):
        name = str(getattr(source, "name", "<stream>"))
        if isinstance(source, io.TextIOBase):
            raise UnusableInput(
                f"{name}: a text stream; open the file in binary mode ('rb') or pass its path"
            )
        if not callable(getattr(source, "read", None)):
            raise UnusableInput(
                f"not an event log: {source!r:.60} (give paths, '-' or binary streams)"
            )
        return name, source
    if str(source) == "-":
        return "<stdin>", _stdin()
    try:
        return str(source), open(source, "rb")
    except OSError as exc:
        raise UnusableInput(f"{source}: cannot read: {exc.strerror or exc}") from None


def _stdin() -> IO[bytes]:
    """Standard input as a binary stream that waits for data when the descriptor is
    non-blocking (a non-blocking pipe's "no data yet" is not its end: issue 12, item 5)."""
    stream = sys.stdin.buffer
    try:
        fd = stream.fileno()
        blocking = os.get_blocking(fd)
    except (OSError, ValueError, io.UnsupportedOperation):
        return stream
    if blocking:
        return stream
    return io.BufferedReader(cast(Any, _Patient(fd)))


class _Patient(io.RawIOBase):
    """A non-blocking descriptor read as a blocking one: wait (``select``) instead of ending."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def readinto(self, buffer: Any) -> int:
        while True:
            try:
                got = os.readv(self._fd, [buffer])
            except BlockingIOError:
                select.select([self._fd], [], [])
                continue
            return got


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


def each_source(
    sources: Sequence[Source], options: ReadOptions = DEFAULT_READ
) -> Iterator[tuple[int, str, Iterator[Block]]]:
    """``(source number, name, its blocks)`` of each source in turn, opened and sniffed; a
    file this opened is closed once its blocks have been read (or reading stopped)."""
    for key, source in enumerate(sources):
        name, stream = open_source(source)
        try:
            try:
                opened = sniff(name, stream, options.progress)
            except OSError as exc:
                raise UnusableInput(f"{name}: cannot read: {exc.strerror or exc}") from None
            read = attrs.evolve(options, progress=opened.progress)
            yield key, name, opened.format.read(opened.stream, name, read)
        finally:
            if isinstance(source, str | bytes | os.PathLike) and str(source) != "-":
                stream.close()


def input_bytes(sources: Sequence[Source]) -> int | None:
    """The total size of the sources, or None when one of them has no size (stdin, a stream).

    >>> input_bytes(["examples/copy-run.jsonl"]) > 0, input_bytes(["-"])
    (True, None)
    """
    total = 0
    for source in sources:
        if not isinstance(source, str | os.PathLike) or not os.path.isfile(source):
            return None
        total += os.path.getsize(source)
    return total
