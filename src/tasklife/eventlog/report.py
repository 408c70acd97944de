"""The verdict on an event log, and how the verdicts on parts of its tasks make one.

Any engine may judge a log in parts, each holding every event of some of its tasks (a Dask
partition, a slice of tasks spilled to disk): each part gives a :class:`PartialReport`, and
:func:`merge_reports` adds them up into the one :class:`LogReport`, identical to judging the
log whole. Violations come in file and line order (then in the order of
:data:`~tasklife.validation.kinds.KINDS`), gaps in the lifecycle's state order.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from typing import Any, Final

import attrs

from tasklife.lifecycle import Lifecycle
from tasklife.validation.kinds import KIND_NAMES
from tasklife.validation.report import StatusName, Violation

__all__ = ["GapCounts", "LogReport", "Malformed", "PartialReport", "merge_reports"]

GapCounts = dict[tuple[StatusName, StatusName], tuple[tuple[str, ...], int]]
"""Polling mode: ``(source, dest) -> (the path that explains it, how often it was seen)``."""

_KIND_ORDER: Final = {k: i for i, k in enumerate(KIND_NAMES)}


@attrs.frozen
class Malformed:
    """A line that holds no usable event, and why (``kind``: malformed or unknown-status).

    >>> Malformed("log.jsonl", 3, "bad JSON: unexpected character").to_dictionary()["line"]
    3
    """

    file: str
    line: int
    reason: str
    kind: str = "malformed"

    def to_dictionary(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen
class PartialReport:
    """The verdicts on some of a log's tasks, every event of each of them.

    ``violations`` are in file and line order (then kind order), ``counts`` per kind.
    """

    tasks: int
    events: int
    still_active: int
    counts: dict[str, int]
    gaps: GapCounts
    violations: Sequence[Violation]


@attrs.frozen
class LogReport:
    """The verdict on an event log: what ``tasklife validate`` prints; truthy when valid.

    Violations come in file and line order; ``gaps`` (polling mode) maps each explained
    ``(source, dest)`` pair to its trigger path and how often it was seen.

    >>> from tasklife.eventlog.reading import events_from_objects
    >>> from tasklife.eventlog.kernel import judge
    >>> log = events_from_objects([{"taskId": "a", "status": "kAccepted", "atUsecs": 1},
    ...                            {"taskId": "a", "status": "kSuccess", "atUsecs": 2}])
    >>> report = judge(log, mode="polling").report()
    >>> bool(report), report.gaps
    (True, {('kAccepted', 'kSuccess'): (('start', 'succeed'), 1)})
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
    violations: tuple[Violation, ...]
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


def merge_reports(
    parts: Sequence[PartialReport],
    *,
    sources: Sequence[str],
    malformed: Sequence[Malformed],
    lifecycle: Lifecycle,
    mode: str,
    vocabulary: str,
) -> LogReport:
    """One :class:`LogReport` from the reports on parts of a log's tasks (see the module
    docstring) and the log's malformed lines.

    >>> from tasklife.lifecycle import COPY_TASK
    >>> part = PartialReport(1, 2, 0, {}, {}, [])
    >>> merge_reports([part, part], sources=["a.jsonl"], malformed=[], lifecycle=COPY_TASK,
    ...               mode="strict", vocabulary="v1").tasks
    2
    """
    names = list(sources)

    def line_order(v: Violation) -> tuple[int, int, int]:
        return _index(names, v.file), v.line or 0, _KIND_ORDER[v.kind]

    if len(parts) == 1:
        violations = tuple(parts[0].violations)
    else:
        violations = tuple(heapq.merge(*(p.violations for p in parts), key=line_order))
    counts: dict[str, int] = {}
    gaps: GapCounts = {}
    for p in parts:
        for k, c in p.counts.items():
            counts[k] = counts.get(k, 0) + c
        for pair, (path, c) in p.gaps.items():
            gaps[pair] = (path, gaps.get(pair, (path, 0))[1] + c)

    def state_order(pair: tuple[StatusName, StatusName]) -> tuple[int, int]:
        return lifecycle.index[lifecycle.canonical(pair[0]) or ""], lifecycle.index[
            lifecycle.canonical(pair[1]) or ""
        ]

    events = sum(p.events for p in parts)
    bad = tuple(sorted(malformed, key=lambda m: (_index(names, m.file), m.line)))
    return LogReport(
        sources=tuple(names),
        lifecycle=lifecycle.name,
        mode=mode,
        vocabulary=vocabulary,
        tasks=sum(p.tasks for p in parts),
        events=events,
        lines=events + len(bad),
        still_active=sum(p.still_active for p in parts),
        counts={k: counts[k] for k in KIND_NAMES if k in counts},
        gaps=dict(sorted(gaps.items(), key=lambda g: state_order(g[0]))),
        violations=violations,
        malformed=bad,
    )


def _index(names: list[str], file: str | None) -> int:
    return names.index(file) if file in names else 0
