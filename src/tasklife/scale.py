"""Validating event logs on a Dask cluster (the ``dask`` extra: ``pip install tasklife[dask]``).

The work splits in two stages, both on the workers:

1. **Read.** Each JSON Lines file is cut into blocks at line ends (``dask.bytes.read_bytes``); a
   first pass counts each block's lines so that every block knows the number of its first
   line. Each block is then parsed by the same code as a single-process run
   (:func:`tasklife.eventlog.iter_chunks`, :func:`~tasklife.eventlog.status_codes`) into a
   pandas frame of ``task_id`` (as text), state index, ``at_usecs``, line key and stamps. A
   CSV file is one block (its header is on the first line only), and so is a gzip file.
2. **Judge.** The frames form one Dask DataFrame, shuffled on ``task_id`` so that each task's
   events meet in one partition, where :func:`tasklife.batch.judge` judges them whole.

The driver merges the partitions' counts and violations in file and line order, so the
report is the one a single-process run gives on the same files.

>>> import tasklife.scale as scale
>>> scale.BLOCK_BYTES > 0
True
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

from tasklife.batch import LogReport, judge
from tasklife.errors import MissingExtra, UnusableInput
from tasklife.eventlog import (
    LINE_BITS,
    MISSING,
    EventLog,
    EventTable,
    Malformed,
    format_of,
    iter_chunks,
    status_codes,
)
from tasklife.lifecycle import Lifecycle
from tasklife.logformats import id_type, is_gzip, readable
from tasklife.validation import KINDS

__all__ = ["validate_files"]

BLOCK_BYTES: Final = 64 << 20
"""Size of the JSON Lines blocks read by each worker task."""
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
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            yield client
    else:
        try:
            client = distributed.Client(address, timeout="10s")
        except OSError as exc:
            raise UnusableInput(f"cannot reach the Dask scheduler at {address!r}: {exc}") from None
        with client:
            yield client


@cache
def _lifecycle(definition: bytes) -> Lifecycle:
    """Rebuild a lifecycle on a worker once per definition (sent as JSON, not pickled)."""
    return Lifecycle.from_dictionary(orjson.loads(definition))


def _undecompressable(
    dask: Any,
    blocks: list[tuple[int, str, str, Any]],
    formats: list[tuple[str, bool]],
    error: BaseException,
) -> UnusableInput:
    """The error naming the gzip file that failed to decompress (each is tried alone)."""
    for key, name, _, block in blocks:
        if formats[key][1]:
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
    for chunk in iter_chunks(io.BytesIO(data), fmt, key, name, bad, first_line=first_line):
        codes, found = status_codes(chunk, lc, vocab, bad, [""] * key + [name])
        seen_vocab = seen_vocab or found
        keep = codes >= 0
        int_ids = int_ids and pa.types.is_integer(id_type(chunk.task.type))
        snapshot = snapshot or chunk.snap is not None
        n = len(codes)
        if n == 0:
            continue
        start, end, error = chunk.snap or (
            np.full(n, MISSING, np.int64),
            np.full(n, MISSING, np.int64),
            np.zeros(n, np.bool_),
        )
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
    mode: str,
    require_final: bool,
    sources: tuple[str, ...],
    vocabulary: str,
    snapshot_sources: tuple[int, ...],
) -> dict[str, Any]:
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
    result = judge(
        EventLog(table, (), sources, vocabulary, table.size),
        lifecycle=lc,
        mode=mode,
        require_final=require_final,
    )
    return {
        "tasks": result.tasks,
        "events": result.events,
        "still_active": result.still_active,
        "counts": result.counts,
        "gaps": result.gaps(),
        "violations": result.violations(),
    }


def validate_files(
    sources: Sequence[str | os.PathLike[str]],
    address: str,
    lifecycle: Lifecycle,
    *,
    mode: str = "strict",
    vocabulary: str = "auto",
    require_final: bool = False,
    block_bytes: int = BLOCK_BYTES,
) -> LogReport:
    """Validate event-log files on the Dask cluster at ``address`` (``local``: a new
    LocalCluster of two worker processes); the report equals :func:`tasklife.batch.judge`'s.

    Raises :class:`MissingExtra` without the ``dask`` extra and
    :class:`~tasklife.errors.UnusableInput` for a file that cannot be read.
    """
    dask, _ = _dask()

    names = [str(s) for s in sources]
    formats: list[tuple[str, bool]] = []
    for name in names:
        if name == "-":
            raise UnusableInput("--dask reads files, not standard input")
        try:
            with open(name, "rb") as f:
                gzipped = is_gzip(f.peek(2))
                fmt_name, head, _ = readable(name, f)
                formats.append((format_of(fmt_name, head.peek(4096)[:4096]), gzipped))
        except OSError as exc:
            raise UnusableInput(f"{name}: cannot read: {exc.strerror or exc}") from None
    definition = orjson.dumps(lifecycle.to_dictionary())
    with _client(address) as client:
        blocks: list[tuple[int, str, str, Any]] = []
        for key, (name, (fmt, gzipped)) in enumerate(zip(names, formats, strict=True)):
            # one block: a CSV's header is on its first line only; gzip cannot be cut
            size = None if fmt == "csv" or gzipped else block_bytes
            _, per_file = dask.bytes.read_bytes(
                os.path.abspath(name),
                delimiter=b"\n",
                blocksize=size,
                sample=False,
                compression="gzip" if gzipped else None,
            )
            blocks += [(key, name, fmt, b) for b in per_file[0]]
        try:
            counts = dask.compute(*[dask.delayed(_count_lines)(b) for *_, b in blocks])
        except (OSError, EOFError, zlib.error) as exc:  # raised where a worker decompressed
            raise _undecompressable(dask, blocks, formats, exc) from None
        firsts, line, last_key = [], 1, -1
        for (key, *_), n in zip(blocks, counts, strict=True):
            line = 1 if key != last_key else line
            firsts.append(line)
            line, last_key = line + n, key
        parsed = [
            dask.delayed(_parse_block, nout=2)(b, fmt, key, name, first, definition, vocabulary)
            for (key, name, fmt, b), first in zip(blocks, firsts, strict=True)
        ]
        frames = client.persist([p[0] for p in parsed])
        infos: list[_BlockInfo] = list(dask.compute(*[p[1] for p in parsed]))
        snapshot_sources = tuple(
            sorted({b[0] for b, i in zip(blocks, infos, strict=True) if i.snapshot})
        )
        out_vocab = (
            vocabulary
            if vocabulary != "auto"
            else next((i.vocabulary for i in infos if i.vocabulary), "v1")
        )
        frame = dask.dataframe.from_delayed(frames, meta=_empty(), verify_meta=False)
        shuffled = frame.shuffle(on="task_id", npartitions=max(frame.npartitions, 2))
        judged = dask.compute(
            *[
                dask.delayed(_judge_partition)(
                    part,
                    definition,
                    mode,
                    require_final,
                    tuple(names),
                    out_vocab,
                    snapshot_sources,
                )
                for part in shuffled.to_delayed()
            ]
        )
    return _merge(judged, infos, names, lifecycle, mode, out_vocab)


def _pair_order(lc: Lifecycle, pair: tuple[str | int, str | int]) -> tuple[int, int]:
    return lc.index[lc.canonical(pair[0]) or ""], lc.index[lc.canonical(pair[1]) or ""]


def _merge(
    judged: Sequence[dict[str, Any]],
    infos: Sequence[_BlockInfo],
    names: list[str],
    lifecycle: Lifecycle,
    mode: str,
    vocabulary: str,
) -> LogReport:
    int_ids = all(i.int_ids for i in infos if i.events)
    violations = [
        attrs.evolve(v, task=int(v.task)) if int_ids else v for p in judged for v in p["violations"]
    ]
    violations.sort(key=lambda v: (names.index(v.file or ""), v.line, KINDS.index(v.kind)))
    malformed = sorted(
        (m for i in infos for m in i.malformed), key=lambda m: (names.index(m.file), m.line)
    )
    counts: dict[str, int] = {}
    gaps: dict[tuple[str | int, str | int], tuple[tuple[str, ...], int]] = {}
    for p in judged:
        for k, c in p["counts"].items():
            counts[k] = counts.get(k, 0) + c
        for pair, (path, c) in p["gaps"].items():
            gaps[pair] = (path, gaps.get(pair, (path, 0))[1] + c)
    events = sum(p["events"] for p in judged)
    return LogReport(
        tuple(names),
        lifecycle.name,
        mode,
        vocabulary,
        sum(p["tasks"] for p in judged),
        events,
        events + len(malformed),
        sum(p["still_active"] for p in judged),
        {k: counts[k] for k in KINDS if k in counts},
        dict(sorted(gaps.items(), key=lambda g: _pair_order(lifecycle, g[0]))),
        tuple(violations),
        tuple(malformed),
    )
