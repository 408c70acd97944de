"""Partitions of a log's tasks by a hash of their ids: in memory, or spilled to files.

The light engine's answer to a log larger than memory (issue 14, goal 2): with a budget,
every event goes to one of ``P`` partitions chosen by a hash of its task id (the id's text,
so ``7`` and ``"7"`` meet), buffered and appended to a file of its own in a spill directory;
then each partition is read back alone and judged whole. A task's events all land in one
partition, so the verdicts are those of judging in memory, and the report is the same.

The spill directory is ``tasklife-spill-*`` under the directory the user chose (``--tmp``;
else the platform's temporary directory), created when the first partition is written and
removed, files and all, when the engine is done, whatever happens.

>>> with Spill(1) as spill:
...     spill.add_packed("a", 5)
...     [dict(t.lists) for t in spill.partitions()]
[{'a': [5]}]
"""

from __future__ import annotations

import math
import os
import pickle
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from typing import IO, Any, Final

from tasklife.eventlog.lines import Event
from tasklife.eventlog.runs import Tasks
from tasklife.eventlog.sources import GZIP_MAGIC, Source

__all__ = [
    "BASE_BYTES",
    "BYTES_PER_LINE",
    "GZIP_RATIO",
    "MAX_PARTITIONS",
    "SPILL_PREFIX",
    "UNSIZED_PARTITIONS",
    "Spill",
    "partitions_for",
]

SPILL_PREFIX: Final = "tasklife-spill-"
"""Spill directories' names start so (not ``tasklife-``: some cleaners remove those)."""
BYTES_PER_LINE: Final = 60
"""A low guess of the bytes of one event's line (the measured logs: 40-75), to estimate the
events of a file from its size: a low guess errs on the side of more partitions."""
GZIP_RATIO: Final = 6
"""How much larger a gzip log is decompressed (event logs compress 5-10x)."""
BASE_BYTES: Final = 64 << 20
"""Memory the engine needs whatever the log: the interpreter, modules, buffers."""
UNSIZED_PARTITIONS: Final = 16
"""Partitions for a budget over sources of unknown size (standard input, streams)."""
MAX_PARTITIONS: Final = 1 << 10
"""The most partitions (each an open file while the log is read)."""
_BUFFERED_ROWS: Final = 1 << 16
"""Rows held per partition before they are appended to its file."""


def partitions_for(
    sources: Sequence[Source], budget: int | None, bytes_per_event: int, base: int = BASE_BYTES
) -> int:
    """How many partitions keep a judge's memory within ``budget`` bytes (a power of two;
    1 without a budget).

    >>> partitions_for(["examples/copy-run.jsonl"], None, 160), partitions_for(["-"], 1, 160)
    (1, 16)
    """
    if budget is None:
        return 1
    size = 0
    for source in sources:
        if not isinstance(source, str | os.PathLike) or not os.path.isfile(source):
            return UNSIZED_PARTITIONS
        with open(source, "rb") as f:
            ratio = GZIP_RATIO if f.read(2) == GZIP_MAGIC else 1
        size += os.path.getsize(source) * ratio
    need = size // BYTES_PER_LINE * bytes_per_event
    # a budget below the engine's own needs cannot be met: it then gets the smallest
    # partitions it can (this is also how tests force spilling on small data)
    room = max(budget - base, budget // 4, 1)
    return min(MAX_PARTITIONS, 1 << max(0, math.ceil(math.log2(max(need / room, 1)))))


class SpillFiles:
    """One file per partition in a ``tasklife-spill-*`` directory under ``tmp``, both
    created when first written to; :meth:`close` removes them all, whatever happened."""

    def __init__(self, parts: int, tmp: str | None) -> None:
        self.tmp = tmp
        self.directory: str | None = None
        self.files: list[IO[bytes] | None] = [None] * parts

    def open(self, part: int) -> IO[bytes]:
        """The file of ``part``, opened for appending and reading back."""
        f = self.files[part]
        if f is None:
            if self.directory is None:
                self.directory = tempfile.mkdtemp(prefix=SPILL_PREFIX, dir=self.tmp)
            path = os.path.join(self.directory, f"part-{part:04d}")
            f = self.files[part] = open(path, "w+b")  # noqa: SIM115 (closed by close)
        return f

    def read(self, part: int) -> Iterator[Any]:
        """The pickled frames of ``part``, then its file is deleted."""
        f = self.files[part]
        if f is None:
            return
        f.seek(0)
        while True:
            try:
                yield pickle.load(f)
            except EOFError:
                break
        f.close()
        os.remove(f.name)
        self.files[part] = None

    def close(self) -> None:
        for f in self.files:
            if f is not None:
                f.close()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)


class Spill:
    """The partitions (see the module docstring); a context manager that removes its files."""

    def __init__(self, parts: int, tmp: str | None = None) -> None:
        self.parts, self.tmp = parts, tmp
        self.memory = Tasks()
        self.buffers: list[list[tuple[Any, ...]]] = [[] for _ in range(parts)]
        self.files = SpillFiles(parts, tmp)

    def __enter__(self) -> Spill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.files.close()

    def _part(self, task: Any) -> int:
        return hash(task if type(task) is str else str(task)) & (self.parts - 1)

    def add_packed(self, task: Any, packed: int) -> None:
        """An event without snapshot fields or attempt (the hot path)."""
        if self.parts == 1:
            got = self.memory.lists.get(task)
            if got is None:
                self.memory.lists[task] = [packed]
            else:
                got.append(packed)
            return
        self._buffer(self._part(task), (task, packed, 0, None, 0))

    def add(self, task: Any, packed: int, key: int, event: Event) -> None:
        """An event read by the reference, with its snapshot fields and attempt."""
        if self.parts == 1:
            self.memory.add(task, packed, key, event.snap, event.attempt)
        else:
            self._buffer(self._part(task), (task, packed, key, event.snap, event.attempt))

    def unknown(self, task: Any) -> None:
        """A task named by an unknown-status line (it counts as a task: issue 12, item 7)."""
        if self.parts == 1:
            self.memory.unknown.add(task)
        else:
            self._buffer(self._part(task), (task, None, 0, None, 0))

    def _buffer(self, part: int, row: tuple[Any, ...]) -> None:
        buffer = self.buffers[part]
        buffer.append(row)
        if len(buffer) >= _BUFFERED_ROWS:
            self._write(part)

    def _write(self, part: int) -> None:
        pickle.dump(self.buffers[part], self.files.open(part), pickle.HIGHEST_PROTOCOL)
        self.buffers[part] = []

    def flush(self) -> None:
        """Write what is still buffered (reading is done)."""
        for part in range(self.parts):
            if self.parts > 1 and self.buffers[part]:
                self._write(part)

    def partitions(self) -> Iterator[Tasks]:
        """Each partition's tasks, one at a time (a spilled one read back, then deleted)."""
        if self.parts == 1:
            yield self.memory
            return
        for part in range(self.parts):
            if self.files.files[part] is None:
                continue
            tasks = Tasks()
            for rows in self.files.read(part):
                for task, packed, key, snap, attempt in rows:
                    if packed is None:
                        tasks.unknown.add(task)
                    else:
                        tasks.add(task, packed, key, snap, attempt)
            yield tasks
