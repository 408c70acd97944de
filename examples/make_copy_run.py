"""Generate ``examples/copy-run.jsonl``: what a poller saw of one Cohesity copy run.

Each task lives its life on a real tracked record (``tasklife.tracking.Task``, so every change
is a legal transition stamped by the shared machine): queued, then mostly run to success, some
finish with a warning, fail, are held and resumed, canceled, or missed. A poller reads every
task about every 30 seconds and writes a JSON Lines event when it sees a change (and now and
then a re-observation), with the snapshot's ``taskStartTimeUsecs``, ``taskEndTimeUsecs`` and
``error``. It misses short-lived statuses (a quick start, a brief kCanceling), which is what
``--mode polling`` explains. Writes arrive slightly out of order. A few tasks are still running
when the log ends. Then a few deliberate faults are planted (each listed in ``PLANTED``).

    python examples/make_copy_run.py            # rewrites examples/copy-run.jsonl (seed 6)
    tasklife validate --mode polling examples/copy-run.jsonl
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path
from typing import Any

import orjson

from tasklife.tracking import Task

T0 = 1_718_000_000_000_000
SECOND = 1_000_000
POLL = 30 * SECOND
ERRORS = (
    "Failed to replicate snapshot to remote cluster: kConnectionError",
    "Remote cluster rejected the snapshot: kQuotaExceeded",
    "Source snapshot expired before the copy finished",
)
PLANTED = (
    "a kRunning reported after kSuccess (after-final, end-time-missing)",
    "a start time re-stamped while running (start-time-changed)",
    "a kFailure without its error (failure-without-error)",
    "a kAccepted after kRunning (illegal-transition, start-time-missing)",
    "a kFinalizing, a cluster 6.8.1 status (unknown-status under copy-task)",
    "a line truncated by a crashed writer (malformed)",
)


def live(rng: random.Random, queued_at: int) -> list[tuple[int, Task]]:
    """One task's life: ``(time, snapshot)`` after each change, driven through the machine."""
    task = Task(status="kAccepted")
    now = queued_at
    life = [(now, _copy(task))]

    def step(trigger: str, after: float, error: str | None = None) -> None:
        nonlocal now
        now += int(after * SECOND)
        task.fire(trigger, at_usecs=now, error=error)
        life.append((now, _copy(task)))

    fate = rng.random()
    if fate < 0.04:
        step("miss", rng.uniform(60, 600))
        return life
    if fate < 0.06:
        step("cancel", rng.uniform(5, 120))
        step("confirm_cancel", rng.uniform(1, 8))
        return life
    quick = rng.random() < 0.1  # an incremental copy with nothing to send
    step("start", rng.uniform(1, 10) if quick else rng.uniform(2, 300))
    if rng.random() < 0.08:
        step("hold", rng.uniform(60, 900))
        if rng.random() < 0.2:
            step("fail", rng.uniform(300, 1800), error=rng.choice(ERRORS))
            return life
        step("resume", rng.uniform(120, 1800))
    work = rng.uniform(3, 20) if quick else rng.lognormvariate(6.5, 0.8)
    end = rng.random()
    if end < 0.74:
        step("succeed", work)
    elif end < 0.84:
        step("warn", work)
    elif end < 0.92:
        step("fail", work * rng.random(), error=rng.choice(ERRORS))
    elif end < 0.97:
        step("cancel", work * rng.random())
        step("confirm_cancel", rng.uniform(1, 8))
    # else: still running when the log ends
    return life


def _copy(task: Task) -> Task:
    return Task(
        status=task.status,
        error=task.error,
        task_start_time_usecs=task.task_start_time_usecs,
        task_end_time_usecs=task.task_end_time_usecs,
    )


def poll(rng: random.Random, tid: str, life: list[tuple[int, Task]]) -> list[dict[str, Any]]:
    """What a poller writes: changes it saw, and some re-observations."""
    events: list[dict[str, Any]] = []
    at = life[0][0] + rng.randrange(POLL)
    last_change = life[-1][0]
    seen = None
    while True:
        snap = next(s for t, s in reversed(life) if t <= at) if at >= life[0][0] else life[0][1]
        if snap.status != seen or rng.random() < 0.1:
            events.append(
                {
                    "taskId": tid,
                    "status": snap.status,
                    "atUsecs": at,
                    "taskStartTimeUsecs": snap.task_start_time_usecs,
                    "taskEndTimeUsecs": snap.task_end_time_usecs,
                    "error": snap.error,
                }
            )
            seen = snap.status
        if at > last_change and (snap.is_final or at > last_change + 10 * POLL):
            return events
        at += POLL + rng.randrange(-2 * SECOND, 2 * SECOND)


def plant(events: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Plant the faults listed in ``PLANTED`` in the first tasks that fit; returns their ids."""

    def first(status: str, taken: list[str]) -> str:
        return next(
            t
            for t, ev in events.items()
            if t not in taken and any(e["status"] == status for e in ev) and len(ev) > 2
        )

    chosen: list[str] = []
    tid = first("kSuccess", chosen)
    ev = events[tid]
    done = next(e for e in ev if e["status"] == "kSuccess")
    ev.append(
        {**done, "status": "kRunning", "atUsecs": done["atUsecs"] + POLL, "taskEndTimeUsecs": None}
    )
    chosen.append(tid)
    tid = first("kRunning", chosen)
    runs = [e for e in events[tid] if e["taskStartTimeUsecs"] is not None]
    for e in runs[len(runs) // 2 :]:
        e["taskStartTimeUsecs"] += 5 * SECOND
    chosen.append(tid)
    tid = first("kFailure", chosen)
    for e in events[tid]:
        if e["status"] == "kFailure":
            e["error"] = None
    chosen.append(tid)
    tid = first("kRunning", chosen)
    run = next(e for e in events[tid] if e["status"] == "kRunning")
    events[tid].append(
        {**run, "status": "kAccepted", "atUsecs": run["atUsecs"] + 1, "taskStartTimeUsecs": None}
    )
    chosen.append(tid)
    tid = first("kRunning", chosen)
    run = next(e for e in events[tid] if e["status"] == "kRunning")
    events[tid].append({**run, "status": "kFinalizing", "atUsecs": run["atUsecs"] + 2})
    chosen.append(tid)
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=300)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("copy-run.jsonl"))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    events: dict[str, list[dict[str, Any]]] = {}
    for n in range(1, args.tasks + 1):
        tid = f"t{n:04d}"
        events[tid] = poll(rng, tid, live(rng, T0 + rng.randrange(600 * SECOND)))
    planted = plant(events)
    # the poller's writer flushes batches, so lines are in time order only roughly
    lines = sorted(
        (e for evs in events.values() for e in evs),
        key=lambda e: e["atUsecs"] + rng.randrange(-5 * SECOND, 5 * SECOND),
    )
    # a poller writes each snapshot whole: a null stamp or error is written as null (an
    # absent key would say nothing about that field)
    out = [orjson.dumps(e) for e in lines]
    cut = len(out) // 3
    out[cut] = out[cut][: len(out[cut]) // 2]  # a line truncated by a crashed writer
    args.out.write_bytes(b"\n".join(out) + b"\n")
    print(f"{args.out}: {len(out)} lines, {args.tasks} tasks; planted:")
    for what, tid in zip(PLANTED, [*planted, f"line {cut + 1}"], strict=True):
        print(f"  {tid}: {what}")


if __name__ == "__main__":
    main()
