"""Event log formats: JSON Lines and CSV read in chunks of whole lines, into columns.

An event is ``{"taskId": <string or integer>, "status": ..., "atUsecs": <integer>}``, optionally
with ``error``, ``taskStartTimeUsecs`` and ``taskEndTimeUsecs`` (JSON Lines), or a CSV row under
the header ``task_id,status,at_usecs[,error,task_start_time_usecs,task_end_time_usecs]``.

A JSON Lines chunk is parsed by ``pyarrow.json`` (the fastest parser measured here, see
``benchmarks/bench_validation.py``) on a worker thread, which also dictionary-encodes its task
ids and statuses; a chunk it cannot take whole (bad JSON, a wrong type, blank lines) is parsed
again line by line with ``orjson``, so that every malformed line is reported with its number
and the good ones are kept. :mod:`tasklife.eventlog` joins the chunks into one event table.

>>> chunk = next(iter_chunks(io.BytesIO(b'{"taskId": 7, "status": "kRunning", "atUsecs": 5}'),
...                          "jsonl", 0, "<bytes>", []))
>>> chunk.raw_status.dictionary.to_pylist(), chunk.at.tolist(), chunk.line.tolist()
(['kRunning'], [5], [1])
"""

from __future__ import annotations

import codecs
import collections
import csv
import functools
import gzip
import io
import os
import re
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, Final, cast

import attrs
import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from tasklife.errors import UnusableInput

__all__ = [
    "LINE_BITS",
    "MISSING",
    "Malformed",
    "Progress",
    "RawChunk",
    "format_of",
    "id_type",
    "is_gzip",
    "iter_chunks",
    "object_chunk",
    "open_source",
    "readable",
    "select_rows",
]

MISSING: Final = np.iinfo(np.int64).min
"""The value of an absent time stamp in the int64 columns."""
CHUNK_BYTES: Final = 16 << 20
PARSE_AHEAD: Final = 2
"""JSON Lines chunks being parsed while the one before them is checked."""
LINE_BITS: Final = 40
"""A line key is ``source index << LINE_BITS | line number``: sorts in file order."""
CSV_COLUMNS: Final = ("task_id", "status", "at_usecs")
CSV_SNAPSHOT: Final = ("error", "task_start_time_usecs", "task_end_time_usecs")
JSON_SNAPSHOT: Final = ("error", "taskStartTimeUsecs", "taskEndTimeUsecs")

Progress = Callable[[int], None]
"""Called with the number of bytes just read."""


@attrs.frozen
class Malformed:
    """A line that holds no usable event, and why (``kind``: malformed or unknown-status).

    >>> Malformed("log.jsonl", 3, "bad JSON: unexpected character").to_dictionary()["line"]
    3
    """

    file: str
    line: int
    reason: str
    kind: str = "malformed"

    def to_dictionary(self) -> dict[str, Any]:
        return attrs.asdict(self)


# -- chunks of one source ----------------------------------------------------------------------


@attrs.define
class RawChunk:
    """The well-formed events of one chunk of one source, statuses as read (not yet mapped)."""

    task: pa.Array
    raw_status: pa.Array
    at: npt.NDArray[np.int64]
    line: npt.NDArray[np.int64]
    snap: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.bool_]] | None


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


_ID_TYPES = (pa.string(), pa.int64())
_REQUIRED = ("taskId", "status", "atUsecs")
_NOT_BLANK = re.compile(rb"\S")


@attrs.define
class _Schema:
    """The key types a JSON Lines source showed in its first chunk, reused to parse faster."""

    explicit: pa.Schema | None = None


def _parse_arrow(data: bytes | bytearray, end: int, schema: pa.Schema | None) -> pa.Table | None:
    """Parse ``data[:end]`` with pyarrow (no copy): with the source's key types when known,
    inferring the other keys (so a snapshot key shows as a column exactly when present).

    One block, one thread: the :data:`PARSE_AHEAD` workers already keep the cores busy, and
    pyarrow's own threads on top of them cost about a tenth more CPU (and give columns in
    pieces, copied to join them). The default memory pool keeps the pages a parsed chunk
    gave back for the next one."""
    options = pj.ReadOptions(use_threads=False, block_size=max(end + 1, 1 << 20))
    parse = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer")
    buffer = pa.py_buffer(data).slice(0, end)
    try:
        table = pj.read_json(pa.BufferReader(buffer), read_options=options, parse_options=parse)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    for name in ("taskId", "status"):
        # while the chunk is in this core's cache: a small hash table; the reading thread
        # maps the chunk's distinct statuses and merges id dictionaries (see _TaskIds)
        i = table.schema.get_field_index(name)
        if i >= 0 and table.schema.field(i).type in _ID_TYPES:
            table = table.set_column(i, name, pc.dictionary_encode(table.column(i)))
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
    """Parse ``data[:end]`` with pyarrow (or take the ``parsed`` result, started with the
    source's key types); None when it must be read line by line."""
    if parsed is not None:
        tbl = parsed.result()
    elif schema.explicit is not None:
        tbl = _parse_arrow(data, end, schema.explicit)
    else:
        tbl = None
    if tbl is None:
        tbl = _parse_arrow(data, end, None)
        if tbl is None:
            return None
        fields = [
            pa.field(k, id_type(tbl.schema.field(k).type))
            for k in _REQUIRED
            if k in tbl.column_names
        ]
        if len(fields) == len(_REQUIRED) and all(f.type in _ID_TYPES for f in fields):
            schema.explicit = pa.schema(fields)
    if tbl.num_rows != lines:
        return None
    cols = {n: _whole(tbl.column(n)) for n in tbl.column_names}
    ok = (
        id_type(cols.get("taskId", pa.nulls(0)).type) in (*_ID_TYPES, pa.null())
        and id_type(cols.get("status", pa.nulls(0)).type) in (*_ID_TYPES, pa.null())
        and cols.get("atUsecs", pa.nulls(0)).type in (pa.int64(), pa.null())
        and cols.get("error", pa.nulls(0)).type in (pa.string(), pa.null())
        and all(cols.get(k, pa.nulls(0)).type in (pa.int64(), pa.null()) for k in JSON_SNAPSHOT[1:])
    )
    if not ok:
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
        return RawChunk(
            pa.array([], pa.int64()),
            pa.array([], pa.string()),
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
            None,
        )
    lines_arr = np.arange(first_line, first_line + n, dtype=np.int64) | (key << LINE_BITS)
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
        lines_arr,
        snap,
    )
    return select_rows(chunk, good) if not good.all() else chunk


def id_type(type_: pa.DataType) -> pa.DataType:
    """The type of the ids, dictionary-encoded or not.

    >>> id_type(pa.dictionary(pa.int32(), pa.int64()))
    DataType(int64)
    """
    return type_.value_type if pa.types.is_dictionary(type_) else type_


def _whole(column: pa.ChunkedArray) -> pa.Array:
    """A column as one array (without a copy when it is one piece, as parsed)."""
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def select_rows(chunk: RawChunk, keep: npt.NDArray[np.bool_]) -> RawChunk:
    """The rows of ``chunk`` to ``keep`` (dictionary-encoded ids: only the kept ones)."""
    mask = pa.array(keep)
    task = chunk.task.filter(mask)
    if pa.types.is_dictionary(task.type):
        task = pc.dictionary_encode(task.dictionary_decode())
    snap = (
        None
        if chunk.snap is None
        else (chunk.snap[0][keep], chunk.snap[1][keep], chunk.snap[2][keep])
    )
    return RawChunk(
        task,
        chunk.raw_status.filter(mask),
        chunk.at[keep],
        chunk.line[keep],
        snap,
    )


def _required(field: str, value: Any, types: tuple[type, ...], what: str) -> str | None:
    """Why a required field's value is unusable, or None."""
    if value is None:
        return f"missing or null field {field!r}"
    if isinstance(value, bool) or not isinstance(value, types) or not _fits(value):
        return f"field {field!r} must be {what}, got {value!r}"
    return None


def _fits(value: Any) -> bool:
    """Whether a JSON value fits its column (integers are 64-bit)."""
    return not isinstance(value, int) or -(1 << 63) < value < (1 << 63)


def _int_or_none(obj: Mapping[str, Any], field: str) -> tuple[bool, int | None]:
    v = obj.get(field)
    if v is None:
        return True, None
    return (isinstance(v, int) and not isinstance(v, bool) and _fits(v)), v


def object_chunk(
    objects: Iterable[tuple[int, Any]],
    key: int,
    bad: list[Malformed],
    name: str,
    snapshot_fields: Sequence[str] = JSON_SNAPSHOT,
    id_field: str = "taskId",
    status_field: str = "status",
    at_field: str = "atUsecs",
) -> RawChunk | None:
    """Check parsed objects one by one; ``objects`` yields ``(line, object)``."""
    tasks: list[Any] = []
    statuses: list[Any] = []
    ats: list[int] = []
    lines: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    errors: list[bool] = []
    any_snap = False
    for line, obj in objects:
        if isinstance(obj, _BadJson):
            bad.append(Malformed(name, line, obj.reason))
            continue
        if not isinstance(obj, Mapping):
            bad.append(Malformed(name, line, f"not a JSON object: {obj!r:.60}"))
            continue
        tid, status, at = obj.get(id_field), obj.get(status_field), obj.get(at_field)
        problem = (
            _required(id_field, tid, (str, int), "a string or a 64-bit integer")
            or _required(status_field, status, (str, int), "a status name or code")
            or _required(at_field, at, (int,), "a 64-bit integer")
        )
        stamps = []
        for field in snapshot_fields[1:]:
            good, v = _int_or_none(obj, field)
            if problem is None and not good:
                problem = f"field {field!r} must be a 64-bit integer or null, got {v!r}"
            stamps.append(MISSING if v is None or not good else v)
        err = obj.get(snapshot_fields[0])
        if problem is None and err is not None and not isinstance(err, str):
            problem = f"field {snapshot_fields[0]!r} must be a string or null, got {err!r}"
        if problem is not None:
            bad.append(Malformed(name, line, problem))
            continue
        any_snap = any_snap or any(k in obj for k in snapshot_fields)
        tasks.append(tid)
        statuses.append(status)
        ats.append(at)  # type: ignore[arg-type]
        lines.append(line)
        starts.append(stamps[0])
        ends.append(stamps[1])
        errors.append(bool(err))
    if not tasks:
        return None
    snap = None
    if any_snap:
        snap = (np.array(starts, np.int64), np.array(ends, np.int64), np.array(errors, np.bool_))
    return RawChunk(
        _id_array(tasks),
        _id_array(statuses),
        np.array(ats, np.int64),
        np.array(lines, np.int64) | (key << LINE_BITS),
        snap,
    )


def _id_array(values: list[Any]) -> pa.Array:
    """Ints stay ints; a mix of ints and strings becomes strings."""
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([str(v) for v in values], pa.string())


def _json_lines(data: bytes, first_line: int) -> Iterator[tuple[int, Any]]:
    for i, raw in enumerate(data.split(b"\n")):
        if not raw.strip():
            continue
        try:
            yield first_line + i, orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            yield first_line + i, _BadJson(f"bad JSON: {exc}")


@attrs.frozen
class _BadJson:
    reason: str


def _blocks(
    stream: IO[bytes], progress: Progress | None, line: int, buffers: int = 3
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
    turn = 0  # the buffer of the next block: the last two yielded may still be in use
    while True:
        data = ring[turn]
        need = len(rest) + CHUNK_BYTES
        if len(data) < need:
            data = ring[turn] = bytearray(need + CHUNK_BYTES // 8)  # room for the next rests
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
            np.equal(np.frombuffer(data, np.uint8, cut), 10, out=newline[:cut])
            lines = int(np.count_nonzero(newline[:cut]))
            end = cut - 1 if data[cut - 1] == 10 else cut  # without the last line's newline
            yield data, end, lines, lines + (end == cut), line
            line += lines
            turn = (turn + 1) % len(ring)
        if not got:
            return


def _read_jsonl(
    stream: IO[bytes],
    key: int,
    name: str,
    bad: list[Malformed],
    progress: Progress | None,
    line: int = 1,
) -> Iterator[RawChunk]:
    """JSON Lines chunks; once the key types are known, pyarrow parses the next
    :data:`PARSE_AHEAD` chunks on worker threads (it lets go of the GIL) while this one is
    checked and mapped: the cores always have a block to parse."""
    schema = _Schema()
    with ThreadPoolExecutor(PARSE_AHEAD, thread_name_prefix="tasklife-parse") as pool:
        pending: collections.deque[Callable[[], Iterator[RawChunk]]] = collections.deque()
        for data, end, _, rows, first in _blocks(stream, progress, line, PARSE_AHEAD + 2):
            blank = _NOT_BLANK.search(data, 0, end) is None
            parsed = None
            if not blank and schema.explicit is not None:
                parsed = pool.submit(_parse_arrow, data, end, schema.explicit)
            pending.append(
                functools.partial(
                    _finish_jsonl, data, end, rows, first, blank, parsed, key, bad, name, schema
                )
            )
            if len(pending) > PARSE_AHEAD:
                yield from pending.popleft()()
        while pending:
            yield from pending.popleft()()


def _finish_jsonl(
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


def _read_csv(
    stream: IO[bytes],
    key: int,
    name: str,
    bad: list[Malformed],
    progress: Progress | None,
    line: int = 1,
) -> Iterator[RawChunk]:
    offset = line - 1
    # utf-8-sig: a byte order mark (spreadsheet exports write one) is not part of the header
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    reader = csv.reader(text)
    header = next(reader, None)
    missing = [c for c in CSV_COLUMNS if c not in (header or [])]
    if header is None or missing:
        raise UnusableInput(
            f"{name}: CSV header must name {', '.join(CSV_COLUMNS)} "
            f"(missing {', '.join(missing)}; got {header!r})"
        )
    pos = {c: header.index(c) for c in (*CSV_COLUMNS, *CSV_SNAPSHOT) if c in header}
    snap_cols = [c for c in CSV_SNAPSHOT if c in pos]

    def rows() -> Iterator[tuple[int, Any]]:
        for row in reader:
            line = reader.line_num + offset
            if not row:
                continue
            if len(row) != len(header):
                yield line, _BadJson(f"{len(row)} fields, the header has {len(header)}")
                continue
            obj: dict[str, Any] = {c: row[i] for c, i in pos.items()}
            for c in ("at_usecs", *CSV_SNAPSHOT[1:]):
                if c in obj:
                    obj[c] = _csv_int(obj[c])
            status = obj["status"]
            if status.isdigit():
                obj["status"] = int(status)
            if "error" in obj and obj["error"] == "":
                obj["error"] = None
            if obj["task_id"] == "":
                obj["task_id"] = None
            if not snap_cols:
                obj.pop("error", None)
            yield line, obj

    it = rows()
    while True:
        batch = [r for _, r in zip(range(1 << 16), it, strict=False)]
        if not batch:
            return
        chunk = object_chunk(batch, key, bad, name, CSV_SNAPSHOT, "task_id", "status", "at_usecs")
        if chunk is not None:
            if snap_cols and chunk.snap is None:
                n = len(chunk.at)
                chunk.snap = (
                    np.full(n, MISSING, np.int64),
                    np.full(n, MISSING, np.int64),
                    np.zeros(n, np.bool_),
                )
            yield chunk
        if progress is not None:
            progress(0)


def _csv_int(text: str) -> int | str | None:
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        return text


# -- sources -----------------------------------------------------------------------------------


def iter_chunks(
    stream: IO[bytes],
    fmt: str,
    key: int,
    name: str,
    bad: list[Malformed],
    *,
    progress: Progress | None = None,
    first_line: int = 1,
) -> Iterator[RawChunk]:
    """The chunks of source number ``key`` in format ``fmt`` (``jsonl``/``csv``); bad lines go
    to ``bad``. ``first_line`` numbers the stream's first line (a JSON Lines block read alone).
    """
    reader = _read_jsonl if fmt == "jsonl" else _read_csv
    return reader(stream, key, name, bad, progress, first_line)


def format_of(name: str, head: bytes) -> str:
    """``jsonl`` or ``csv``, from the file name's extension or else its first bytes.

    >>> format_of("run.csv", b""), format_of("run.log", b'{"taskId": 1}')
    ('csv', 'jsonl')
    """
    suffix = Path(name).suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    head = head.removeprefix(codecs.BOM_UTF8)
    if not head.strip() or any(line.lstrip().startswith(b"{") for line in head.splitlines()):
        return "jsonl"  # an object on some line (the first ones may be malformed), or empty
    if head.split(b"\n", 1)[0].replace(b" ", b"").startswith(b"task_id,"):
        return "csv"
    raise UnusableInput(f"{name}: unknown format: neither JSON Lines (.jsonl) nor CSV (.csv)")


GZIP_MAGIC: Final = b"\x1f\x8b"


def is_gzip(head: bytes) -> bool:
    """Whether bytes read from a source's start begin a gzip stream (its magic bytes).

    >>> is_gzip(b"\\x1f\\x8b\\x08"), is_gzip(b'{"taskId": 1}')
    (True, False)
    """
    return head[:2] == GZIP_MAGIC


def readable(
    name: str, stream: IO[bytes], progress: Progress | None = None
) -> tuple[str, io.BufferedReader, Progress | None]:
    """``(name for format_of, buffered stream, progress)`` of a source: gzip content (found
    by its magic bytes, whatever the name) is decompressed as it is read, its name for the
    format loses ``.gz``, and ``progress`` then counts compressed bytes, like the file size.

    >>> import gzip
    >>> name, data, _ = readable("a.jsonl.gz", io.BytesIO(gzip.compress(b'{"taskId": 1}')))
    >>> name, data.read()
    ('a.jsonl', b'{"taskId": 1}')
    """
    buffered = (
        stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(cast(Any, stream))
    )
    if not is_gzip(buffered.peek(2)):
        return name, buffered, progress
    inner = name[:-3] if name.lower().endswith(".gz") else name
    compressed = buffered if progress is None else _Counted(buffered, progress)
    return inner, io.BufferedReader(_Gunzip(compressed, name)), None


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


def open_source(source: str | os.PathLike[str] | IO[bytes]) -> tuple[str, IO[bytes]]:
    """``(name, binary stream)`` of a path, ``-`` (standard input) or an open binary stream;
    a path that cannot be opened is :class:`UnusableInput`.

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
