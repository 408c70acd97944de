"""Differential test: the vectorised kernel gives the verdicts of replaying each task through the
shared transitions machine (``tasklife.tracking``), on generated interleaved logs."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from replaying import CI_JOB, LIFECYCLES, logs, replay
from tasklife.eventlog.kernel import judge
from tasklife.eventlog.reading import events_from_objects


@settings(max_examples=100, deadline=None)
@given(data=st.data(), mode=st.sampled_from(["strict", "polling"]))
def test_batch_agrees_with_the_machine(data: st.DataObject, mode: str) -> None:
    lc = data.draw(st.sampled_from([*LIFECYCLES, CI_JOB]))
    events, _ = data.draw(logs(lc))
    events = [{k: e[k] for k in ("taskId", "status", "atUsecs")} for e in events]
    per_task: dict[Any, list[tuple[int, int, str]]] = defaultdict(list)
    for line, e in enumerate(events):
        per_task[str(e["taskId"])].append((e["atUsecs"], line, lc.canonical(e["status"]) or ""))
    want: dict[str, list[tuple[int, str]]] = {}
    want_gaps: Counter[tuple[str, ...]] = Counter()
    for tid, rows in per_task.items():
        violations, gaps = replay([s for *_, s in sorted(rows)], lc, mode)
        if violations:
            want[tid] = violations
        want_gaps.update(path for _, path in gaps)

    report = judge(events_from_objects(events, lifecycle=lc), lifecycle=lc, mode=mode).report()
    got: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for v in report.violations:
        got[str(v.task)].append((v.index, v.kind))
    assert {t: sorted(vs) for t, vs in got.items()} == want
    got_gaps: Counter[tuple[str, ...]] = Counter()
    for path, n in report.gaps.values():
        got_gaps[path] += n
    assert got_gaps == want_gaps
