"""The Dask engine: event-log files validated on a Dask cluster (``pip install
'tasklife[dask]'``).

The work splits in two stages, both on the workers:

1. **Read.** A file of a splittable format (JSON Lines) is cut into blocks at line ends
   (``dask.bytes.read_bytes``); a first pass counts each block's lines so that every block
   knows the number of its first line. Each block is then read by the reference reading
   (:mod:`tasklife.eventlog.readers`, :class:`~tasklife.eventlog.reading.TableBuilder`)
   into a pandas frame of ``task_id`` (as text), state index (-1: an unknown status, kept so
   that its task is counted where the task is judged), ``at_usecs``, line key, snapshot
   fields and attempt. A file of another format (CSV: its header is on the first line only)
   is one block, and so is a gzip file.
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
from tasklife.eventlog.criteria import NO_OPTIONS, Criteria, RunOptions
from tasklife.eventlog.kernel import judge
from tasklife.eventlog.readers import Format, format_named
from tasklife.eventlog.report import LogReport, Malformed, PartialReport, assemble
from tasklife.eventlog.sources import Progress, Source, sniff
from tasklife.eventlog.table import EventLog, EventTable
from tasklife.lifecycle import Lifecycle
from tasklife.validation.history import spoken_vocabulary
from tasklife.validation.kinds import MISSING

__all__ = ["BLOCK_BYTES", "LOCAL_WORKERS", "validate"]

BLOCK_BYTES: Final = 64 << 20
"""Size of the blocks of a splittable file read by each worker task: big enough that a
task's overhead vanishes, small enough for several per worker on a 1 GB file."""
LOCAL_WORKERS: Final = 2
"""Worker processes of ``--dask local`` (the cores of the machines this is measured on), and
the fewest partitions a log is shuffled into, so that every worker judges some tasks."""
SCHEDULER_TIMEOUT: Final = "10s"
"""How long to wait for a remote scheduler before the address is reported unreachable."""
_COLUMNS: Final = (
    "task_id", "status", "at_usecs", "line", "keys", "start", "end", "error", "attempt",
)  # fmt: skip


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
    vocabularies: frozenset[str | None]
    int_ids: bool
    str_ids: bool
    snapshots: bool
    attempts: bool


def _parse_block(
    data: bytes, fmt: str, key: int, name: str, first_line: int, definition: bytes, vocab: str
) -> tuple[Any, _BlockInfo]:
    import pyarrow as pa

    from tasklife.eventlog.blocks import ReadOptions
    from tasklife.eventlog.reading import TableBuilder
    from tasklife.eventlog.statuses import StatusMap

    statuses = StatusMap(_lifecycle(definition), vocab)
    builder = TableBuilder(statuses)
    builder.names.append(name)
    read = ReadOptions(first_line=first_line)
    for block in format_named(fmt).read(io.BytesIO(data), name, read):
        builder.block(key, name, block)
    c = builder.columns
    ids = list(builder.codes)
    unknown = [m for m in builder.malformed if m.kind == "unknown-status"]
    task = [str(ids[t]) for t in c["task"]] + [str(m.task) for m in unknown]
    extra = len(unknown)
    cols = {
        "task_id": pa.array(task, pa.string()),
        "status": pa.array(c["status"] + [-1] * extra, pa.int8()),
        "at_usecs": pa.array(c["at"] + [0] * extra, pa.int64()),
        "line": pa.array(c["line"] + [0] * extra, pa.int64()),
        "keys": pa.array(c["keys"] + [0] * extra, pa.uint8()),
        "start": pa.array(c["start"] + [MISSING] * extra, pa.int64()),
        "end": pa.array(c["end"] + [MISSING] * extra, pa.int64()),
        "error": pa.array(c["error"] + [False] * extra, pa.bool_()),
        "attempt": pa.array(c["attempt"] + [0] * extra, pa.int64()),
    }
    frame = pa.table(cols).to_pandas()
    every = [*ids, *builder.unknown]
    info = _BlockInfo(
        tuple(builder.malformed),
        frozenset(statuses.seen),
        any(type(i) is int for i in every),
        any(type(i) is not int for i in every),
        builder.snapshots,
        builder.attempts,
    )
    return frame, info


def _empty() -> Any:
    import pyarrow as pa

    types = (
        pa.string(), pa.int8(), pa.int64(), pa.int64(), pa.uint8(), pa.int64(), pa.int64(),
        pa.bool_(), pa.int64(),
    )  # fmt: skip
    return pa.table({c: pa.array([], t) for c, t in zip(_COLUMNS, types, strict=True)}).to_pandas()


def _judge_partition(
    frame: Any,
    definition: bytes,
    criteria: tuple[str, bool],
    sources: tuple[str, ...],
    flags: tuple[bool, bool, bool],
) -> PartialReport:
    """Judge one shuffled partition; ``flags``: the log has snapshot fields, attempts,
    and only integer ids."""
    lc = _lifecycle(definition)
    snapshots, attempts, as_int = flags
    status = frame["status"].to_numpy(np.int8)
    known = status >= 0
    texts = frame["task_id"].to_numpy(object)
    ids: dict[Any, int] = {}
    task = np.array([ids.setdefault(t, len(ids)) for t in texts[known].tolist()], np.int32)
    extra: dict[str, Any] = {}
    if snapshots:
        extra = {c: frame[c].to_numpy()[known] for c in ("keys", "start", "end", "error")}
    if attempts:
        extra["attempt"] = frame["attempt"].to_numpy(np.int64)[known]
    names = [int(t) for t in ids] if as_int else list(ids)
    table = EventTable(
        task,
        status[known],
        frame["at_usecs"].to_numpy(np.int64)[known],
        frame["line"].to_numpy(np.int64)[known],
        names,
        **extra,
    )
    log = EventLog(table, (), sources, "v1", table.size)
    mode, require_final = criteria
    partial = judge(log, lifecycle=lc, mode=mode, require_final=require_final).partial()
    unknown = set(texts[~known].tolist()) - set(ids)
    return attrs.evolve(partial, tasks=partial.tasks + len(unknown))


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
    options: RunOptions = NO_OPTIONS,
    address: str = "local",
    block_bytes: int = BLOCK_BYTES,
) -> LogReport:
    """Validate event-log files on the Dask cluster at ``address`` (``local``: a new
    LocalCluster of :data:`LOCAL_WORKERS` worker processes); the report equals a single
    process's. ``progress`` is not reported; of ``options`` the workers need none (each
    holds a share of the log: the cluster is the way past one machine's memory).

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
        seen = frozenset().union(*(i.vocabularies for i in infos))
        out_vocab = spoken_vocabulary(seen, vocab)
        text = any(i.int_ids for i in infos) and any(i.str_ids for i in infos)
        flags = (
            any(i.snapshots for i in infos),
            any(i.attempts for i in infos),
            any(i.int_ids for i in infos) and not text,
        )
        frame = dask.dataframe.from_delayed(frames, meta=_empty(), verify_meta=False)
        shuffled = frame.shuffle(on="task_id", npartitions=max(frame.npartitions, LOCAL_WORKERS))
        how = (criteria.mode, criteria.require_final)
        judged: Sequence[PartialReport] = dask.compute(
            *[
                dask.delayed(_judge_partition)(part, definition, how, tuple(names), flags)
                for part in shuffled.to_delayed()
            ]
        )
    malformed = [m for i in infos for m in i.malformed]
    if text:
        malformed = [m if m.task is None else attrs.evolve(m, task=str(m.task)) for m in malformed]
    return assemble(
        judged,
        sources=names,
        malformed=malformed,
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
