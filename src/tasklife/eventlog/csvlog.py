"""Reading CSV event logs: the header ``task_id,status,at_usecs`` (in any order, more columns
allowed), optionally with ``attempt`` and the snapshot columns (v1 or v2 names:
:data:`~tasklife.validation.fields.CSV_NAMES`).

Rows are read by Python's ``csv`` module from lines of at most the line limit, and checked by
the reference rules (:func:`~tasklife.eventlog.lines.check_object`), so a bad row gets the
reason a bad JSON line gets. The explicit rules (issue 12, items 3, 6 and 9):

* bytes that are not UTF-8 make their row malformed (never replaced: two different ids must
  not become one);
* an empty field is null (so an empty task id is malformed, as an empty JSON id is);
* integers are ``-?[0-9]+`` in ASCII digits (not ``3_0``, `` 1 ``, ``٣``); a status of ASCII
  digits is a numeric code (``²`` and ``①`` are names, unknown ones);
* a header naming a column twice is unusable input;
* a column of the event present in the header is carried by every row (an empty
  ``error`` is a null error, judged).

>>> import io
>>> block = next(read(io.BytesIO(b"task_id,status,at_usecs\\n7,1,5\\n"), "x"))
>>> [(line, e.task, e.status, e.at) for line, e in block.rows]
[(2, '7', 1, 5)]
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import IO, Any, Final

from tasklife.errors import UnusableInput
from tasklife.eventlog.blocks import DEFAULT_READ, Block, ReadOptions, blocks
from tasklife.eventlog.lines import CSV_FIELDS, MAX_LINE_BYTES, Event, check_object, csv_value
from tasklife.eventlog.lines import too_long as too_long_reason

__all__ = ["CSV_COLUMNS", "read"]

CSV_COLUMNS: Final = (CSV_FIELDS.task, CSV_FIELDS.status, CSV_FIELDS.at)
_KNOWN: Final = (*CSV_COLUMNS, CSV_FIELDS.attempt, *CSV_FIELDS.snapshot.all())
ROWS_PER_BLOCK: Final = 1 << 16
"""Rows checked per block: large enough that a block's fixed costs vanish, small enough that
progress is reported often."""


def read(stream: IO[bytes], name: str, options: ReadOptions = DEFAULT_READ) -> Iterator[Block]:
    """The blocks of a CSV stream (see :data:`~tasklife.eventlog.readers.Reader`); a header
    without the required columns, or naming one twice, is
    :class:`~tasklife.errors.UnusableInput`."""
    limit = options.max_line_bytes or MAX_LINE_BYTES
    csv.field_size_limit(max(limit, csv.field_size_limit()))
    lines = _Lines(blocks(stream, options.progress, limit, name=name), options.first_line - 1)
    reader = csv.reader(lines)
    header = _header(reader, name)
    pos = {c: header.index(c) for c in _KNOWN if c in header}
    rows: list[tuple[int, Event | str]] = []
    while True:
        try:
            row = next(reader, None)
        except csv.Error as exc:
            rows.append((lines.line, f"bad CSV: {exc}"))
            continue
        rows.extend(lines.skipped(limit))
        if row is None:
            break
        if row:
            rows.append((lines.line, _event(row, header, pos)))
        if len(rows) >= ROWS_PER_BLOCK:
            yield Block(rows[0][0], rows=tuple(rows))
            rows = []
    if rows:
        yield Block(rows[0][0], rows=tuple(rows))


def _header(reader: Any, name: str) -> list[str]:
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise UnusableInput(f"{name}: bad CSV header: {exc}") from None
    missing = [c for c in CSV_COLUMNS if c not in (header or [])]
    if header is None or missing:
        raise UnusableInput(
            f"{name}: CSV header must name {', '.join(CSV_COLUMNS)} "
            f"(missing {', '.join(missing)}; got {header!r})"
        )
    twice = sorted({c for c in header if c in _KNOWN and header.count(c) > 1})
    if twice:
        raise UnusableInput(f"{name}: CSV header names {', '.join(twice)} twice")
    return list(header)


def _event(row: list[str], header: list[str], pos: dict[str, int]) -> Event | str:
    if len(row) != len(header):
        return f"{len(row)} fields, the header has {len(header)}"
    values = {c: row[i] for c, i in pos.items()}
    if not all(v.isascii() for v in values.values()):
        try:
            for v in values.values():
                v.encode()
        except UnicodeEncodeError:
            return "not UTF-8: bytes that are not UTF-8 text"
    return check_object({c: csv_value(c, v) for c, v in values.items()}, CSV_FIELDS)


class _Lines:
    """The lines of blocks as text for ``csv.reader``: bytes that are not UTF-8 are kept as
    surrogates (found per row, never replaced); a line longer than the limit is left out and
    remembered, to be reported as a malformed row. ``line`` is the number of the last line
    handed out (a CSV row ends on it)."""

    def __init__(self, source: Iterator[tuple[bytes | None, int]], offset: int) -> None:
        self.source, self.offset = source, offset
        self.pending: list[tuple[int, str]] = []
        self.line = offset
        self.long: list[int] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        while not self.pending:
            data, first = next(self.source)
            first += self.offset
            if data is None:
                self.long.append(first)
                continue
            parts = data.decode("utf-8", "surrogateescape").split("\n")
            if parts[-1] == "":
                parts.pop()
            self.pending = [(first + i, text + "\n") for i, text in enumerate(parts)][::-1]
        self.line, text = self.pending.pop()
        return text

    def skipped(self, limit: int) -> list[tuple[int, str]]:
        """The lines left out as too long since the last call, as malformed rows."""
        out = [(n, too_long_reason(limit)) for n in self.long]
        self.long = []
        return out
