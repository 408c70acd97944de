"""Shared test helpers: the machine replay that differential tests compare against, and
hypothesis strategies of histories and interleaved logs.

The replay knows nothing of ``Lifecycle.path`` or the kernel's pair table: it drives a real
tracked record (``tasklife.tracking.Task`` bound to the lifecycle) and asks the shared
``transitions`` machine, trigger by trigger, which moves it accepts. Strict: a change is legal
when one accepted trigger lands on the observed status. Polling: a breadth-first search over
accepted triggers (in table order) finds the shortest explaining path. After a violation the
replay re-reads the task at its observed status, as validate() does.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from tasklife.errors import InvalidRecord, InvalidTransition
from tasklife.lifecycle import COPY_TASK, COPY_TASK_6_8, Lifecycle, get_lifecycle
from tasklife.tracking import Task

CI_JOB = get_lifecycle(Path(__file__).resolve().parents[1] / "examples" / "ci-job.toml")
LIFECYCLES = [COPY_TASK, COPY_TASK_6_8]


def fire(record: Any, trigger: str, at: int) -> bool:
    """Fire ``trigger``; False when the machine refuses it (the record is left unchanged)."""
    try:
        try:
            record.fire(trigger, at_usecs=at)
        except InvalidRecord:  # a trigger into a failure state needs an error
            record.fire(trigger, at_usecs=at, error="replayed")
    except InvalidTransition:
        return False
    return True


def moves(lc: Lifecycle, status: str, at: int) -> list[tuple[str, str]]:
    """``(trigger, new status)`` for each trigger the machine accepts from ``status``."""
    record_cls = Task.for_lifecycle(lc)
    out = []
    for trigger in lc.triggers:
        record = record_cls(status=status)
        if fire(record, trigger, at):
            out.append((trigger, record.status))
    return out


def machine_path(lc: Lifecycle, source: str, dest: str) -> tuple[str, ...] | None:
    queue: deque[tuple[str, tuple[str, ...]]] = deque([(source, ())])
    seen = {source}
    while queue:
        here, path = queue.popleft()
        for trigger, there in moves(lc, here, 0):
            if there == dest:
                return (*path, trigger)
            if there not in seen:
                seen.add(there)
                queue.append((there, (*path, trigger)))
    return None


def replay(
    history: list[str], lc: Lifecycle, mode: str
) -> tuple[list[tuple[int, str]], list[tuple[int, tuple[str, ...]]]]:
    """``(violations as (index, kind), gaps as (index, path))`` from driving a record."""
    record_cls = Task.for_lifecycle(lc)
    record = None
    violations: list[tuple[int, str]] = []
    gaps: list[tuple[int, tuple[str, ...]]] = []
    for i, status in enumerate(history):
        if record is None or status == record.status:
            record = record or record_cls(status=status)
            continue
        if record.is_final:
            violations.append((i, "after-final"))
            record = record_cls(status=status)
            continue
        direct = [t for t, there in moves(lc, record.status, i) if there == status]
        path = (direct[0],) if direct else machine_path(lc, record.status, status)
        if path is None or (mode == "strict" and len(path) > 1):
            violations.append((i, "illegal-transition"))
            record = record_cls(status=status)
            continue
        for trigger in path:
            assert fire(record, trigger, i)
        assert record.status == status
        if len(path) > 1:
            gaps.append((i, path))
    return violations, gaps


@st.composite
def histories(draw: st.DrawFn, lc: Lifecycle, max_size: int = 10) -> list[str]:
    """Walks through ``lc``: mostly legal steps, some re-observations, skips and jumps."""
    names = lc.state_names
    status = draw(st.sampled_from(names))
    out = [status]
    for _ in range(draw(st.integers(0, max_size - 1))):
        step = draw(st.sampled_from(["legal", "legal", "legal", "same", "skip", "jump"]))
        if step == "legal" and lc.triggers_from(status):
            status = lc.dest(draw(st.sampled_from(lc.triggers_from(status))), status) or status
        elif step == "skip":
            reachable = [n for n in names if lc.path(status, n)]
            status = draw(st.sampled_from(reachable)) if reachable else status
        elif step == "jump":
            status = draw(st.sampled_from(names))
        out.append(status)
    return out


Event = dict[str, Any]


@st.composite
def logs(
    draw: st.DrawFn,
    lc: Lifecycle,
    vocabularies: tuple[str, ...] = ("v1", "v2"),
    ties: bool = True,
) -> tuple[list[Event], bool]:
    """Interleaved events of a few tasks, in one vocabulary of ``vocabularies`` (``mixed``:
    each event in any of v1, v2 and codes), with or without snapshots; ``ties``: a task's
    events may share a time (their order is then the file's)."""
    snapshots = draw(st.booleans())
    vocab = draw(st.sampled_from(vocabularies))
    ids = draw(st.sampled_from(["int", "str", "mixed"]))
    steps = [0, 1, 1, 5] if ties else [1, 1, 5]
    events: list[Event] = []
    for n in range(draw(st.integers(1, 6))):
        tid: Any = {"int": n, "str": f"t{n}", "mixed": n if n % 2 else f"t{n}"}[ids]
        at = draw(st.integers(0, 3))
        for status in draw(histories(lc, max_size=7)):
            at += draw(st.sampled_from(steps))
            said = vocab if vocab != "mixed" else draw(st.sampled_from(["v1", "v2", "code"]))
            event: Event = {"taskId": tid, "status": lc.translate(status, said), "atUsecs": at}
            if snapshots:
                for key, values in (
                    ("taskStartTimeUsecs", [None, 100, 100, 101]),
                    ("taskEndTimeUsecs", [None, None, 200, 50, 100]),
                    ("error", [None, None, "", "boom"]),
                ):
                    value = draw(st.sampled_from([*values, "absent"]))
                    if value != "absent":
                        event[key] = value
            events.append(event)
    order = draw(st.permutations(range(len(events))))
    return [events[i] for i in order], snapshots
