"""Tracked tasks: tasklife against transitions (used the usual ways) and python-statemachine.

Run: python benchmarks/bench_tracking.py [--tasks 100000]

For each contender, in one process: time and memory to create N tracked copy tasks, time
per trigger (start then succeed on every task), and what stays alive once the tasks are
dropped (the add_model machine keeps every model it was given). Every contender is built from the same copy-task lifecycle table. Targets (issue 2):
a tasklife task costs <= 2 us and <= 250 bytes to create; a trigger is no slower than on a
per-task transitions Machine, with the goal of <= 2 us.
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from statemachine import State, StateMachine
from transitions import Machine

from tasklife import COPY_TASK, CopySnapshotTaskStatus, Task

LC = COPY_TASK
STATES = list(LC.state_names)
TRANSITIONS = [
    {"trigger": t.trigger, "source": list(t.source), "dest": t.dest} for t in LC.transitions
]


class Model:
    """A plain model object for transitions."""


def psm_class() -> type[StateMachine]:
    namespace: dict[str, Any] = {
        s.name: State(s.name, initial=s.name == LC.initial, final=s.is_final) for s in LC.states
    }
    for t in LC.transitions:
        transition = None
        for src in t.source:
            step = namespace[src].to(namespace[t.dest])
            transition = step if transition is None else transition | step
        namespace[t.trigger] = transition
    return type("CopyTaskPSM", (StateMachine,), namespace)


def per_task_machine() -> Model:
    model = Model()
    Machine(model=model, states=STATES, transitions=TRANSITIONS, initial=LC.initial)
    return model


SHARED = Machine(model=None, states=STATES, transitions=TRANSITIONS, initial=LC.initial)


def add_model_task() -> Model:
    model = Model()
    SHARED.add_model(model)
    return model


PSM = psm_class()


def contenders() -> dict[str, tuple[Callable[[], Any], Callable[[Any, str], Any]]]:
    return {
        "tasklife CopySnapshotTaskStatus": (CopySnapshotTaskStatus, lambda t, trig: t.fire(trig)),
        "tasklife Task": (Task, lambda t, trig: t.fire(trig)),
        "transitions, Machine per task": (per_task_machine, lambda t, trig: t.trigger(trig)),
        "transitions, add_model": (add_model_task, lambda t, trig: t.trigger(trig)),
        "python-statemachine": (PSM, lambda t, trig: t.send(trig)),
    }


def typed_trigger_us(n: int, rounds: int = 3) -> float:
    """tasklife's typed methods (task.start(), task.succeed()), the way users call them."""
    best = float("inf")
    for _ in range(rounds):
        tasks = [CopySnapshotTaskStatus() for _ in range(n)]
        t0 = time.perf_counter()
        for task in tasks:
            task.start()
        for task in tasks:
            task.succeed()
        best = min(best, (time.perf_counter() - t0) / (2 * n) * 1e6)
    return best


def measure(
    make: Callable[[], Any], fire: Callable[[Any, str], Any], n: int, rounds: int
) -> dict[str, float]:
    """Timings untraced (best of ``rounds``); then memory traced: bytes per task, and what
    survives dropping the tasks."""
    create_us = trigger_us = float("inf")
    for _ in range(rounds):
        gc.collect()
        t0 = time.perf_counter()
        tasks = [make() for _ in range(n)]
        create_us = min(create_us, (time.perf_counter() - t0) / n * 1e6)
        t0 = time.perf_counter()
        for task in tasks:
            fire(task, "start")
        for task in tasks:
            fire(task, "succeed")
        trigger_us = min(trigger_us, (time.perf_counter() - t0) / (2 * n) * 1e6)
        del tasks
        gc.collect()

    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    tasks = [make() for _ in range(n)]
    create_bytes = (tracemalloc.get_traced_memory()[0] - base) / n - 8  # less the list slot
    for task in tasks:
        fire(task, "start")
        fire(task, "succeed")
    del tasks
    gc.collect()
    retained = (tracemalloc.get_traced_memory()[0] - base) / n
    tracemalloc.stop()
    return {
        "create_us": create_us,
        "create_bytes": create_bytes,
        "trigger_us": trigger_us,
        "retained_bytes": retained,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    args = parser.parse_args()
    n = args.tasks
    print(f"{n:,} tasks each; copy-task lifecycle ({len(STATES)} states)\n")
    header = f"{'contender':34} {'create µs':>10} {'bytes/task':>11} {'trigger µs':>11} {'kept after drop':>16}"
    print(header)
    print("-" * len(header))
    results = {}
    for name, (make, fire) in contenders().items():
        rounds = 3 if name.startswith("tasklife") else 1  # competitors: one round, it is slow
        r = results[name] = measure(make, fire, n, rounds)
        print(
            f"{name:34} {r['create_us']:10.2f} {r['create_bytes']:11.0f} {r['trigger_us']:11.2f}"
            f" {r['retained_bytes']:10.0f} B/task"
        )
    SHARED.models.clear()  # the add_model machine kept every task: let them go now
    gc.collect()
    typed = typed_trigger_us(n)
    print(f"\ntasklife typed methods (task.start(), task.succeed()): {typed:.2f} µs per trigger")
    ours = results["tasklife CopySnapshotTaskStatus"]
    print("\nratios (competitor / tasklife CopySnapshotTaskStatus):")
    for name, r in results.items():
        if name.startswith("tasklife"):
            continue
        print(
            f"  {name:32} create {r['create_us'] / ours['create_us']:6.0f}x time,"
            f" {r['create_bytes'] / ours['create_bytes']:5.0f}x memory;"
            f" trigger {r['trigger_us'] / ours['trigger_us']:6.1f}x time"
        )
    print("\ntargets: create <= 2 µs and <= 250 bytes; trigger <= per-task Machine, goal <= 2 µs")
    print(
        f"  create {ours['create_us']:.2f} µs {'ok' if ours['create_us'] <= 2 else 'MISSED'},"
        f" {ours['create_bytes']:.0f} B {'ok' if ours['create_bytes'] <= 250 else 'MISSED'};"
        f" trigger {ours['trigger_us']:.2f} µs"
        f" {'ok' if ours['trigger_us'] <= 2 else 'MISSED goal'}"
        f" (per-task Machine {results['transitions, Machine per task']['trigger_us']:.2f} µs)"
    )


if __name__ == "__main__":
    main()
