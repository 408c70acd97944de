"""The light engine: event logs validated in pure Python (orjson, dicts and lists), the
engine of ``pip install tasklife``, with no numpy, pyarrow or DuckDB.

Theory of operation
-------------------
1. **Read.** Every source is cut into blocks of whole lines (:mod:`tasklife.eventlog.sources`).
   A JSON line of the common shape (the three required keys, maybe ``attempt``; a string or
   64-bit id; an integer time; a status already seen) is taken inline; any other line goes
   through the reference reading (:mod:`tasklife.eventlog.lines`), which decides what it means
   and words why not, exactly as for every other engine. CSV rows come read by the reference.
2. **Group.** Each event becomes one Python int, ``at << shift | line key << 8 | state``,
   appended to its task's list; snapshot fields and attempts go to side tables by line key
   (only for events that have them). Sorting a task's list orders its events by ``(at, line)``:
   no global sort. With a memory budget, tasks are spread by a hash of their id over
   partitions written to a spill directory (:mod:`tasklife.eventlog.spill`) and judged one
   partition at a time.
3. **Judge.** :mod:`tasklife.eventlog.runs` judges each run with the pair table and the
   snapshot rules read from :mod:`tasklife.validation`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import orjson

from tasklife.eventlog.blocks import Block, ReadOptions
from tasklife.eventlog.criteria import NO_OPTIONS, Criteria, RunOptions
from tasklife.eventlog.found import LINE_BITS, line_key
from tasklife.eventlog.lines import Event, read_json_line
from tasklife.eventlog.report import LogReport, Malformed, assemble
from tasklife.eventlog.runs import judge_tasks
from tasklife.eventlog.sources import Progress, Source, each_source
from tasklife.eventlog.spill import Spill, partitions_for
from tasklife.eventlog.statuses import UNKNOWN_STATE, StatusMap
from tasklife.validation.fields import INT64_LIMIT

__all__ = ["BYTES_PER_EVENT", "validate"]

BYTES_PER_EVENT: Final = 160
"""Peak bytes per event of the light engine's in-memory grouping (an int in a task's list,
the list, the dict entry; measured ~140 at 10M events): sizes the partitions for a budget."""
_COMMON_KEYS: Final = (3, 4)
"""Key counts of the common shape: the three required keys, maybe with ``attempt``."""


def validate(
    sources: Sequence[Source],
    criteria: Criteria,
    *,
    progress: Progress | None = None,
    options: RunOptions = NO_OPTIONS,
) -> LogReport:
    """Read ``sources`` and judge every task by ``criteria`` (an engine; see
    :mod:`tasklife.eventlog.engines`).

    >>> from tasklife.lifecycle import COPY_TASK
    >>> validate(["examples/copy-run.jsonl"], Criteria(COPY_TASK, mode="polling")).tasks
    300
    """
    parts = partitions_for(sources, options.memory_limit, BYTES_PER_EVENT)
    statuses = StatusMap(criteria.lifecycle, criteria.vocabulary)
    with Spill(parts, options.tmp) as spill:
        reader = _Reader(statuses, spill, len(sources))
        names: list[str] = []
        read = ReadOptions(options.max_line_bytes, progress)
        for key, name, blocks in each_source(sources, read):
            names.append(name)
            for block in blocks:
                reader.block(key, name, block)
        spill.flush()
        vocab = statuses.vocabulary()
        text_ids = reader.has_str and reader.has_int
        partials = [
            judge_tasks(tasks, criteria, text_ids, reader.shift) for tasks in spill.partitions()
        ]
    malformed = reader.malformed
    if text_ids:
        malformed = [_text_task(m) for m in malformed]
    return assemble(
        partials,
        sources=names,
        malformed=malformed,
        lifecycle=criteria.lifecycle,
        mode=criteria.mode,
        vocabulary=vocab,
    )


def _text_task(m: Malformed) -> Malformed:
    return m if m.task is None else Malformed(m.file, m.line, m.reason, m.kind, str(m.task))


class _Reader:
    """Decodes blocks into the partitions' tasks (see the module docstring)."""

    def __init__(self, statuses: StatusMap, spill: Spill, sources: int) -> None:
        self.statuses, self.spill = statuses, spill
        self.malformed: list[Malformed] = []
        self.has_int = self.has_str = False
        self.shift = 8 + LINE_BITS + max(sources, 1).bit_length()
        """Where the time starts in a packed event (above the line key and the state)."""

    def block(self, key: int, name: str, block: Block) -> None:
        if block.data is not None:
            self._json_block(key, name, block.data, block.first)
        else:
            for line, got in block.rows:
                self._event(key, name, line, got)

    def _event(self, key: int, name: str, line: int, got: Event | str) -> None:
        """One event read by the reference (or the reason there is none)."""
        code = self.statuses.state_of(name, line, got)
        if isinstance(code, Malformed):
            self.malformed.append(code)
            if code.task is not None:  # unknown-status: its task is counted
                self.spill.unknown(code.task)
                self._saw(code.task)
            return
        assert not isinstance(got, str)
        lk = line_key(key, line)
        self._saw(got.task)
        self.spill.add(got.task, (got.at << self.shift) + (lk << 8) + code, lk, got)

    def _saw(self, task: Any) -> None:
        if type(task) is int:
            self.has_int = True
        else:
            self.has_str = True

    def _json_block(self, key: int, name: str, data: bytes, first: int) -> None:
        """The hot loop (see the module docstring): the common shape inline."""
        loads, codes, add = orjson.loads, self.statuses.codes, self.spill.add_packed
        low, high, shift, base = -INT64_LIMIT, INT64_LIMIT, self.shift, key << LINE_BITS
        line = first - 1
        has_int = has_str = False
        for raw in data.split(b"\n"):
            line += 1
            try:
                d = loads(raw)
                task, status, at = d["taskId"], d["status"], d["atUsecs"]
                code = codes[status]
            except Exception:  # bad JSON, not an object, a missing key, a status not seen yet
                code = UNKNOWN_STATE
            else:
                kind = type(task)
                if (
                    code >= 0
                    and len(d) in _COMMON_KEYS
                    and type(at) is int
                    and low < at < high
                    and ((kind is str and task != "") or (kind is int and low < task < high))
                    and (len(d) == 3 or d.get("attempt", -1) is None)
                ):
                    add(task, (at << shift) + ((base | line) << 8) + code)
                    if kind is str:
                        has_str = True
                    else:
                        has_int = True
                    continue
            got = read_json_line(raw) if raw else None
            if got is not None:
                self._event(key, name, line, got)
        self.has_int |= has_int
        self.has_str |= has_str
