"""The Dask engine: event-log files validated on a Dask cluster (``pip install
'tasklife[dask]'``).

The work splits in two stages, both on the workers:

1. **Read.** A file of a splittable format (JSON Lines) is cut into blocks at line ends
   (``dask.bytes.read_bytes``); a first pass counts each block's lines so that every block
   knows the number of its first line. Each block is then read by the same reader as a
   single process (:mod:`tasklife.eventlog.readers`) and its statuses mapped
   (:func:`~tasklife.eventlog.table.status_codes`) into a pandas frame of ``task_id`` (as
   text), state index, ``at_usecs``, line key and stamps. A file of another format (CSV:
   its header is on the first line only) is one block, and so is a gzip file.
2. **Judge.** The frames form one Dask DataFrame, shuffled on ``task_id`` so that each task's
   events meet in one partition, which :func:`~tasklife.eventlog.kernel.judge` judges whole
   into a partial report.

The driver merges the partial reports (:func:`~tasklife.eventlog.report.merge_reports`), so
the report is the one a single process gives on the same files.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import zlib
from collections.abc import Iterator, Sequence
from functools import cache
from typing import Any, Final

import attrs
import numpy as np
import orjson

from tasklife.errors import MissingExtra, UnusableInput
from tasklife.eventlog.chunks import LINE_BITS, id_type, no_snapshots
from tasklife.eventlog.criteria import Criteria
from tasklife.eventlog.kernel import judge
from tasklife.eventlog.readers import Format, format_named
from tasklife.eventlog.report import LogReport, Malformed, PartialReport, merge_reports
from tasklife.eventlog.sources import Progress, Source, sniff
from tasklife.eventlog.table import EventLog, EventTable, status_codes
from tasklife.lifecycle import Lifecycle

__all__ = ["BLOCK_BYTES", "LOCAL_WORKERS", "validate"]

BLOCK_BYTES: Final = 64 << 20
"""Size of the blocks of a splittable file read by each worker task: big enough that a
task's overhead vanishes, small enough for several per worker on a 1 GB file."""
LOCAL_WORKERS: Final = 2
"""Worker processes of ``--dask local`` (the cores of the machines this is measured on), and
the fewest partitions a log is shuffled into, so that every worker judges some tasks."""
SCHEDULER_TIMEOUT: Final = "10s"
"""How long to wait for a remote scheduler before the address is reported unreachable."""
_COLUMNS: Final = ("task_id", "status", "at_usecs", "line", "start", "end", "error")


def _dask() -> Any:
    try:
        import dask
        import dask.bytes
        import dask.dataframe
        import distributed
    except ImportError as exc:
        raise MissingExtra(
            f"Dask scale-out needs the dask extra ({exc.name} is missing): "
            "pip install tasklife[dask]"
        ) from None
    return dask, distributed


@contextlib.contextmanager
def _client(address: str) -> Iterator[Any]:
    _, distributed = _dask()
    # the shuffle's scheduler plugin logs a warning per shuffle: routine, not for users
    logging.getLogger("distributed.shuffle._scheduler_plugin").setLevel(logging.ERROR)
    if address == "local":
        with (
            distributed.LocalCluster(
                n_workers=LOCAL_WORKERS,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            yield client
    else:
        try:
            client = distributed.Client(address, timeout=SCHEDULER_TIMEOUT)
        except OSError as exc:
            raise UnusableInput(f"cannot reach the Dask scheduler at {address!r}: {exc}") from None
        with client:
            yield client


@cache
def _lifecycle(definition: bytes) -> Lifecycle:
    """Rebuild a lifecycle on a worker once per definition (sent as JSON, not pickled)."""
    return Lifecycle.from_dictionary(orjson.loads(definition))


def _undecompressable(
    dask: Any, blocks: list[tuple[int, str, str, Any]], gzipped: list[bool], error: BaseException
) -> UnusableInput:
    """The error naming the gzip file that failed to decompress (each is tried alone)."""
    for key, name, _, block in blocks:
        if gzipped[key]:
            try:
                dask.compute(dask.delayed(_count_lines)(block))
            except (OSError, EOFError, zlib.error) as exc:
                return UnusableInput(f"{name}: cannot decompress: {exc}")
    return UnusableInput(f"cannot decompress: {error}")


def _count_lines(block: bytes) -> int:
    return block.count(b"\n")


@attrs.frozen
class _BlockInfo:
    malformed: tuple[Malformed, ...]
    vocabulary: str | None
    snapshot: bool
    int_ids: bool
    events: int


def _parse_block(
    data: bytes, fmt: str, key: int, name: str, first_line: int, definition: bytes, vocab: str
) -> tuple[Any, _BlockInfo]:
    import pyarrow as pa

    lc = _lifecycle(definition)
    bad: list[Malformed] = []
    parts: list[Any] = []
    seen_vocab: str | None = None
    snapshot = False
    int_ids = True
    chunks = format_named(fmt).read(io.BytesIO(data), key, name, bad, first_line=first_line)
    for chunk in chunks:
        codes, found = status_codes(chunk, lc, vocab, bad, [""] * key + [name])
        seen_vocab = seen_vocab or found
        keep = codes >= 0
        int_ids = int_ids and pa.types.is_integer(id_type(chunk.task.type))
        snapshot = snapshot or chunk.snap is not None
        n = len(codes)
        if n == 0:
            continue
        start, end, error = chunk.snap or no_snapshots(n)
        ids = chunk.task.cast(pa.string()).to_numpy(zero_copy_only=False)
        cols = (ids, codes, chunk.at, chunk.line, start, end, error)
        parts.append(pa.table({c: v[keep] for c, v in zip(_COLUMNS, cols, strict=True)}))
    frame = pa.concat_tables(parts).to_pandas() if parts else _empty()
    bad.sort(key=lambda m: m.line)
    info = _BlockInfo(tuple(bad), seen_vocab, snapshot, int_ids, len(frame))
    return frame, info


def _empty() -> Any:
    import pyarrow as pa

    types = (pa.string(), pa.int8(), pa.int64(), pa.int64(), pa.int64(), pa.int64(), pa.bool_())
    return pa.table({c: pa.array([], t) for c, t in zip(_COLUMNS, types, strict=True)}).to_pandas()


def _judge_partition(
    frame: Any,
    definition: bytes,
    criteria: tuple[str, bool],
    sources: tuple[str, ...],
    vocabulary: str,
    snapshot_sources: tuple[int, ...],
) -> PartialReport:
    import pyarrow as pa
    import pyarrow.compute as pc

    lc = _lifecycle(definition)
    encoded = pc.dictionary_encode(pa.array(frame["task_id"].to_numpy(object), pa.string()))
    line = frame["line"].to_numpy(np.int64)
    snap: dict[str, Any] = {}
    if snapshot_sources:
        snap = {
            "snapshot": np.isin(line >> LINE_BITS, snapshot_sources),
            "start": frame["start"].to_numpy(np.int64),
            "end": frame["end"].to_numpy(np.int64),
            "error": frame["error"].to_numpy(np.bool_),
        }
    table = EventTable(
        np.asarray(encoded.indices.to_numpy(zero_copy_only=False)),
        frame["status"].to_numpy(np.int8),
        frame["at_usecs"].to_numpy(np.int64),
        line,
        encoded.dictionary,
        **snap,
    )
    mode, require_final = criteria
    log = EventLog(table, (), sources, vocabulary, table.size)
    return judge(log, lifecycle=lc, mode=mode, require_final=require_final).partial()


def _formats(names: list[str]) -> list[tuple[Format, bool]]:
    """Each file's format and whether it is gzip-compressed (sniffed as a single process does)."""
    formats: list[tuple[Format, bool]] = []
    for name in names:
        if name == "-":
            raise UnusableInput("--dask reads files, not standard input")
        try:
            with open(name, "rb") as f:
                opened = sniff(name, f)
                formats.append((opened.format, opened.gzipped))
        except OSError as exc:
            raise UnusableInput(f"{name}: cannot read: {exc.strerror or exc}") from None
    return formats


def validate(
    sources: Sequence[Source],
    criteria: Criteria,
    *,
    progress: Progress | None = None,
    address: str = "local",
    block_bytes: int = BLOCK_BYTES,
) -> LogReport:
    """Validate event-log files on the Dask cluster at ``address`` (``local``: a new
    LocalCluster of :data:`LOCAL_WORKERS` worker processes); the report equals a single
    process's. ``progress`` is not reported.

    Raises :class:`~tasklife.errors.MissingExtra` without the ``dask`` extra and
    :class:`~tasklife.errors.UnusableInput` for a file that cannot be read.
    """
    dask, _ = _dask()
    names = [str(s) for s in sources]
    formats = _formats(names)
    lc = criteria.lifecycle
    definition = orjson.dumps(lc.to_dictionary())
    with _client(address) as client:
        blocks = _blocks(dask, names, formats, block_bytes)
        firsts = _first_lines(dask, blocks, [gzipped for _, gzipped in formats])
        vocab = criteria.vocabulary
        parsed = [
            dask.delayed(_parse_block, nout=2)(b, fmt, key, name, first, definition, vocab)
            for (key, name, fmt, b), first in zip(blocks, firsts, strict=True)
        ]
        frames = client.persist([p[0] for p in parsed])
        infos: list[_BlockInfo] = list(dask.compute(*[p[1] for p in parsed]))
        snapshot_sources = tuple(
            sorted({b[0] for b, i in zip(blocks, infos, strict=True) if i.snapshot})
        )
        out_vocab = (
            vocab if vocab != "auto" else next((i.vocabulary for i in infos if i.vocabulary), "v1")
        )
        frame = dask.dataframe.from_delayed(frames, meta=_empty(), verify_meta=False)
        shuffled = frame.shuffle(on="task_id", npartitions=max(frame.npartitions, LOCAL_WORKERS))
        how = (criteria.mode, criteria.require_final)
        judged: Sequence[PartialReport] = dask.compute(
            *[
                dask.delayed(_judge_partition)(
                    part, definition, how, tuple(names), out_vocab, snapshot_sources
                )
                for part in shuffled.to_delayed()
            ]
        )
    if all(i.int_ids for i in infos if i.events):  # the shuffle made every id text
        judged = [_integer_ids(p) for p in judged]
    return merge_reports(
        judged,
        sources=names,
        malformed=[m for i in infos for m in i.malformed],
        lifecycle=lc,
        mode=criteria.mode,
        vocabulary=out_vocab,
    )


def _blocks(
    dask: Any, names: list[str], formats: list[tuple[Format, bool]], block_bytes: int
) -> list[tuple[int, str, str, Any]]:
    """``(file index, name, format, delayed bytes)`` of every block of every file."""
    blocks: list[tuple[int, str, str, Any]] = []
    for key, (name, (fmt, gzipped)) in enumerate(zip(names, formats, strict=True)):
        size = block_bytes if fmt.splittable and not gzipped else None  # gzip cannot be cut
        _, per_file = dask.bytes.read_bytes(
            os.path.abspath(name),
            delimiter=b"\n",
            blocksize=size,
            sample=False,
            compression="gzip" if gzipped else None,
        )
        blocks += [(key, name, fmt.name, b) for b in per_file[0]]
    return blocks


def _first_lines(
    dask: Any, blocks: list[tuple[int, str, str, Any]], gzipped: list[bool]
) -> list[int]:
    """The number of each block's first line in its file (the blocks' lines counted first)."""
    try:
        counts = dask.compute(*[dask.delayed(_count_lines)(b) for *_, b in blocks])
    except (OSError, EOFError, zlib.error) as exc:  # raised where a worker decompressed
        raise _undecompressable(dask, blocks, gzipped, exc) from None
    firsts, line, last_key = [], 1, -1
    for (key, *_), n in zip(blocks, counts, strict=True):
        line = 1 if key != last_key else line
        firsts.append(line)
        line, last_key = line + n, key
    return firsts


def _integer_ids(part: PartialReport) -> PartialReport:
    violations = [attrs.evolve(v, task=int(str(v.task))) for v in part.violations]
    return attrs.evolve(part, violations=violations)
