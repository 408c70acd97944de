"""Dense task codes from 64-bit hashes of the ids, without a dictionary of ids.

The fast engine gets ``hash(id text)`` and a 32-bit second hash of every event from DuckDB
(computed on every core while it parses). :func:`task_codes` groups the rows of a task by
one value sort of int64 keys ``hash prefix | row`` (a sort of values, several times faster
than an argsort, a ``numpy.unique`` or a dictionary encoding of 2M distinct strings: see
``benchmarks/bench_validation.py``); rows with equal hashes are one task. The prefix is the
hash's top ``63 - row bits`` bits: tasks whose prefixes are equal (a few per million) are
re-sorted by full hash; a differing second hash inside a group is a true 64-bit collision
(about one in 10^7 logs of 2M tasks), and then :func:`exact_codes` encodes the ids
themselves. Either way no two ids share a code: a collision costs time, never a verdict.

>>> import numpy as np
>>> codes, first = task_codes(np.array([9, 5, 9], np.uint64), np.array([1, 2, 1], np.uint32))
>>> codes.tolist(), first.tolist()
([1, 0, 1], [1, 0])
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from tasklife.eventlog.arrays import indices

__all__ = ["Ids", "exact_codes", "task_codes"]

STEP: Final = 1 << 16
"""Neighbouring sorted keys are compared this many at a time (a small reused temporary)."""


def task_codes(
    h: npt.NDArray[np.uint64], h2: npt.NDArray[np.uint32]
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.intp]] | None:
    """Dense task codes and the first row of each code; None on a 64-bit collision (see the
    module docstring)."""
    n = len(h)
    if n == 0:
        return np.zeros(0, np.int32), np.zeros(0, np.intp)
    row_bits = max(1, (n - 1).bit_length())
    key = (h >> np.uint64(row_bits + 1)).view(np.int64)  # top bits, non-negative as int64
    key <<= row_bits
    for lo in range(0, n, STEP):
        key[lo : lo + STEP] |= np.arange(lo, min(lo + STEP, n), dtype=np.int64)
    key.sort()
    new = np.empty(n, np.bool_)
    new[0] = True
    clashes = []
    low = (1 << row_bits) - 1
    for lo in range(0, n - 1, STEP):
        k = key[lo : lo + STEP + 1]
        hi = lo + len(k) - 1
        np.not_equal(k[1:] >> row_bits, k[:-1] >> row_bits, out=new[lo + 1 : hi + 1])
        hs = h[k & low]
        clash = ~new[lo + 1 : hi + 1] & (hs[1:] != hs[:-1])
        if clash.any():
            clashes.append(np.flatnonzero(clash) + lo)
    key &= low
    rows = key  # the key's row bits, in place
    if clashes:  # a shared prefix: order those groups by (hash, row), then cut at each hash
        group = np.cumsum(new) - 1
        pos = np.flatnonzero(np.isin(group, group[np.concatenate(clashes)]))
        sub = np.lexsort((rows[pos], h[rows[pos]]))
        rows[pos] = rows[pos][sub]
        hs = h[rows[pos]]
        new[pos[1:]] |= hs[1:] != hs[:-1]
    for lo in range(0, n - 1, STEP):  # the same 64-bit hash, another second hash: collision
        r = rows[lo : lo + STEP + 1]
        h2s = h2[r]
        if (~new[lo + 1 : lo + len(r)] & (h2s[1:] != h2s[:-1])).any():
            return None
    codes = np.empty(n, np.int32)
    codes[rows] = np.cumsum(new, dtype=np.int32) - 1
    first: npt.NDArray[np.intp] = rows[new].astype(np.intp)
    return codes, first


def exact_codes(ids: pa.Array) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.intp]]:
    """Dense codes of the id texts themselves, and the first row of each (the slow, exact
    way, for a log whose hashes collide)."""
    encoded = pc.dictionary_encode(ids)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    codes = np.asarray(encoded.indices, np.int32)
    first = np.full(len(encoded.dictionary), len(codes), np.intp)
    np.minimum.at(first, codes, np.arange(len(codes)))
    return codes, first


class Ids:
    """Task code -> task id: the id texts of each task's first row, as integers when every
    id of the log was one (the light engine's rule), read when a report asks."""

    def __init__(self, texts: pa.Array, as_int: bool) -> None:
        self.texts, self.as_int = texts, as_int

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, code: int) -> Any:
        return self.many(np.array([code]))[0]

    def many(self, codes: npt.NDArray[Any]) -> list[Any]:
        values = self.texts.take(indices(codes)).to_pylist()
        return [int(v) for v in values] if self.as_int else values

    def texts_set(self) -> set[str]:
        return set(self.texts.to_pylist())
