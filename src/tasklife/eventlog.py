"""Reading event logs (JSON Lines, CSV) into numpy columns, streaming, line by line accountable.

An event is ``{"taskId": <string or integer>, "status": ..., "atUsecs": <integer>}``, optionally
with ``error``, ``taskStartTimeUsecs`` and ``taskEndTimeUsecs`` (JSON Lines), or a CSV row under
the header ``task_id,status,at_usecs[,error,task_start_time_usecs,task_end_time_usecs]``.

Input is read in chunks of whole lines. A JSON Lines chunk is parsed by ``pyarrow.json`` (the
fastest parser measured here, see ``benchmarks/bench_validation.py``); a chunk it cannot take
whole (bad JSON, a wrong type, blank lines) is parsed again line by line with ``orjson``, so
that every malformed line is reported with its number and the good ones are kept. Statuses are
mapped to state indices once per distinct value. Task ids become dense integer codes. When the
ids of a log mix integers and strings they are compared as text.

A source whose events carry a snapshot key (or a CSV with a snapshot column) is a snapshot log:
each of its events is judged as a snapshot, a missing key meaning null.

>>> log = events_from_objects([{"taskId": 7, "status": "Running", "atUsecs": 5},
...                            {"taskId": 7, "status": "Runing", "atUsecs": 6}], COPY_TASK)
>>> log.table.size, log.vocabulary, log.malformed[0].line
(1, 'v2', 2)
"""

from __future__ import annotations

import csv
import io
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Final, cast

import attrs
import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from tasklife.errors import TaskLifeError
from tasklife.lifecycle import COPY_TASK, Lifecycle
from tasklife.validation import accept_status

__all__ = [
    "MISSING",
    "EventLog",
    "EventTable",
    "Malformed",
    "RawChunk",
    "UnusableInput",
    "events_from_objects",
    "format_of",
    "iter_chunks",
    "read_events",
    "status_codes",
]

MISSING: Final = np.iinfo(np.int64).min
"""The value of an absent time stamp in the int64 columns."""
CHUNK_BYTES: Final = 8 << 20
LINE_BITS: Final = 40
"""A line key is ``source index << LINE_BITS | line number``: sorts in file order."""
CSV_COLUMNS: Final = ("task_id", "status", "at_usecs")
CSV_SNAPSHOT: Final = ("error", "task_start_time_usecs", "task_end_time_usecs")
JSON_SNAPSHOT: Final = ("error", "taskStartTimeUsecs", "taskEndTimeUsecs")

Progress = Callable[[int], None]
"""Called with the number of bytes just read."""


class UnusableInput(TaskLifeError, ValueError):
    """An input that cannot be read at all: missing file, unknown format, bad CSV header."""


@attrs.frozen
class Malformed:
    """A line that holds no usable event, and why (``kind``: malformed or unknown-status)."""

    file: str
    line: int
    reason: str
    kind: str = "malformed"

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen(eq=False)
class EventTable:
    """Events as parallel numpy columns, in reading order.

    ``status`` holds state indices of the lifecycle; ``task`` dense codes into ``task_ids``;
    ``line`` the line key (see :data:`LINE_BITS`). The snapshot columns are None when no
    source is a snapshot log; ``start``/``end`` hold :data:`MISSING` for null.
    """

    task: npt.NDArray[np.integer[Any]]
    status: npt.NDArray[np.int8]
    at: npt.NDArray[np.int64]
    line: npt.NDArray[np.int64]
    task_ids: Sequence[Any]
    snapshot: npt.NDArray[np.bool_] | None = None
    start: npt.NDArray[np.int64] | None = None
    end: npt.NDArray[np.int64] | None = None
    error: npt.NDArray[np.bool_] | None = None

    @property
    def size(self) -> int:
        return len(self.status)

    def task_id(self, code: int) -> Any:
        """The task id behind a task code, as the input spelled it."""
        tid = self.task_ids[code]
        return tid.as_py() if isinstance(tid, pa.Scalar) else tid


@attrs.frozen(eq=False)
class EventLog:
    """A read log: the event table, the malformed lines, the sources and their vocabulary."""

    table: EventTable
    malformed: tuple[Malformed, ...]
    sources: tuple[str, ...]
    vocabulary: str
    lines: int
    """Non-blank lines read (events plus malformed lines)."""

    def where(self, key: int) -> tuple[str, int]:
        """``(file, line)`` of a line key."""
        return self.sources[key >> LINE_BITS], key & ((1 << LINE_BITS) - 1)


# -- chunks -----------------------------------------------------------------------------------


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
    return np.asarray(col.fill_null(MISSING).to_numpy(zero_copy_only=False), dtype=np.int64)


def _errors(col: pa.Array | None, n: int) -> npt.NDArray[np.bool_]:
    if col is None or pa.types.is_null(col.type):
        return np.zeros(n, dtype=np.bool_)
    return np.asarray(pc.fill_null(pc.greater(pc.utf8_length(col), 0), False), dtype=np.bool_)


_ID_TYPES = (pa.string(), pa.int64())


def _arrow_chunk(
    data: bytes, first_line: int, key: int, bad: list[Malformed], name: str
) -> RawChunk | None:
    """Parse a chunk with pyarrow; None when it must be read line by line."""
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    try:
        tbl = pj.read_json(
            io.BytesIO(data),
            read_options=pj.ReadOptions(use_threads=True, block_size=max(len(data) // 2, 1 << 20)),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if tbl.num_rows != lines:
        return None
    cols = {n: tbl.column(n).combine_chunks() for n in tbl.column_names}
    ok = (
        cols.get("taskId", pa.nulls(0)).type in (*_ID_TYPES, pa.null())
        and cols.get("status", pa.nulls(0)).type in (*_ID_TYPES, pa.null())
        and cols.get("atUsecs", pa.nulls(0)).type in (pa.int64(), pa.null())
        and cols.get("error", pa.nulls(0)).type in (pa.string(), pa.null())
        and all(cols.get(k, pa.nulls(0)).type in (pa.int64(), pa.null()) for k in JSON_SNAPSHOT[1:])
    )
    if not ok:
        return None
    n = tbl.num_rows
    good = np.ones(n, dtype=np.bool_)
    for field in ("taskId", "status", "atUsecs"):
        col = cols.get(field)
        missing = np.ones(n, np.bool_) if col is None else np.asarray(col.is_null(), np.bool_)
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
    return _select(chunk, good) if not good.all() else chunk


def _select(chunk: RawChunk, keep: npt.NDArray[np.bool_]) -> RawChunk:
    mask = pa.array(keep)
    snap = (
        None
        if chunk.snap is None
        else (chunk.snap[0][keep], chunk.snap[1][keep], chunk.snap[2][keep])
    )
    return RawChunk(
        chunk.task.filter(mask),
        chunk.raw_status.filter(mask),
        chunk.at[keep],
        chunk.line[keep],
        snap,
    )


def _required(field: str, value: Any, types: tuple[type, ...], what: str) -> str | None:
    """Why a required field's value is unusable, or None."""
    if value is None:
        return f"missing or null field {field!r}"
    if isinstance(value, bool) or not isinstance(value, types):
        return f"field {field!r} must be {what}, got {value!r}"
    return None


def _int_or_none(obj: Mapping[str, Any], field: str) -> tuple[bool, int | None]:
    v = obj.get(field)
    if v is None:
        return True, None
    return (isinstance(v, int) and not isinstance(v, bool)), v


def _object_chunk(
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
            _required(id_field, tid, (str, int), "a string or an integer")
            or _required(status_field, status, (str, int), "a status name or code")
            or _required(at_field, at, (int,), "an integer")
        )
        stamps = []
        for field in snapshot_fields[1:]:
            good, v = _int_or_none(obj, field)
            if problem is None and not good:
                problem = f"field {field!r} must be an integer or null, got {v!r}"
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


def _read_jsonl(
    stream: IO[bytes],
    key: int,
    name: str,
    bad: list[Malformed],
    progress: Progress | None,
    line: int = 1,
) -> Iterator[RawChunk]:
    rest = b""
    while True:
        block = stream.read(CHUNK_BYTES)
        if progress is not None and block:
            progress(len(block))
        data = rest + block
        if block:
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                rest = data
                continue
            data, rest = data[:cut], data[cut:]
        if not data:
            return
        body = data[:-1] if data.endswith(b"\n") else data
        chunk = _arrow_chunk(body, line, key, bad, name) if body.strip() else None
        if chunk is None and body.strip():
            chunk = _object_chunk(_json_lines(body, line), key, bad, name)
        if chunk is not None:
            yield chunk
        line += data.count(b"\n")
        if not block:
            return


def _read_csv(
    stream: IO[bytes],
    key: int,
    name: str,
    bad: list[Malformed],
    progress: Progress | None,
    line: int = 1,
) -> Iterator[RawChunk]:
    offset = line - 1
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
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
        chunk = _object_chunk(batch, key, bad, name, CSV_SNAPSHOT, "task_id", "status", "at_usecs")
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


# -- sources ----------------------------------------------------------------------------------


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
    """``jsonl`` or ``csv``, from the file name's extension or else its first bytes."""
    suffix = Path(name).suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    first = head.lstrip()[:1]
    if first == b"{":
        return "jsonl"
    if head.split(b"\n", 1)[0].replace(b" ", b"").startswith(b"task_id,"):
        return "csv"
    raise UnusableInput(f"{name}: unknown format: neither JSON Lines (.jsonl) nor CSV (.csv)")


def _open(source: str | os.PathLike[str] | IO[bytes]) -> tuple[str, IO[bytes]]:
    if not isinstance(source, str | os.PathLike):
        return getattr(source, "name", "<stream>"), source
    if str(source) == "-":
        return "<stdin>", sys.stdin.buffer
    try:
        return str(source), open(source, "rb")
    except OSError as exc:
        raise UnusableInput(f"{source}: cannot read: {exc.strerror or exc}") from None


def read_events(
    sources: Sequence[str | os.PathLike[str] | IO[bytes]],
    lifecycle: Lifecycle = COPY_TASK,
    *,
    vocabulary: str = "auto",
    progress: Progress | None = None,
) -> EventLog:
    """Read event logs (paths, ``-`` for stdin, or binary streams) into one :class:`EventLog`.

    Raises :class:`UnusableInput` when a source cannot be read at all; a bad line is recorded
    in ``malformed`` and the rest is kept.

    >>> read_events(["missing.jsonl"])
    Traceback (most recent call last):
    tasklife.eventlog.UnusableInput: missing.jsonl: cannot read: No such file or directory
    """
    bad: list[Malformed] = []
    chunks: list[tuple[int, RawChunk]] = []
    names: list[str] = []
    snapshot_sources: set[int] = set()
    for key, source in enumerate(sources):
        name, stream = _open(source)
        names.append(name)
        try:
            buffered = (
                stream
                if isinstance(stream, io.BufferedReader)
                else io.BufferedReader(cast(Any, stream))
            )
            fmt = format_of(name, buffered.peek(4096)[:4096])
            for chunk in iter_chunks(buffered, fmt, key, name, bad, progress=progress):
                if chunk.snap is not None:
                    snapshot_sources.add(key)
                chunks.append((key, chunk))
        finally:
            if stream is not sys.stdin.buffer and isinstance(source, str | os.PathLike):
                stream.close()
    return _assemble(chunks, bad, names, snapshot_sources, lifecycle, vocabulary)


def events_from_objects(
    events: Iterable[Mapping[str, Any]],
    lifecycle: Lifecycle = COPY_TASK,
    *,
    vocabulary: str = "auto",
    name: str = "<events>",
) -> EventLog:
    """An :class:`EventLog` from event dicts (line ``n`` is the ``n``-th event, from 1).

    >>> events_from_objects([{"taskId": "a", "status": 1, "atUsecs": 0}]).vocabulary
    'code'
    """
    bad: list[Malformed] = []
    chunk = _object_chunk(enumerate(events, start=1), 0, bad, name)
    chunks = [] if chunk is None else [(0, chunk)]
    snap = {0} if chunk is not None and chunk.snap is not None else set()
    return _assemble(chunks, bad, [name], snap, lifecycle, vocabulary)


def _assemble(
    chunks: list[tuple[int, RawChunk]],
    bad: list[Malformed],
    names: list[str],
    snapshot_sources: set[int],
    lifecycle: Lifecycle,
    vocabulary: str,
) -> EventLog:
    statuses: list[npt.NDArray[np.int8]] = []
    keep: list[npt.NDArray[np.bool_]] = []
    detected: str | None = None
    for _, chunk in chunks:
        codes, vocab = status_codes(chunk, lifecycle, vocabulary, bad, names)
        detected = detected or vocab
        statuses.append(codes)
        keep.append(codes >= 0)
    status = _concat(statuses, np.int8)
    good = _concat(keep, np.bool_)
    line = _concat([c.line for _, c in chunks], np.int64)
    at = _concat([c.at for _, c in chunks], np.int64)
    ids = [c.task for _, c in chunks]
    if any(pa.types.is_string(a.type) for a in ids):
        ids = [a.cast(pa.string()) for a in ids]
    task_ids: Sequence[Any]
    if ids:
        encoded = pc.dictionary_encode(pa.chunked_array(ids).combine_chunks())
        task = np.asarray(encoded.indices.to_numpy(zero_copy_only=False))
        task_ids = encoded.dictionary
    else:
        task, task_ids = np.zeros(0, np.int32), []
    snap_cols: dict[str, Any] = {}
    if snapshot_sources:
        n = len(line)
        parts = [
            c.snap
            if c.snap is not None
            else (
                np.full(len(c.at), MISSING, np.int64),
                np.full(len(c.at), MISSING, np.int64),
                np.zeros(len(c.at), np.bool_),
            )
            for _, c in chunks
        ]
        snap_cols["start"] = _concat([p[0] for p in parts], np.int64)
        snap_cols["end"] = _concat([p[1] for p in parts], np.int64)
        snap_cols["error"] = _concat([p[2] for p in parts], np.bool_)
        source_of = line >> LINE_BITS
        snap_cols["snapshot"] = (
            np.isin(source_of, sorted(snapshot_sources)) if n else np.zeros(0, np.bool_)
        )
    if not good.all():
        snap_cols = {k: v[good] for k, v in snap_cols.items()}
        status, line, at, task = status[good], line[good], at[good], task[good]
    table = EventTable(task, status, at, line, task_ids, **snap_cols)
    bad.sort(key=lambda m: (names.index(m.file) if m.file in names else 0, m.line))
    lines = len(bad) + table.size
    return EventLog(
        table,
        tuple(bad),
        tuple(names),
        detected or (vocabulary if vocabulary != "auto" else "v1"),
        lines,
    )


def _concat(parts: list[Any], dtype: Any) -> Any:
    return np.concatenate(parts) if parts else np.zeros(0, dtype)


def status_codes(
    chunk: RawChunk, lc: Lifecycle, vocabulary: str, bad: list[Malformed], names: list[str]
) -> tuple[npt.NDArray[np.int8], str | None]:
    """State indices of a chunk's statuses (-1 where unknown, recorded in ``bad``), and the
    vocabulary of its first known status."""
    encoded = pc.dictionary_encode(chunk.raw_status)
    values = encoded.dictionary.to_pylist()
    lookup = np.full(len(values) + 1, -1, np.int8)
    reasons: dict[int, str] = {}
    for i, v in enumerate(values):
        state, reason = accept_status(lc, v, vocabulary)
        if state is None:
            reasons[i] = reason or ""
        else:
            lookup[i] = lc.index[state]
    idx = np.asarray(encoded.indices.to_numpy(zero_copy_only=False))
    codes = lookup[idx]
    for row in np.flatnonzero(codes < 0):
        key = int(chunk.line[row])
        bad.append(
            Malformed(
                names[key >> LINE_BITS],
                key & ((1 << LINE_BITS) - 1),
                reasons[int(idx[row])],
                "unknown-status",
            )
        )
    known = np.flatnonzero(codes >= 0)
    vocab = lc.vocabulary(values[int(idx[known[0]])]) if len(known) else None
    return codes, vocab
