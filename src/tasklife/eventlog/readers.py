"""The registry of event-log formats: how each is recognised, and the module that reads it.

A format is one row, :class:`Format`: its name, the file suffixes that name it, a test of a
source's first bytes for a source whose name says nothing, whether a file of it may be cut
into blocks at line ends (the Dask engine reads such blocks in parallel), and the function
that reads it. Readers live in their own modules (:mod:`tasklife.eventlog.jsonl`,
:mod:`tasklife.eventlog.csvlog`), pure Python, and give :class:`Block` s: raw whole JSON
lines (which an engine may parse its own way, falling back to the reference reading of
:mod:`tasklife.eventlog.lines`) or rows already read by the reference.

A new format is one module with a ``read`` function (see :data:`Reader`) and one
:func:`register` call here.

>>> format_of("run.csv", b"").name, format_of("run.log", b'{"taskId": 1}').name
('csv', 'jsonl')
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import attrs

from tasklife.errors import UnusableInput
from tasklife.eventlog.blocks import DEFAULT_READ, Block, ReadOptions

__all__ = [
    "FORMATS",
    "Format",
    "Reader",
    "format_named",
    "format_of",
    "register",
]

Reader = Callable[..., "Iterator[Block]"]
"""``read(stream, name, options) -> blocks``: the lines of binary ``stream`` (called
``name``) in :class:`Block` s, as :class:`ReadOptions` say."""


@attrs.frozen
class Format:
    """One event-log format (see the module docstring)."""

    name: str
    title: str
    """What users call it, in messages."""
    suffixes: tuple[str, ...]
    """The file suffixes that name it, the usual one first."""
    looks_like: Callable[[bytes], bool]
    """Whether a source's first bytes (a UTF-8 byte order mark removed) are of this format."""
    splittable: bool
    """Whether a file may be cut into blocks at line ends and each block read alone."""
    reader: Callable[[], Reader]
    """Imports the reading module and returns its ``read``."""

    def read(
        self, stream: IO[bytes], name: str, options: ReadOptions = DEFAULT_READ
    ) -> Iterator[Block]:
        """The blocks of ``stream`` (see :data:`Reader`)."""
        got: Iterator[Block] = self.reader()(stream, name, options)
        return got


FORMATS: dict[str, Format] = {}
"""The registered formats by name, in the order a source's first bytes are tried."""


def register(fmt: Format) -> Format:
    """Add ``fmt`` to :data:`FORMATS`."""
    FORMATS[fmt.name] = fmt
    return fmt


def format_named(name: str) -> Format:
    """The registered format called ``name``."""
    try:
        return FORMATS[name]
    except KeyError:
        raise UnusableInput(f"unknown format {name!r} (one of {', '.join(FORMATS)})") from None


def format_of(name: str, head: bytes) -> Format:
    """The format of a source: by its name's suffix, else by its first bytes ``head``."""
    suffix = Path(name).suffix.lower()
    for fmt in FORMATS.values():
        if suffix in fmt.suffixes:
            return fmt
    head = head.removeprefix(codecs.BOM_UTF8)
    for fmt in FORMATS.values():
        if fmt.looks_like(head):
            return fmt
    known = " nor ".join(f"{f.title} ({f.suffixes[0]})" for f in FORMATS.values())
    raise UnusableInput(f"{name}: unknown format: neither {known}")


def _json_lines_head(head: bytes) -> bool:
    """An object on some line (the first ones may be malformed), or nothing yet."""
    return not head.strip() or any(line.lstrip().startswith(b"{") for line in head.splitlines())


def _json_lines() -> Reader:
    from tasklife.eventlog import jsonl

    return jsonl.read


def _csv_head(head: bytes) -> bool:
    """A header line that starts with the task id column."""
    return head.split(b"\n", 1)[0].replace(b" ", b"").startswith(b"task_id,")


def _csv() -> Reader:
    from tasklife.eventlog import csvlog

    return csvlog.read


register(
    Format(
        "jsonl", "JSON Lines", (".jsonl", ".ndjson", ".json"), _json_lines_head, True, _json_lines
    )
)
register(Format("csv", "CSV", (".csv",), _csv_head, False, _csv))
