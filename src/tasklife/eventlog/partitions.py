"""The fast engine's rows, in partitions of tasks by the top bits of their ids' hashes: in
memory, or spilled to files (``--memory-limit``).

Each batch of rows (numpy columns and the id texts) is cut by partition with one stable
argsort of the partition numbers, and each piece appended to its partition: a list in memory,
or a pickle frame appended to the partition's file in a ``tasklife-spill-*`` directory under
the chosen temporary directory (removed, whatever happens, when the engine is done). Reading
a partition back concatenates its pieces; columns only some pieces have (snapshot fields,
attempts) get their defaults elsewhere. :meth:`Partitions.mark` and
:meth:`Partitions.rollback` drop what was added since a mark (a whole-file read that
DuckDB could not vouch for, read again in blocks).

>>> import numpy as np, pyarrow as pa
>>> with Partitions(2, spill=True) as parts:
...     parts.add({"h": np.array([1, 2**63], np.uint64), "at": np.array([5, 6])},
...               pa.array(["a", "b"]))
...     [(c["at"].tolist(), ids.to_pylist()) for c, ids, _ in parts.partitions()]
[([5], ['a']), ([6], ['b'])]
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from typing import Any, Final

import numpy as np
import pyarrow as pa

from tasklife.eventlog.arrays import indices, strings
from tasklife.eventlog.spill import SpillFiles
from tasklife.validation.kinds import MISSING

__all__ = ["DEFAULTS", "Partitions"]

DEFAULTS: Final = {
    "keys": (np.uint8, 0),
    "start": (np.int64, MISSING),
    "end": (np.int64, MISSING),
    "error": (np.bool_, False),
    "attempt": (np.int64, 0),
}
"""The optional columns and their values for rows that do not carry them."""

Piece = tuple[dict[str, Any], pa.Array]


class Partitions:
    """See the module docstring; a context manager that removes its spill files."""

    def __init__(self, parts: int, spill: bool = False, tmp: str | None = None) -> None:
        self.parts, self.spill, self.tmp = parts, spill and parts > 1, tmp
        self.bits = parts.bit_length() - 1
        self.pieces: list[list[Piece]] = [[] for _ in range(parts)]
        self.unknowns: list[set[str]] = [set() for _ in range(parts)]
        self.files = SpillFiles(parts, tmp)

    def __enter__(self) -> Partitions:
        return self

    def __exit__(self, *exc: object) -> None:
        self.files.close()

    def _numbers(self, h: Any) -> Any:
        if self.bits == 0:
            return np.zeros(len(h), np.intp)
        return (np.asarray(h, np.uint64) >> np.uint64(64 - self.bits)).astype(np.intp)

    def add(self, columns: dict[str, Any], ids: pa.Array) -> None:
        """Rows: numpy ``columns`` (``h`` the id hashes) and their id texts, copied (they
        may be views into a larger batch, which they would keep alive)."""
        if self.parts == 1:
            copied = {k: np.array(v) for k, v in columns.items()}
            self._append(0, (copied, pa.concat_arrays([ids, strings([])])))
            return
        part = self._numbers(columns["h"])
        # small integers: numpy's stable sort of them is a radix sort, linear
        order = np.argsort(part.astype(np.uint16), kind="stable")
        bounds = np.searchsorted(part[order], np.arange(self.parts + 1))
        taken = {k: np.asarray(v)[order] for k, v in columns.items()}
        whole = None if self.spill else ids.take(indices(order))
        for i in range(self.parts):
            lo, hi = int(bounds[i]), int(bounds[i + 1])
            if hi > lo:
                # a spilled piece takes its own ids: a pickled slice would carry the whole
                # batch's buffers (pyarrow), 16 times over with 16 partitions
                piece = ids.take(indices(order[lo:hi])) if whole is None else whole[lo:hi]
                self._append(i, ({k: v[lo:hi] for k, v in taken.items()}, piece))

    def unknown(self, h: Any, texts: list[str]) -> None:
        """Ids named by unknown-status lines (they count as tasks: issue 12, item 7)."""
        for part, text in zip(self._numbers(h).tolist(), texts, strict=True):
            self.unknowns[part].add(text)

    def _append(self, part: int, piece: Piece) -> None:
        if not self.spill:
            self.pieces[part].append(piece)
            return
        pickle.dump(piece, self.files.open(part), pickle.HIGHEST_PROTOCOL)

    def mark(self) -> list[int]:
        """Where each partition ends now."""
        if self.spill:
            return [0 if f is None else f.tell() for f in self.files.files]
        return [len(p) for p in self.pieces]

    def rollback(self, mark: list[int]) -> None:
        """Drop everything added since ``mark``."""
        for part, end in enumerate(mark):
            f = self.files.files[part]
            if self.spill and f is not None:
                f.seek(end)
                f.truncate()
            else:
                del self.pieces[part][end:]

    def partitions(self) -> Iterator[tuple[dict[str, Any], pa.Array, set[str]]]:
        """Each non-empty partition: its columns, id texts, and unknown-status ids."""
        for part in range(self.parts):
            pieces = self._pieces(part)
            if pieces or self.unknowns[part]:
                yield (*_joined(pieces), self.unknowns[part])

    def _pieces(self, part: int) -> list[Piece]:
        if not self.spill:
            pieces, self.pieces[part] = self.pieces[part], []
            return pieces
        return list(self.files.read(part))


def _joined(pieces: list[Piece]) -> tuple[dict[str, Any], pa.Array]:
    names = {k for cols, _ in pieces for k in cols}
    columns: dict[str, Any] = {}
    for name in sorted(names):
        parts = []
        for cols, ids in pieces:
            if name in cols:
                parts.append(cols[name])
            else:
                dtype, value = DEFAULTS[name]
                parts.append(np.full(len(ids), value, dtype))
        columns[name] = np.concatenate(parts)
    ids = pa.concat_arrays([ids for _, ids in pieces]) if pieces else strings([])
    return columns, ids
