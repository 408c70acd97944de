"""Reading JSON Lines event logs: ``{"taskId": ..., "status": ..., "atUsecs": ...}`` a line,
optionally with ``error``, ``taskStartTimeUsecs`` and ``taskEndTimeUsecs``.

A block of whole lines (:mod:`tasklife.eventlog.blocks`) is parsed by ``pyarrow.json`` (the
fastest parser measured here, see ``benchmarks/bench_validation.py``) on a worker thread,
which also dictionary-encodes its task ids and statuses; a block it cannot take whole (bad
JSON, a wrong type, blank lines) is parsed again line by line with ``orjson``, so that every
malformed line is reported with its number (:func:`~tasklife.eventlog.chunks.object_chunk`)
and the good ones are kept.

>>> import io
>>> chunk = next(read(io.BytesIO(b'{"taskId": 7, "status": "kRunning", "atUsecs": 5}'), 0, "x", []))
>>> chunk.raw_status.dictionary.to_pylist(), chunk.at.tolist(), chunk.line.tolist()
(['kRunning'], [5], [1])
"""

from __future__ import annotations

import collections
import functools
import re
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, Final

import attrs
import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from tasklife.eventlog.blocks import blocks
from tasklife.eventlog.chunks import (
    JSON_SNAPSHOT,
    MISSING,
    BadLine,
    RawChunk,
    id_type,
    line_keys,
    object_chunk,
    select_rows,
)
from tasklife.eventlog.report import Malformed

__all__ = ["PARSE_AHEAD", "read"]

PARSE_AHEAD: Final = 2
"""Blocks being parsed while the one before them is checked: one per core of the machines
measured (two); more only holds more blocks in memory."""
MIN_PARSE_BLOCK: Final = 1 << 20
"""pyarrow's smallest block size here: it needs a block larger than the data to take it in
one piece, and a tiny one costs more than it saves."""
_BUFFERS: Final = PARSE_AHEAD + 2
"""Block buffers: those being parsed ahead, the one being checked, the one being read into."""
_ID_TYPES: Final = (pa.string(), pa.int64())
_REQUIRED: Final = ("taskId", "status", "atUsecs")
_NOT_BLANK: Final = re.compile(rb"\S")


@attrs.define
class _Schema:
    """The key types a source showed in its first block, reused to parse faster."""

    explicit: pa.Schema | None = None


def read(
    stream: IO[bytes],
    key: int,
    name: str,
    bad: list[Malformed],
    progress: Callable[[int], None] | None = None,
    first_line: int = 1,
) -> Iterator[RawChunk]:
    """The chunks of a JSON Lines stream (see :data:`~tasklife.eventlog.readers.Reader`).

    Once the key types are known, pyarrow parses the next :data:`PARSE_AHEAD` blocks on
    worker threads (it lets go of the GIL) while this one is checked and mapped: the cores
    always have a block to parse.
    """
    schema = _Schema()
    with ThreadPoolExecutor(PARSE_AHEAD, thread_name_prefix="tasklife-parse") as pool:
        pending: collections.deque[Callable[[], Iterator[RawChunk]]] = collections.deque()
        for data, end, _, rows, first in blocks(stream, progress, first_line, _BUFFERS):
            blank = _NOT_BLANK.search(data, 0, end) is None
            parsed = None
            if not blank and schema.explicit is not None:
                parsed = pool.submit(_parse_arrow, data, end, schema.explicit)
            pending.append(
                functools.partial(
                    _finish, data, end, rows, first, blank, parsed, key, bad, name, schema
                )
            )
            if len(pending) > PARSE_AHEAD:
                yield from pending.popleft()()
        while pending:
            yield from pending.popleft()()


def _finish(
    data: bytes | bytearray,
    end: int,
    rows: int,
    first: int,
    blank: bool,
    parsed: Future[pa.Table | None] | None,
    key: int,
    bad: list[Malformed],
    name: str,
    schema: _Schema,
) -> Iterator[RawChunk]:
    if blank:
        return
    chunk = _arrow_chunk(data, end, rows, first, key, bad, name, schema, parsed)
    if chunk is None:
        chunk = object_chunk(_json_lines(bytes(data[:end]), first), key, bad, name)
    if chunk is not None:
        yield chunk


def _parse_arrow(data: bytes | bytearray, end: int, schema: pa.Schema | None) -> pa.Table | None:
    """Parse ``data[:end]`` with pyarrow (no copy): with the source's key types when known,
    inferring the other keys (so a snapshot key shows as a column exactly when present).

    One block, one thread: the :data:`PARSE_AHEAD` workers already keep the cores busy, and
    pyarrow's own threads on top of them cost about a tenth more CPU (and give columns in
    pieces, copied to join them). The default memory pool keeps the pages a parsed block
    gave back for the next one."""
    options = pj.ReadOptions(use_threads=False, block_size=max(end + 1, MIN_PARSE_BLOCK))
    parse = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer")
    buffer = pa.py_buffer(data).slice(0, end)
    try:
        table = pj.read_json(pa.BufferReader(buffer), read_options=options, parse_options=parse)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    for column in ("taskId", "status"):
        # while the block is in this core's cache: a small hash table; the reading thread
        # maps the block's distinct statuses and merges id dictionaries
        i = table.schema.get_field_index(column)
        if i >= 0 and table.schema.field(i).type in _ID_TYPES:
            table = table.set_column(i, column, pc.dictionary_encode(table.column(i)))
    return table


def _parsed_table(
    data: bytes | bytearray,
    end: int,
    schema: _Schema,
    parsed: Future[pa.Table | None] | None,
) -> pa.Table | None:
    """The parsed block (started with the source's key types, or parsed now); the first
    block that parses gives the source's key types."""
    if parsed is not None:
        table = parsed.result()
    elif schema.explicit is not None:
        table = _parse_arrow(data, end, schema.explicit)
    else:
        table = None
    if table is None:
        table = _parse_arrow(data, end, None)
        if table is None:
            return None
        fields = [
            pa.field(k, id_type(table.schema.field(k).type))
            for k in _REQUIRED
            if k in table.column_names
        ]
        if len(fields) == len(_REQUIRED) and all(f.type in _ID_TYPES for f in fields):
            schema.explicit = pa.schema(fields)
    return table


def _arrow_chunk(
    data: bytes | bytearray,
    end: int,
    lines: int,
    first_line: int,
    key: int,
    bad: list[Malformed],
    name: str,
    schema: _Schema,
    parsed: Future[pa.Table | None] | None = None,
) -> RawChunk | None:
    """The chunk of ``data[:end]`` parsed by pyarrow; None when it must be read line by line
    (pyarrow refused it, left out blank lines, or typed a column the events cannot have)."""
    tbl = _parsed_table(data, end, schema, parsed)
    if tbl is None or tbl.num_rows != lines:
        return None
    cols = {n: _whole(tbl.column(n)) for n in tbl.column_names}
    if not _usable_types(cols):
        return None
    n = tbl.num_rows
    good = np.ones(n, dtype=np.bool_)
    for field in _REQUIRED:
        col = cols.get(field)
        if col is not None and col.null_count == 0:
            continue
        missing = (
            np.ones(n, np.bool_)
            if col is None
            else np.asarray(col.is_null().to_numpy(zero_copy_only=False), np.bool_)
        )
        for i in np.flatnonzero(missing & good):
            bad.append(Malformed(name, first_line + int(i), f"missing or null field {field!r}"))
        good &= ~missing
    if not good.any():
        empty = np.zeros(0, np.int64)
        return RawChunk(pa.array([], pa.int64()), pa.array([], pa.string()), empty, empty, None)
    snap = None
    if any(k in cols for k in JSON_SNAPSHOT):
        snap = (
            _stamps(cols.get("taskStartTimeUsecs"), n),
            _stamps(cols.get("taskEndTimeUsecs"), n),
            _errors(cols.get("error"), n),
        )
    chunk = RawChunk(
        cols["taskId"] if "taskId" in cols else pa.nulls(n),
        cols.get("status", pa.nulls(n)),
        _stamps(cols.get("atUsecs"), n),
        line_keys(first_line, n, key),
        snap,
    )
    return select_rows(chunk, good) if not good.all() else chunk


def _usable_types(cols: dict[str, pa.Array]) -> bool:
    """Whether every column pyarrow inferred has a type an event field may have."""
    none = pa.nulls(0)
    return (
        id_type(cols.get("taskId", none).type) in (*_ID_TYPES, pa.null())
        and id_type(cols.get("status", none).type) in (*_ID_TYPES, pa.null())
        and cols.get("atUsecs", none).type in (pa.int64(), pa.null())
        and cols.get("error", none).type in (pa.string(), pa.null())
        and all(cols.get(k, none).type in (pa.int64(), pa.null()) for k in JSON_SNAPSHOT[1:])
    )


def _whole(column: pa.ChunkedArray) -> pa.Array:
    """A column as one array (without a copy when it is one piece, as parsed)."""
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _stamps(col: pa.Array | None, n: int) -> npt.NDArray[np.int64]:
    if col is None or pa.types.is_null(col.type):
        return np.full(n, MISSING, dtype=np.int64)
    if col.null_count:
        col = col.fill_null(MISSING)
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.int64)


def _errors(col: pa.Array | None, n: int) -> npt.NDArray[np.bool_]:
    if col is None or pa.types.is_null(col.type):
        return np.zeros(n, dtype=np.bool_)
    longer = pc.fill_null(pc.greater(pc.utf8_length(col), 0), False)
    return np.asarray(longer.to_numpy(zero_copy_only=False), dtype=np.bool_)


def _json_lines(data: bytes, first_line: int) -> Iterator[tuple[int, object]]:
    for i, raw in enumerate(data.split(b"\n")):
        if not raw.strip():
            continue
        try:
            yield first_line + i, orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            yield first_line + i, BadLine(f"bad JSON: {exc}")
