"""DuckDB reads JSON Lines for the fast engine, and proves it read them as the reference
would; whatever it cannot vouch for is read by the reference (:mod:`tasklife.eventlog.lines`).

Theory of operation
-------------------
No columnar parser can be trusted alone (issue 14's research: DuckDB turns ``"5"`` into 5,
5.5 into 6, ``true`` into 1; accepts ``NaN``, trailing commas, any depth, a BOM; errors on a
duplicate key; gives wrong line numbers in its errors). So:

1. **Raw JSON in, canonical values out.** The three required keys are read as raw JSON
   (type ``JSON``: no coercion); SQL keeps an id only when it is a string (unquoted when it
   has no escape) or a 64-bit integer (as its canonical text), a time only when it is a
   64-bit integer literal, and casts the raw status to an ENUM of every accepted spelling as
   raw JSON (``"kRunning"``, ``"Running"``, ``1``): a code stays a code and a name a name.
   DuckDB also returns ``hash(id)``, a 32-bit second hash, and the line's width in compact
   form.
2. **Guards.** A query that fails (bad JSON, invalid UTF-8, a duplicate key, a line over
   :data:`MAX_OBJECT_BYTES`), or whose rows are not the lines (blank lines), hands its
   bytes to the reference. A row with a NULL (an odd type, an unknown status) is read by the
   reference from its line. **Byte accounting**: the compact widths, the newlines and the
   whitespace between tokens must add up to the bytes read; anything else on a line (an
   extra key such as ``attempt`` or a snapshot key, ``NaN``, a trailing comma, deep nesting)
   breaks the sum, and the reference reads those lines.
3. **Whole file first.** A regular, uncompressed file is one streaming query over its path
   (rows in file order, so row ``i`` is line ``i + 1`` when the accounting holds); at the
   first doubt the caller reads it again in blocks (through a memory file), where doubts are
   local: a failing block is halved down to :data:`MIN_BISECT_BYTES` before the reference
   reads it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Final

import attrs
import duckdb
import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from tasklife.eventlog.arrays import indices, strings
from tasklife.eventlog.statuses import StatusMap

__all__ = ["BATCH_ROWS", "MAX_OBJECT_BYTES", "MIN_BISECT_BYTES", "Batch", "DuckReader"]

MAX_OBJECT_BYTES: Final = 16 << 20
"""The longest line DuckDB is asked to take (``maximum_object_size``): it allocates two
buffers of this size per thread, so 64 MB would cost 256 MB on two cores; a longer line
fails its block, and the reference reads it (or skips it, over the line limit)."""
MIN_BISECT_BYTES: Final = 64 << 10
"""A failing block is halved down to this size before the reference reads it: a log with
one bad line per block then still runs at DuckDB's speed."""
PROBE_BYTES: Final = 1 << 20
"""How much of a file :meth:`DuckReader.probe` reads: thousands of lines."""
BATCH_ROWS: Final = 1 << 20
"""Rows per Arrow batch fetched from the whole-file query."""
DUCKDB_MEMORY: Final = "256MB"
"""DuckDB's own budget while it parses (the query streams: this bounds the reader)."""
_COMPACT: Final = len('{"taskId":,"status":,"atUsecs":}')
_MISSING_TEXT: Final = "'-9223372036854775808'"
"""The tables' missing-time sentinel as SQL text: never a time or an id SQL vouches for."""
_WHITESPACE: Final = (b" ", b"\t", b"\r")
_VOCABULARIES: Final = ("v1", "v2", "code")


@attrs.frozen(eq=False)
class Batch:
    """Rows DuckDB vouched for: numpy ``columns`` (``h``, ``h2``, ``state``, ``at``,
    ``line``), the id texts (a view into DuckDB's batch, until the partitions copy them),
    whether any id was an integer or a string, and the vocabularies of their statuses."""

    columns: dict[str, Any]
    ids: pa.Array
    int_ids: bool
    str_ids: bool
    vocabularies: frozenset[str]


Emit = Callable[[Batch], None]
"""``emit(batch)``: keep rows DuckDB vouched for."""
Refer = Callable[[int, bytes], None]
"""``refer(line, raw bytes)``: a line for the reference to read."""


def _query(path: str) -> str:
    src = (
        f"read_json('{path}', format='newline_delimited', maximum_object_size="
        f"{MAX_OBJECT_BYTES}, columns={{taskId: 'JSON', status: 'JSON', atUsecs: 'JSON'}})"
    )
    # A raw number is a 64-bit integer literal when it is the canonical text of its BIGINT
    # cast (no '.', no exponent, in range): one cast and a compare per value.
    return f"""
    select hash(tid) h, (hash(tid, 1) & 4294967295)::UINTEGER h2, tid, int_id, sc,
           case when at_cast::VARCHAR = a and a <> {_MISSING_TEXT} then at_cast end as "at",
           width
    from (
        select
            case when quoted then nullif(
                     case when contains(t, '\\') then (t::JSON)->>'$'
                          else substring(t, 2, strlen(t) - 2) end, '')
                 when try_cast(t as BIGINT)::VARCHAR = t and t <> {_MISSING_TEXT} then t
            end as tid,
            not quoted as int_id,
            try_cast(s as status_spelling) as sc,
            try_cast(a as BIGINT) as at_cast, a,
            strlen(t) + strlen(s) + strlen(a) + {_COMPACT} as width
        from (
            select starts_with(t, '"') as quoted, t, s, a
            from (select taskId::VARCHAR t, status::VARCHAR s, atUsecs::VARCHAR a from {src})
        )
    )"""


def _csv_query(path: str, header: list[str]) -> str:
    """The CSV rules of :mod:`tasklife.eventlog.csvlog` in SQL, over all-text columns."""
    columns = ", ".join(f"'{c}': 'VARCHAR'" for c in header)
    src = (
        f"read_csv('{path}', header=true, auto_detect=false, delim=',', quote='\"', "
        f"escape='\"', columns={{{columns}}})"
    )
    return f"""
    select hash(tid) h, (hash(tid, 1) & 4294967295)::UINTEGER h2, tid, false as int_id,
           sc, "at", width
    from (
        select nullif(task_id, '') as tid,
               try_cast(status as csv_status_spelling) as sc,
               case when try_cast(at_usecs as BIGINT)::VARCHAR = at_usecs
                    and try_cast(at_usecs as BIGINT) <> -9223372036854775808
                    then try_cast(at_usecs as BIGINT) end as "at",
               strlen(task_id) + strlen(status) + strlen(at_usecs) + 2 as width
        from {src}
    )"""


class DuckReader:
    """One DuckDB connection reading JSON Lines (see the module docstring)."""

    def __init__(self, statuses: StatusMap, emit: Emit, threads: int | None = None) -> None:
        lc = statuses.lifecycle
        self.con = duckdb.connect(config={"memory_limit": DUCKDB_MEMORY})
        self.con.execute("set enable_progress_bar = false")
        if threads:
            self.con.execute(f"set threads = {int(threads)}")
        spelled = []
        for i, name in enumerate(lc.state_names):
            for v, vocab in enumerate(_VOCABULARIES):
                said = lc.translate(name, vocab)
                if lc.vocabulary(said) == vocab and statuses.accepted in ("auto", vocab):
                    spelled.append((orjson.dumps(said).decode(), i, v))
        values = ", ".join("'" + raw.replace("'", "''") + "'" for raw, _, _ in spelled)
        self.con.execute(f"create type status_spelling as enum ({values})")
        # in CSV a status is its text, a code its digits: the same spellings unquoted
        texts = ", ".join(
            "'" + orjson.loads(raw) + "'" if raw[0] == '"' else f"'{raw}'" for raw, _, _ in spelled
        )
        self.con.execute(f"create type csv_status_spelling as enum ({texts})")
        self.state_of = np.array([i for _, i, _ in spelled], np.int8)
        self.vocab_of = [_VOCABULARIES[v] for _, _, v in spelled]
        self.statuses, self.emit = statuses, emit
        self.fd = os.memfd_create("tasklife-block") if hasattr(os, "memfd_create") else None
        self.tmp_path: str | None = None

    def close(self) -> None:
        self.con.close()
        if self.fd is not None:
            os.close(self.fd)
        if self.tmp_path is not None:
            os.unlink(self.tmp_path)

    def whole_file(self, path: str) -> bool:
        """Read a whole file in one query, emitting as it goes; False at the first doubt (the
        caller then drops what was emitted and reads the file in blocks)."""
        rows = widths = id_spaces = 0
        try:
            for batch in self.con.sql(_query(path)).to_arrow_reader(BATCH_ROWS):
                cols = {n: batch.column(n) for n in ("tid", "sc", "at")}
                if any(c.null_count for c in cols.values()):
                    return False
                widths += pc.sum(batch.column("width")).as_py() or 0
                id_spaces += _spaces(cols["tid"])
                self.emit(self._columns(batch, rows + 1, None))
                rows += batch.num_rows
        except (duckdb.Error, OSError):  # the arrow stream reports DuckDB's errors as OSError
            return False
        return _accounted(path, rows, widths, id_spaces)

    def whole_csv(self, path: str, header: list[str]) -> bool:
        """Read a whole CSV file of exactly the three event columns (in any order) in one
        query, emitting as it goes; False at the first doubt (a NULL, a quoted field, a blank
        line, a CRLF: the byte accounting), and the caller reads it with the reference."""
        rows = widths = 0
        try:
            for batch in self.con.sql(_csv_query(path, header)).to_arrow_reader(BATCH_ROWS):
                if any(batch.column(n).null_count for n in ("tid", "sc", "at")):
                    return False
                widths += pc.sum(batch.column("width")).as_py() or 0
                self.emit(self._columns(batch, rows + 2, None))
                rows += batch.num_rows
        except (duckdb.Error, OSError):
            return False
        head = len(",".join(header)) + 1
        size = os.path.getsize(path)
        return head + widths + rows in (size, size + 1)

    def probe(self, path: str) -> bool:
        """Whether DuckDB vouches for every line of the file's first :data:`PROBE_BYTES`: a
        log whose lines carry more than the three fields (snapshot keys, attempts) is read
        in blocks at once, not parsed whole first only to be read again."""
        with open(path, "rb") as f:
            head = f.read(PROBE_BYTES)
        cut = head.rfind(b"\n") + 1
        if cut == 0:
            return False
        odd: list[int] = []
        keep, self.emit = self.emit, lambda batch: None
        try:
            return self._block(head[:cut], 1, lambda line, raw: odd.append(line)) and not odd
        finally:
            self.emit = keep

    def block(self, data: bytes, first: int, refer: Refer) -> None:
        """Read a block of whole lines from line ``first``; the rest goes to ``refer``."""
        if not self._block(data, first, refer):
            self._split(data, first, refer)

    def _split(self, data: bytes, first: int, refer: Refer) -> None:
        """A block DuckDB could not vouch for, halved down to :data:`MIN_BISECT_BYTES` to
        find its few bad lines; when both halves fail, the doubt is everywhere (every line
        has an extra key, say) and the reference reads the block."""
        half = data.rfind(b"\n", 0, len(data) // 2) + 1
        if len(data) <= MIN_BISECT_BYTES or not 0 < half < len(data):
            self._refer_all(data, first, refer)
            return
        parts = ((data[:half], first), (data[half:], first + data.count(b"\n", 0, half)))
        failed = [(d, f) for d, f in parts if not self._block(d, f, refer)]
        if len(failed) == len(parts):
            self._refer_all(data, first, refer)
            return
        for d, f in failed:
            self._split(d, f, refer)

    @staticmethod
    def _refer_all(data: bytes, first: int, refer: Refer) -> None:
        for i, raw in enumerate(data.split(b"\n")):
            if raw:
                refer(first + i, raw)

    def _block(self, data: bytes, first: int, refer: Refer) -> bool:
        try:
            tbl = self.con.sql(_query(self._file(data))).to_arrow_table()
        except (duckdb.Error, OSError):
            return False
        newlines = data.count(b"\n")
        if tbl.num_rows != newlines + (not data.endswith(b"\n")):
            return False  # blank lines: row i is not line first + i
        tbl = tbl.combine_chunks()
        odd = pc.or_kleene(pc.is_null(tbl.column("tid")), pc.is_null(tbl.column("at")))
        odd = _numbers(pc.or_kleene(odd, pc.is_null(tbl.column("sc")))).astype(np.bool_)
        good = ~odd
        width = _numbers(tbl.column("width"))
        accounted = int(width[good].sum()) + newlines
        odd_rows = np.flatnonzero(odd)
        starts, ends = _line_bounds(data) if len(odd_rows) else (None, None)
        if starts is not None and ends is not None:
            accounted += int((ends[odd_rows] - starts[odd_rows]).sum())
        spare = len(data) - accounted
        if spare:
            tid = tbl.column("tid").chunk(0)
            inside = _spaces(tid.take(indices(np.flatnonzero(good))) if len(odd_rows) else tid)
            if starts is not None and ends is not None:  # odd lines are accounted whole
                inside += sum(
                    sum(data.count(w, a, b) for w in _WHITESPACE)
                    for a, b in zip(starts[odd_rows].tolist(), ends[odd_rows].tolist(), strict=True)
                )
            if sum(data.count(w) for w in _WHITESPACE) - inside != spare:
                return False
        if starts is not None and ends is not None:
            for r in odd_rows.tolist():
                refer(first + r, data[starts[r] : ends[r]])
        if len(odd_rows) < tbl.num_rows:
            self.emit(self._columns(tbl, first, good if len(odd_rows) else None))
        return True

    def _file(self, data: bytes) -> str:
        """A path DuckDB reads ``data`` from: a memory file (Linux), else a temporary file."""
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            os.pwrite(self.fd, data, 0)
            return f"/proc/self/fd/{self.fd}"
        if self.tmp_path is None:
            import tempfile

            handle, self.tmp_path = tempfile.mkstemp(prefix="tasklife-block-", suffix=".jsonl")
            os.close(handle)
        with open(self.tmp_path, "wb") as f:
            f.write(data)
        return self.tmp_path

    def _columns(self, batch: Any, first: int, good: npt.NDArray[np.bool_] | None) -> Batch:
        """Rows of a batch (those ``good``, or all) as lines ``first``, ``first + 1``..."""
        lines = np.arange(first, first + batch.num_rows, dtype=np.int64)
        if good is not None:  # before any conversion: the other rows hold NULLs
            batch, lines = batch.take(indices(np.flatnonzero(good))), lines[good]
        sc = batch.column("sc")
        sc = sc.combine_chunks() if isinstance(sc, pa.ChunkedArray) else sc
        codes = _numbers(sc.indices).astype(np.intp)
        cols: dict[str, Any] = {
            "h": _numbers(batch.column("h")),  # views: Partitions.add copies
            "h2": _numbers(batch.column("h2")),
            "at": _numbers(batch.column("at")),
            "line": lines,
            "state": self.state_of[codes],
        }
        int_id = _numbers(batch.column("int_id")).astype(np.bool_)
        tid = batch.column("tid")
        tid = tid.combine_chunks() if isinstance(tid, pa.ChunkedArray) else tid
        present = np.flatnonzero(np.bincount(codes, minlength=len(self.vocab_of)))
        vocabularies = frozenset(self.vocab_of[c] for c in present.tolist())
        # not copied here either: Partitions.add copies (an array imported from DuckDB
        # keeps its whole batch alive), once
        return Batch(cols, tid, bool(int_id.any()), not bool(int_id.all()), vocabularies)

    def hashes(self, texts: list[str]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint32]]:
        """The hashes the query gives these id texts (for ids the reference read)."""
        ids_table = pa.table({"t": strings(texts)})  # noqa: F841 (read by name)
        got = self.con.sql(
            "select hash(t) h, (hash(t, 1) & 4294967295)::UINTEGER h2 from ids_table"
        ).to_arrow_table()
        return (
            _numbers(got.column("h")).copy(),
            _numbers(got.column("h2")).copy(),
        )


def _numbers(column: Any) -> npt.NDArray[Any]:
    """A column without nulls as a numpy view of its buffer (``to_numpy`` would import
    pandas when it is installed: 0.4 s). Booleans come as bytes."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_boolean(column.type):
        column = pc.cast(column, pa.uint8())
    kind = "i" if pa.types.is_signed_integer(column.type) else "u"
    dtype = np.dtype(f"{kind}{column.type.bit_width // 8}")
    return np.frombuffer(column.buffers()[1], dtype, len(column), column.offset * dtype.itemsize)


def _spaces(tid: Any) -> int:
    """Spaces, tabs and carriage returns inside the id texts (not between tokens), counted
    in the strings' data buffer."""
    if isinstance(tid, pa.ChunkedArray):
        return sum(_spaces(chunk) for chunk in tid.chunks)
    if not len(tid):
        return 0
    offsets = np.frombuffer(tid.buffers()[1], np.int32, len(tid) + 1, tid.offset * 4)
    data = tid.buffers()[2]
    if data is None:
        return 0
    text, lo, hi = data.to_pybytes(), int(offsets[0]), int(offsets[-1])
    # find is a memchr, count a loop: ids seldom hold whitespace
    return sum(text.count(w, lo, hi) for w in _WHITESPACE if text.find(w, lo, hi) >= 0)


def _accounted(path: str, rows: int, widths: int, id_spaces: int) -> bool:
    """Whether a whole file's bytes are its rows' compact widths, newlines and whitespace
    between tokens (see the module docstring)."""
    size = os.path.getsize(path)
    if widths + rows in (size, size + 1):  # compact lines; the last newline is optional
        return True
    newlines = whitespace = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(16 << 20), b""):
            newlines += chunk.count(b"\n")
            whitespace += sum(chunk.count(w) for w in _WHITESPACE)
    if newlines not in (rows, rows - 1):
        return False  # blank lines
    return whitespace - id_spaces == size - widths - newlines


def _line_bounds(data: bytes) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Start and end (without the newline) of each line of a block."""
    nl = np.flatnonzero(np.frombuffer(data, np.uint8) == ord("\n"))
    ends = nl if data.endswith(b"\n") else np.append(nl, len(data))
    starts = np.concatenate([[0], nl + 1])[: len(ends)]
    return starts, ends
