"""The vectorised kernel: the same verdicts as validate(), task by task, on generated logs;
the task order it judges in."""

from __future__ import annotations

import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from replaying import CI_JOB, LIFECYCLES, logs
from tasklife.eventlog.kernel import judge
from tasklife.eventlog.order import task_order
from tasklife.eventlog.reading import events_from_objects, read_events
from tasklife.eventlog.table import EventTable
from tasklife.lifecycle import MAX_STATES, Lifecycle, StateDef, TransitionDef
from tasklife.validation import validate

Event = dict[str, Any]


def expected(
    events: list[Event], lc: Lifecycle, mode: str, require_final: bool
) -> dict[Any, list[tuple[Any, ...]]]:
    """validate() on each task's events in (atUsecs, file order) order (a snapshot field is
    judged where its key is present, in both)."""
    mixed = len({type(e["taskId"]) for e in events}) > 1
    per_task: dict[Any, list[tuple[int, Event]]] = defaultdict(list)
    for line, e in enumerate(events):
        per_task[str(e["taskId"]) if mixed else e["taskId"]].append((line, e))
    out = {}
    for tid, numbered in per_task.items():
        history = [e for _, e in sorted(numbered, key=lambda p: (p[1]["atUsecs"], p[0]))]
        report = validate(history, mode=mode, lifecycle=lc, require_final=require_final)
        out[tid] = [
            (v.index, v.kind, v.source, v.dest, v.message, v.path) for v in report.violations
        ]
    return out


def batch_view(report: Any) -> dict[Any, list[tuple[Any, ...]]]:
    out: dict[Any, list[tuple[Any, ...]]] = defaultdict(list)
    for v in report.violations:
        out[v.task].append((v.index, v.kind, v.source, v.dest, v.message, v.path))
    return {t: sorted(vs, key=lambda x: x[0]) for t, vs in out.items()}


def write_jsonl(events: list[Event], path: Path) -> None:
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))


@settings(max_examples=120, deadline=None)
@given(data=st.data(), mode=st.sampled_from(["strict", "polling"]), require=st.booleans())
def test_batch_agrees_with_validate(data: st.DataObject, mode: str, require: bool) -> None:
    lc = data.draw(st.sampled_from([*LIFECYCLES, CI_JOB]))
    events, _ = data.draw(logs(lc))
    want = expected(events, lc, mode, require)
    want = {t: vs for t, vs in want.items() if vs}
    from_objects = judge(
        events_from_objects(events, lifecycle=lc), lifecycle=lc, mode=mode, require_final=require
    )
    assert batch_view(from_objects.report()) == want
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.jsonl"
        write_jsonl(events, path)
        from_file = judge(
            read_events([path], lifecycle=lc), lifecycle=lc, mode=mode, require_final=require
        ).report()
    assert batch_view(from_file) == want
    assert from_file.tasks == len({str(e["taskId"]) for e in events})
    assert from_file.events == len(events) and from_file.malformed == ()
    assert bool(from_file) == (not want)


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    n=st.integers(2, 60),
    tasks=st.integers(1, 9),
    span=st.sampled_from([1, 3, 1000, 2**40, 2**62, 2**64 - 2]),
)
def test_task_order_is_task_then_time_then_line(
    data: st.DataObject, n: int, tasks: int, span: int
) -> None:
    """Whichever way the rows get ordered (packed keys with coarse times and an exact re-sort
    of some tasks, an argsort, a lexsort), it is the (task, at, line) order, whatever the
    rows' order in the table, and whatever the span of the times: up to the whole int64
    range but its reserved smallest value, where an offset key would overflow (issue 12,
    item 4)."""
    task = np.array(data.draw(st.lists(st.integers(0, tasks - 1), min_size=n, max_size=n)))
    low = -(2**63) + 1 if span > 2**62 else -data.draw(st.sampled_from([0, 2**61]))
    at = np.array(
        data.draw(st.lists(st.integers(low, low + span), min_size=n, max_size=n)), np.int64
    )
    line = np.array(data.draw(st.permutations(range(1, n + 1))), np.int64)
    table = EventTable(task.astype(np.int32), np.zeros(n, np.int8), at, line, [])
    order = task_order(table)
    got = np.arange(n) if order is None else order
    assert got.tolist() == np.lexsort((line, at, task)).tolist()


# -- reading event logs ---------------------------------------------------------------------


def test_ties_are_ordered_by_file_order() -> None:
    events = [
        {"taskId": 1, "status": "kRunning", "atUsecs": 5},
        {"taskId": 1, "status": "kSuccess", "atUsecs": 5},
        {"taskId": 1, "status": "kAccepted", "atUsecs": 4},
    ]
    report = judge(events_from_objects(events)).report()
    assert report and report.events == 3


def test_polling_gaps_are_counted_by_pair() -> None:
    events = [
        {"taskId": t, "status": s, "atUsecs": i}
        for t in range(3)
        for i, s in enumerate(["Accepted", "Succeeded"])
    ]
    result = judge(events_from_objects(events), mode="polling")
    assert result.report().gaps == {("Accepted", "Succeeded"): (("start", "succeed"), 3)}


# -- observed flow ----------------------------------------------------------------------------


def test_a_lifecycle_of_the_most_states_reads_and_judges_its_last_state() -> None:
    """Every state of the largest lifecycle gets a code: no overflow of the one-byte codes."""
    n = MAX_STATES
    states = [StateDef(f"s{i}") for i in range(n - 1)] + [StateDef(f"s{n - 1}", outcome="success")]
    lc = Lifecycle(
        "long", "s0", states, [TransitionDef("next", f"s{i}", f"s{i + 1}") for i in range(n - 1)]
    )
    events = [{"taskId": 1, "status": f"s{i}", "atUsecs": i} for i in range(n)]
    events.append({"taskId": 2, "status": f"s{n - 1}", "atUsecs": 0})
    events.append({"taskId": 2, "status": "s0", "atUsecs": 1})
    result = judge(events_from_objects(events, lifecycle=lc), lifecycle=lc)
    assert result.counts == {"after-final": 1}
