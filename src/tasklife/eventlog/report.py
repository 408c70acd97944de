"""The verdict on an event log, built the same way by every engine.

An engine judges a log whole or in parts, each part holding every event of some of its tasks
(a slice of tasks by hash, spilled to disk or judged on another core; a Dask partition). Each
part gives a :class:`PartialReport`: its counts and its violations as compact columns
(:class:`Found`: line, kind, states, task, stamps), never as objects. :func:`assemble` adds the
parts up into one :class:`LogReport`, identical to judging the log whole. Its ``violations``
are a lazy sequence: a :class:`~tasklife.validation.report.Violation` is built (message and
all) only when it is looked at, so printing 50 of 500,000 builds 50, and ``--format json``
streams them a batch at a time (:mod:`tasklife.eventlog.writing`).

Violations come in file and line order (then in the order of
:data:`~tasklife.validation.kinds.KINDS`), gaps in the lifecycle's state order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Final, overload

import attrs

from tasklife.lifecycle import Lifecycle
from tasklife.validation.kinds import KIND, KIND_NAMES, MISSING, Said
from tasklife.validation.report import StatusName, Violation

__all__ = [
    "LINE_BITS",
    "NO_STATE",
    "Found",
    "GapCounts",
    "LogReport",
    "Malformed",
    "PartialReport",
    "assemble",
    "line_key",
]

LINE_BITS: Final = 40
"""A line key is ``source index << LINE_BITS | line number``, so keys sort in file order:
2**40 lines per source (a trillion) and, in a non-negative int64, 2**23 sources."""
NO_STATE: Final = -1
"""The source state of a task's first event."""
NO_ATTEMPT: Final = -1
"""The attempt of an event of a log without attempts."""
_FIELDS: Final = ("key", "kind", "index", "src", "dst", "task", "attempt", "value", "before")

GapCounts = dict[tuple[StatusName, StatusName], tuple[tuple[str, ...], int]]
"""Polling mode: ``(source, dest) -> (the path that explains it, how often it was seen)``."""


def line_key(source: int, line: int) -> int:
    """The line key of ``line`` of source number ``source``.

    >>> line_key(1, 5) >> LINE_BITS, line_key(1, 5) & ((1 << LINE_BITS) - 1)
    (1, 5)
    """
    return source << LINE_BITS | line


@attrs.frozen
class Malformed:
    """A line that holds no usable event, and why (``kind``: malformed or unknown-status);
    ``task``: the task an unknown-status line names (issue 12, item 7).

    >>> Malformed("log.jsonl", 3, "bad JSON: unexpected character").to_dictionary()["line"]
    3
    """

    file: str
    line: int
    reason: str
    kind: str = "malformed"
    task: str | int | None = None

    def to_dictionary(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.define
class Found:
    """Violations as parallel columns (lists, or numpy arrays from the fast engine), one row
    each: line ``key``, ``kind`` (index in ``KINDS``), ``index`` in its run, ``src``/``dst``
    state indices (``src`` :data:`NO_STATE` for a first event), ``task`` id, ``attempt``
    (:data:`NO_ATTEMPT`: none), and the stamps its message names (``value``, ``before``;
    None or the ``missing`` sentinel when none)."""

    key: Any = attrs.Factory(list)
    kind: Any = attrs.Factory(list)
    index: Any = attrs.Factory(list)
    src: Any = attrs.Factory(list)
    dst: Any = attrs.Factory(list)
    task: Any = attrs.Factory(list)
    attempt: Any = attrs.Factory(list)
    value: Any = attrs.Factory(list)
    before: Any = attrs.Factory(list)

    def __len__(self) -> int:
        return len(self.key)

    def columns(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f) for f in _FIELDS)

    @classmethod
    def concat(cls, parts: Sequence[Found]) -> Found:
        """The rows of all ``parts``, in line order."""
        parts = [p for p in parts if len(p)]
        if len(parts) == 1:
            return parts[0].in_line_order()
        if not parts:
            return cls()
        if any(_is_array(p.key) for p in parts):
            import numpy as np

            cols: list[Any] = [
                np.concatenate([np.asarray(p.columns()[i]) for p in parts]) for i in range(9)
            ]
        else:
            cols = [[x for p in parts for x in p.columns()[i]] for i in range(9)]
        return cls(*cols).in_line_order()

    def in_line_order(self) -> Found:
        """The same rows sorted by (line key, kind)."""
        if _is_array(self.key):
            import numpy as np

            order = np.lexsort((np.asarray(self.kind), np.asarray(self.key)))
            return Found(*(np.asarray(c)[order] for c in self.columns()))
        rows = sorted(range(len(self.key)), key=lambda i: (self.key[i], self.kind[i]))
        return Found(*([c[i] for i in rows] for c in self.columns()))


def _is_array(column: Any) -> bool:
    return not isinstance(column, list)


def _pylist(column: Any) -> list[Any]:
    return column.tolist() if hasattr(column, "tolist") else list(column)


class Violations(Sequence[Violation]):
    """The violations of a log, built from :class:`Found` rows when looked at (see the
    module docstring); messages without stamps are built once per (kind, source, dest)."""

    def __init__(
        self, found: Found, lifecycle: Lifecycle, mode: str, vocabulary: str, files: Sequence[str]
    ) -> None:
        self.found, self.lc, self.mode, self.vocab = found, lifecycle, mode, vocabulary
        self.files = list(files)
        self._said = [lifecycle.translate(s, vocabulary) for s in lifecycle.state_names]
        self._texts: dict[tuple[int, int, int], tuple[str, tuple[str, ...] | None]] = {}

    def __len__(self) -> int:
        return len(self.found)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{len(self)} violations>"

    @overload
    def __getitem__(self, i: int) -> Violation: ...
    @overload
    def __getitem__(self, i: slice) -> list[Violation]: ...
    def __getitem__(self, i: int | slice) -> Violation | list[Violation]:
        if isinstance(i, slice):
            lo, hi, step = i.indices(len(self))
            if step != 1:
                return [self[j] for j in range(lo, hi, step)]
            return self.build(lo, hi)
        j = range(len(self))[i]
        return self.build(j, j + 1)[0]

    def __iter__(self) -> Iterator[Violation]:
        for batch in self.batches():
            yield from batch

    def batches(self, size: int = 1 << 13) -> Iterator[list[Violation]]:
        """The violations ``size`` at a time."""
        for lo in range(0, len(self), size):
            yield self.build(lo, min(lo + size, len(self)))

    def build(self, lo: int, hi: int) -> list[Violation]:
        """Violations ``lo`` to ``hi`` (see :class:`Found`)."""
        return [
            Violation(i, k, s, d, m, p, t, f, n, None if a == NO_ATTEMPT else a)
            for i, k, s, d, m, p, t, f, n, a in self._rows(lo, hi)
        ]

    def dicts(self, lo: int, hi: int) -> list[dict[str, Any]]:
        """:meth:`~tasklife.validation.report.Violation.to_dictionary` of violations ``lo``
        to ``hi``, made without the objects (the JSON report's way: a third of the time)."""
        cols = [_pylist(c[lo:hi]) for c in self.found.columns()]
        fixed: dict[tuple[int, int, int], tuple[Any, ...]] = {}
        files, mask = self.files, (1 << LINE_BITS) - 1
        out = []
        for key, kind, index, src, dst, task, attempt, value, before in zip(*cols, strict=True):
            if (value is None or value == MISSING) and (before is None or before == MISSING):
                same = fixed.get((kind, src, dst))
                if same is None:
                    same = fixed[(kind, src, dst)] = self._fixed(kind, src, dst, None, None)
            else:
                same = self._fixed(kind, src, dst, value, before)
            name, source, dest, text, path = same
            row = {
                "index": index,
                "kind": name,
                "source": source,
                "dest": dest,
                "message": text,
                "path": path,
                "task": task,
                "file": files[key >> LINE_BITS],
                "line": key & mask,
            }
            if attempt != NO_ATTEMPT:
                row["attempt"] = attempt
            out.append(row)
        return out

    def _fixed(self, kind: int, src: int, dst: int, value: Any, before: Any) -> tuple[Any, ...]:
        """What a violation's dict takes from its kind, states and stamps."""
        _, name, source, dest, text, path, *_ = next(
            self._rows_of([[0], [kind], [0], [src], [dst], [None], [NO_ATTEMPT], [value], [before]])
        )
        return name, source, dest, text, None if path is None else list(path)

    def _rows(self, lo: int, hi: int) -> Iterator[tuple[Any, ...]]:
        return self._rows_of([_pylist(c[lo:hi]) for c in self.found.columns()])

    def _rows_of(self, cols: list[list[Any]]) -> Iterator[tuple[Any, ...]]:
        names, say, mask = self.lc.state_names, self._said, (1 << LINE_BITS) - 1
        texts, files = self._texts, self.files
        for key, kind, index, src, dst, task, attempt, value, before in zip(*cols, strict=True):
            value, before = _stamp(value), _stamp(before)
            plain = value is None and before is None
            text_path = texts.get((kind, src, dst)) if plain else None
            row = KIND[KIND_NAMES[kind]]
            if text_path is None:
                path = None
                if row.name == "illegal-transition" and src != NO_STATE:
                    path = self.lc.path(names[src], names[dst])
                source = None if src == NO_STATE else say[src]
                said = Said(source, say[dst], self.lc.name, self.mode, path, value, before)
                text_path = (row.describe(said), path)
                if plain:
                    texts[(kind, src, dst)] = text_path
            yield (
                index,
                row.name,
                None if src == NO_STATE else say[src],
                say[dst],
                text_path[0],
                text_path[1],
                task,
                files[key >> LINE_BITS],
                key & mask,
                attempt,
            )


def _stamp(value: Any) -> Any:
    return None if value is None or value == MISSING else value


@attrs.frozen
class PartialReport:
    """The verdicts on some of a log's tasks, every event of each of them; ``gaps`` counts
    each ``(source, dest)`` pair of state indices polling mode explained."""

    tasks: int
    events: int
    still_active: int
    counts: dict[str, int]
    gaps: dict[tuple[int, int], int]
    found: Found


@attrs.frozen
class LogReport:
    """The verdict on an event log: what ``tasklife validate`` prints; truthy when valid.

    Violations come in file and line order; ``gaps`` (polling mode) maps each explained
    ``(source, dest)`` pair to its trigger path and how often it was seen.

    >>> from tasklife import validate_log
    >>> report = validate_log("examples/copy-run.jsonl", mode="polling")
    >>> bool(report), report.gaps[("kAccepted", "kSuccess")]
    (False, (('start', 'succeed'), 5))
    """

    sources: tuple[str, ...]
    lifecycle: str
    mode: str
    vocabulary: str
    tasks: int
    events: int
    lines: int
    still_active: int
    counts: dict[str, int]
    gaps: GapCounts
    violations: Sequence[Violation]
    malformed: tuple[Malformed, ...]

    def __bool__(self) -> bool:
        return not self.violations and not self.malformed

    def summary(self) -> dict[str, Any]:
        """The summary part of :meth:`to_dictionary`."""
        by_kind = dict(self.counts)
        for m in self.malformed:
            by_kind[m.kind] = by_kind.get(m.kind, 0) + 1
        return {
            "valid": bool(self),
            "files": list(self.sources),
            "lifecycle": self.lifecycle,
            "mode": self.mode,
            "vocabulary": self.vocabulary,
            "tasks": self.tasks,
            "events": self.events,
            "lines": self.lines,
            "malformed_lines": len(self.malformed),
            "still_active_tasks": self.still_active,
            "violations": len(self.violations),
            "by_kind": {k: by_kind[k] for k in (*KIND_NAMES, "malformed") if k in by_kind},
            "gaps": [
                {"source": s, "dest": t, "path": list(p), "count": c}
                for (s, t), (p, c) in self.gaps.items()
            ],
        }

    def to_dictionary(self) -> dict[str, Any]:
        """One JSON-ready document: the summary, every violation and every malformed line."""
        return {
            "summary": self.summary(),
            "violations": [v.to_dictionary() for v in self.violations],
            "malformed": [m.to_dictionary() for m in self.malformed],
        }


def assemble(
    parts: Sequence[PartialReport],
    *,
    sources: Sequence[str],
    malformed: Sequence[Malformed],
    lifecycle: Lifecycle,
    mode: str,
    vocabulary: str,
    extra_tasks: int = 0,
) -> LogReport:
    """One :class:`LogReport` from the reports on parts of a log's tasks (see the module
    docstring), the log's malformed lines, and ``extra_tasks``: tasks named only by
    unknown-status lines.

    >>> from tasklife.lifecycle import COPY_TASK
    >>> part = PartialReport(1, 2, 0, {}, {}, Found())
    >>> assemble([part, part], sources=["a.jsonl"], malformed=[], lifecycle=COPY_TASK,
    ...          mode="strict", vocabulary="v1").tasks
    2
    """
    names = list(sources)
    counts: dict[str, int] = {}
    gap_counts: dict[tuple[int, int], int] = {}
    for p in parts:
        for k, c in p.counts.items():
            counts[k] = counts.get(k, 0) + c
        for pair, c in p.gaps.items():
            gap_counts[pair] = gap_counts.get(pair, 0) + c
    states = lifecycle.state_names
    gaps: GapCounts = {
        (lifecycle.translate(states[s], vocabulary), lifecycle.translate(states[t], vocabulary)): (
            lifecycle.path(states[s], states[t]) or (),
            c,
        )
        for (s, t), c in sorted(gap_counts.items())
    }
    events = sum(p.events for p in parts)
    bad = tuple(sorted(malformed, key=lambda m: (_index(names, m.file), m.line)))
    found = Found.concat([p.found for p in parts])
    return LogReport(
        sources=tuple(names),
        lifecycle=lifecycle.name,
        mode=mode,
        vocabulary=vocabulary,
        tasks=sum(p.tasks for p in parts) + extra_tasks,
        events=events,
        lines=events + len(bad),
        still_active=sum(p.still_active for p in parts),
        counts={k: counts[k] for k in KIND_NAMES if k in counts},
        gaps=gaps,
        violations=Violations(found, lifecycle, mode, vocabulary, names),
        malformed=bad,
    )


def _index(names: list[str], file: str | None) -> int:
    return names.index(file) if file in names else 0
