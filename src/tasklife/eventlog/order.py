"""The order a log is judged in: each task's events together, by time, ties in file order.

:func:`task_order` gives the rows of an :class:`~tasklife.eventlog.table.EventTable` in
``(task, at, line)`` order: usually one sort of values, not an argsort (several times
faster). Each row becomes one int64 ``task | at | row`` key, ``at`` coarsened (its low bits
dropped) as far as needed to fit; the rows are read back from the sorted keys' low bits.
Rows of a task whose order the dropped time bits or the line order decide (events close in
time, or rows not in line order) are then sorted exactly. When the key cannot fit, or most
rows would need that, an argsort of a ``task, at`` key (or a three-key ``lexsort``) orders
them.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt

from tasklife.eventlog.table import EventTable

__all__ = ["task_order"]

_KEY_BITS: Final = 63
"""The bits of a non-negative int64 sort key."""
_MIN_TIME_BITS: Final = 8
"""Fewer time bits than this in a packed key would leave most rows to the exact re-sort."""
_STEP: Final = 1 << 16
"""Keys are built and compared a slice at a time: one small reused temporary (64K rows,
512 KiB, in cache) instead of full-length ones whose fresh pages cost a fault each."""
_MOST_RESORTED: Final = 4
"""A packed sort is given up when more than 1/this of the rows would need the exact re-sort."""


def task_order(table: EventTable) -> npt.NDArray[np.intp] | None:
    """The rows in ``(task, at, line)`` order, or None when they already are.

    >>> from tasklife.eventlog.reading import events_from_objects
    >>> log = events_from_objects([{"taskId": 1, "status": "kRunning", "atUsecs": 5},
    ...                            {"taskId": 2, "status": "kRunning", "atUsecs": 4},
    ...                            {"taskId": 1, "status": "kAccepted", "atUsecs": 4}])
    >>> task_order(log.table).tolist()
    [2, 0, 1]
    """
    task, at, line = table.task, table.at, table.line
    if len(task) < 2:
        return None
    if (task[1:] >= task[:-1]).all() and not _out_of_order(task, at, line).any():
        return None
    low = int(at.min())
    at_bits = (int(at.max()) - low).bit_length()
    task_bits = int(task.max()).bit_length()
    row_bits = (len(task) - 1).bit_length()
    # times spanning 2**63 or more (at most 2**64 - 2: see INT64_LIMIT) cannot be offset
    # into an int64 key without overflow: they go to the three-key lexsort (issue 12, item 4)
    if task_bits + row_bits <= _KEY_BITS - _MIN_TIME_BITS and at_bits <= _KEY_BITS:
        order = _packed_order(task, at, line, low, at_bits, task_bits, row_bits)
        if order is not None:
            return order
    if at_bits + task_bits > _KEY_BITS:
        return np.lexsort((line, at, task))
    key = task.astype(np.int64)
    key <<= at_bits
    key -= low  # then + at: task << at_bits | (at - low), with no temporary and no overflow
    key += at
    order = np.argsort(key)
    tied = np.concatenate(
        [_ties(key[order[lo : lo + _STEP + 1]]) + lo for lo in range(0, len(order) - 1, _STEP)]
    )
    if len(tied):
        rows = np.union1d(tied, tied + 1)
        sub = order[rows]
        order[rows] = sub[np.lexsort((line[sub], key[sub]))]
    return order


def _out_of_order(
    task: npt.NDArray[Any], at: npt.NDArray[np.int64], line: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """For each pair of neighbouring rows of one task: is the second before the first?"""
    later = _precedes(at[1:], line[1:], at[:-1], line[:-1])
    later &= task[1:] == task[:-1]
    return later


def _precedes(
    at: npt.NDArray[np.int64],
    line: npt.NDArray[np.int64],
    other_at: npt.NDArray[np.int64],
    other_line: npt.NDArray[np.int64],
) -> npt.NDArray[np.bool_]:
    """Does each event come before the other one: earlier, or as early and on an earlier line?"""
    earlier: npt.NDArray[np.bool_] = at < other_at
    tie = at == other_at
    tie &= line < other_line
    earlier |= tie
    return earlier


def _packed_order(
    task: npt.NDArray[Any],
    at: npt.NDArray[np.int64],
    line: npt.NDArray[np.int64],
    low: int,
    at_bits: int,
    task_bits: int,
    row_bits: int,
) -> npt.NDArray[np.intp] | None:
    """The ``(task, at, line)`` order by one value sort of packed keys (see the module
    docstring), or None when more than 1/:data:`_MOST_RESORTED` of the rows would need the
    exact re-sort.

    Neighbours whose keys differ in the row bits only (same task, same coarse time) are the
    only ones whose order the row number decided; the tasks where that order is wrong are
    sorted again exactly.
    """
    time_bits = at_bits - max(0, at_bits + task_bits + row_bits - _KEY_BITS)
    n = len(task)
    key = np.empty(n, np.int64)
    part = np.empty(min(n, _STEP), np.int64)  # one small temporary, reused: no fresh pages
    for lo in range(0, n, _STEP):
        hi = min(lo + _STEP, n)
        out, tmp = key[lo:hi], part[: hi - lo]
        np.subtract(at[lo:hi], low, out=out)
        out >>= at_bits - time_bits
        np.left_shift(task[lo:hi], time_bits, out=tmp, dtype=np.int64)
        out += tmp
        out <<= row_bits
        out += np.arange(lo, hi, dtype=np.int64)
    key.sort()
    pairs = np.concatenate(
        [_same_prefix(key[lo : lo + _STEP + 1], row_bits, part) + lo for lo in range(0, n, _STEP)]
    )
    rows = (1 << row_bits) - 1
    first, second = key[pairs] & rows, key[pairs + 1] & rows
    wrong = _precedes(at[second], line[second], at[first], line[first])
    shift = time_bits + row_bits  # a key's task
    redo = np.unique(key[pairs[wrong]] >> shift)
    starts = np.searchsorted(key, redo << shift)
    ends = np.searchsorted(key, (redo << shift) | ((1 << shift) - 1), side="right")
    key &= rows
    order: npt.NDArray[np.intp] = key.astype(np.intp, copy=False)
    if not len(redo):
        return order
    sizes = ends - starts
    if _MOST_RESORTED * int(sizes.sum()) > len(order):
        return None
    positions = np.repeat(starts - np.cumsum(sizes) + sizes, sizes) + np.arange(int(sizes.sum()))
    picked = order[positions]
    order[positions] = picked[np.lexsort((line[picked], at[picked], task[picked]))]
    return order


def _ties(keys: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
    return np.flatnonzero(keys[1:] == keys[:-1])


def _same_prefix(
    keys: npt.NDArray[np.int64], low_bits: int, scratch: npt.NDArray[np.int64]
) -> npt.NDArray[np.intp]:
    """Positions ``i`` where ``keys[i]`` and ``keys[i + 1]`` differ in their low bits only."""
    diff = scratch[: len(keys) - 1]
    np.bitwise_xor(keys[1:], keys[:-1], out=diff)
    diff >>= low_bits
    return np.flatnonzero(diff == 0)
