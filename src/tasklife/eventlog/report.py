"""The verdict on an event log, built the same way by every engine.

An engine judges a log whole or in parts, each part holding every event of some of its tasks
(a slice of tasks by hash, spilled to disk or judged on another core; a Dask partition). Each
part gives a :class:`PartialReport`: its counts and its violations as compact columns
(:class:`~tasklife.eventlog.found.Found`: line, kind, states, task, stamps), never as
objects. :func:`assemble` adds the parts up into one :class:`LogReport`, identical to judging
the log whole. Its ``violations`` are a lazy sequence: a
:class:`~tasklife.validation.report.Violation` is built (message and all) only when it is
looked at, so printing 50 of 500,000 builds 50, and ``--format json`` streams them a batch at
a time (:mod:`tasklife.eventlog.writing`).

Violations come in file and line order (then in the order of
:data:`~tasklife.validation.kinds.KINDS`), gaps in the lifecycle's state order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from tasklife.eventlog.found import Found, Violations
from tasklife.lifecycle import Lifecycle
from tasklife.validation.kinds import KIND_NAMES
from tasklife.validation.report import StatusName, Violation

__all__ = ["GapCounts", "LogReport", "Malformed", "PartialReport", "assemble"]

GapCounts = dict[tuple[StatusName, StatusName], tuple[tuple[str, ...], int]]
"""Polling mode: ``(source, dest) -> (the path that explains it, how often it was seen)``."""


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
