"""Tracked tasks: tasklife against transitions (used the usual ways) and python-statemachine.

Run: python benchmarks/bench_tracking.py [--tasks 20000]

In one process, every contender built from the same copy-task lifecycle table:

1. time and memory to create N tracked copy tasks, time per trigger (start then succeed on
   every task), and what stays alive once the tasks are dropped (the add_model machine keeps
   every model it was given);
2. the trigger with a listener attached (tasklife) against a callback attached (transitions),
   and tasklife's own trigger once something is attached through transitions' callback API;
3. ``observe()`` per call (a two-step gap, and a re-observation);
4. a full ``CopySnapshotTaskStatus`` (the largest example document) pickled, against
   ``orjson`` of ``to_dictionary()`` read back with ``from_dictionary``: bytes and round trip.

Times are CPU time of the measuring thread (``time.thread_time``), best of several rounds:
this machine is shared, and CPU time is what other processes disturb least. Targets
(issues 2 and 10): create <= 2 us and <= 250 bytes; trigger <= 1.2 us with no listener; a
listener adds its own call and little else; the pickle <= 2x the orjson bytes and a round trip
at least as fast.
"""

from __future__ import annotations

import argparse
import gc
import pickle
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from statemachine import State, StateMachine
from transitions import Machine

from tasklife import COPY_TASK, CopySnapshotTaskStatus, Lifecycle, Task, machine_for

LC = COPY_TASK
STATES = list(LC.state_names)
TRANSITIONS = [
    {"trigger": t.trigger, "source": list(t.source), "dest": t.dest} for t in LC.transitions
]
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "copy-snapshot-tasks"
TRIGGER_TARGET_US = 1.2
PICKLE_SIZE_TARGET = 2.0
ADD_MODEL_TASKS = 2_000
"""Tasks of the add_model contender where only its trigger is timed: add_model scans every
model it has (creating N tasks is quadratic), and its trigger cost does not depend on N."""


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
WATCHED = Machine(model=None, states=STATES, transitions=TRANSITIONS, initial=LC.initial)
WATCHED.after_state_change = lambda *args, **kwargs: None  # transitions' way of watching


def add_model_task(machine: Machine = SHARED) -> Model:
    model = Model()
    machine.add_model(model)
    return model


PSM = psm_class()


def own_lifecycle(name: str) -> Lifecycle:
    """A copy of copy-task with its own machine, so what is attached stays in one contender."""
    return Lifecycle.from_dictionary({**LC.to_dictionary(), "name": name})


def contenders() -> dict[str, tuple[Callable[[], Any], Callable[[Any, str], Any]]]:
    return {
        "tasklife CopySnapshotTaskStatus": (CopySnapshotTaskStatus, lambda t, trig: t.fire(trig)),
        "tasklife Task": (Task, lambda t, trig: t.fire(trig)),
        "transitions, Machine per task": (per_task_machine, lambda t, trig: t.trigger(trig)),
        "transitions, add_model": (add_model_task, lambda t, trig: t.trigger(trig)),
        "python-statemachine": (PSM, lambda t, trig: t.send(trig)),
    }


def trigger_us(
    make: Callable[[], Any], fire: Callable[[Any, str], Any], n: int, rounds: int
) -> float:
    """Best CPU time per trigger (start then succeed on ``n`` fresh tasks) over ``rounds``."""
    best = float("inf")
    for _ in range(rounds):
        tasks = [make() for _ in range(n)]
        gc.collect()
        t0 = time.thread_time()
        for task in tasks:
            fire(task, "start")
        for task in tasks:
            fire(task, "succeed")
        best = min(best, (time.thread_time() - t0) / (2 * n) * 1e6)
    return best


def measure(
    make: Callable[[], Any], fire: Callable[[Any, str], Any], n: int, rounds: int
) -> dict[str, float]:
    """Creation and trigger times untraced (best of ``rounds``); then memory traced: bytes per
    task, and what survives dropping the tasks."""
    create_us = float("inf")
    for _ in range(rounds):
        gc.collect()
        t0 = time.thread_time()
        tasks = [make() for _ in range(n)]
        create_us = min(create_us, (time.thread_time() - t0) / n * 1e6)
        del tasks
    trigger = trigger_us(make, fire, n, rounds)
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
        "trigger_us": trigger,
        "retained_bytes": retained,
    }


def watching(n: int, rounds: int) -> dict[str, float]:
    """Trigger cost with nobody watching, with one no-op listener, with a transitions callback."""
    quiet = Task.for_lifecycle(own_lifecycle("bench-quiet"))
    heard = Task.for_lifecycle(own_lifecycle("bench-listener"))
    heard.add_listener(lambda record, source, dest, trigger, at_usecs: None)
    called = Task.for_lifecycle(own_lifecycle("bench-callback"))
    machine_for(called.lifecycle).after_state_change = lambda event: None
    fire: Callable[[Any, str], Any] = lambda t, trig: t.fire(trig)  # noqa: E731
    few = min(n, ADD_MODEL_TASKS)
    results = {name: float("inf") for name in ("none", "listener", "callback", "transitions")}
    for _ in range(rounds):  # alternate, so every contender sees the same machine load
        results["none"] = min(results["none"], trigger_us(quiet, fire, n, 1))
        results["listener"] = min(results["listener"], trigger_us(heard, fire, n, 1))
        results["callback"] = min(results["callback"], trigger_us(called, fire, n, 1))
        watched = trigger_us(lambda: add_model_task(WATCHED), lambda t, g: t.trigger(g), few, 1)
        results["transitions"] = min(results["transitions"], watched)
        WATCHED.models.clear()

    def noop(*args: object) -> None:
        return None

    t0 = time.thread_time()
    for _ in range(n):
        noop(1, 2, 3, 4, 5)
    results["call"] = (time.thread_time() - t0) / n * 1e6
    return results


def observe_us(n: int, rounds: int) -> dict[str, float]:
    """observe() per call: a two-step gap (kAccepted -> kSuccess), and a re-observation."""
    best = {"gap": float("inf"), "same": float("inf")}
    for _ in range(rounds):
        tasks = [Task() for _ in range(n)]
        t0 = time.thread_time()
        for task in tasks:
            task.observe("Succeeded", at_usecs=5)
        best["gap"] = min(best["gap"], (time.thread_time() - t0) / n * 1e6)
        t0 = time.thread_time()
        for task in tasks:
            task.observe("kSuccess", at_usecs=6)
        best["same"] = min(best["same"], (time.thread_time() - t0) / n * 1e6)
    return best


def travel(number: int, rounds: int) -> dict[str, float]:
    """The largest example document's record: pickle vs orjson of to_dictionary()."""
    documents = [orjson.loads(p.read_bytes()) for p in sorted(EXAMPLES.glob("*.json"))]
    record = max(
        (CopySnapshotTaskStatus.from_dictionary(d) for d in documents),
        key=lambda r: len(orjson.dumps(r.to_dictionary())),  # type: ignore[union-attr]
    )
    assert record is not None
    record.journal = []
    protocol = pickle.HIGHEST_PROTOCOL

    def by_pickle() -> Any:
        return pickle.loads(pickle.dumps(record, protocol))

    def by_orjson() -> Any:
        return CopySnapshotTaskStatus.from_dictionary(
            orjson.loads(orjson.dumps(record.to_dictionary()))
        )

    assert by_pickle() == record and by_orjson() == record
    best = {"pickle": float("inf"), "orjson": float("inf")}
    for _ in range(rounds):
        for name, fn in (("pickle", by_pickle), ("orjson", by_orjson)):
            t0 = time.thread_time()
            for _ in range(number):
                fn()
            best[name] = min(best[name], (time.thread_time() - t0) / number * 1e6)
    best["pickle_bytes"] = len(pickle.dumps(record, protocol))
    best["orjson_bytes"] = len(orjson.dumps(record.to_dictionary()))
    return best


def ok(met: bool) -> str:
    return "ok" if met else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    n, rounds = args.tasks, args.rounds
    print(
        f"{n:,} tasks each; copy-task lifecycle ({len(STATES)} states); CPU µs, best of {rounds}\n"
    )
    header = f"{'contender':34} {'create µs':>10} {'bytes/task':>11} {'trigger µs':>11} {'kept after drop':>16}"
    print(header)
    print("-" * len(header))
    results = {}
    for name, (make, fire) in contenders().items():
        tries = rounds if name.startswith("tasklife") else 1  # competitors: one round, slow
        r = results[name] = measure(make, fire, n, tries)
        print(
            f"{name:34} {r['create_us']:10.2f} {r['create_bytes']:11.0f} {r['trigger_us']:11.2f}"
            f" {r['retained_bytes']:10.0f} B/task"
        )
        SHARED.models.clear()  # the add_model machine kept every task: let them go now
    gc.collect()
    typed = trigger_us(CopySnapshotTaskStatus, lambda t, trig: getattr(t, trig)(), n, rounds)
    print(f"\ntasklife typed methods (task.start(), task.succeed()): {typed:.2f} µs per trigger")
    ours = results["tasklife CopySnapshotTaskStatus"]
    print("\nratios (competitor / tasklife CopySnapshotTaskStatus):")
    for name, r in results.items():
        if not name.startswith("tasklife"):
            print(
                f"  {name:32} create {r['create_us'] / ours['create_us']:6.0f}x time,"
                f" {r['create_bytes'] / ours['create_bytes']:5.0f}x memory;"
                f" trigger {r['trigger_us'] / ours['trigger_us']:6.1f}x time"
            )

    w = watching(n, rounds)
    print("\nwatching transitions (µs per trigger, Task):")
    print(f"  nobody watching                       {w['none']:6.2f}")
    print(
        f"  one no-op listener                    {w['listener']:6.2f}  (+{w['listener'] - w['none']:.2f}; the call itself {w['call']:.2f})"
    )
    print(f"  a transitions after_state_change      {w['callback']:6.2f}  (transitions' own path)")
    print(
        f"  plain transitions, add_model + callback {w['transitions']:4.2f}  ({w['transitions'] / w['listener']:.1f}x the listener)"
    )

    o = observe_us(n, rounds)
    print(
        f"\nobserve(): a two-step gap {o['gap']:.2f} µs per call, a re-observation {o['same']:.2f} µs"
    )

    t = travel(max(n // 10, 500), rounds)
    size = t["pickle_bytes"] / t["orjson_bytes"]
    speed = t["orjson"] / t["pickle"]
    print(
        f"\na full CopySnapshotTaskStatus: pickle {t['pickle_bytes']:.0f} B, round trip {t['pickle']:.2f} µs;"
        f" orjson of to_dictionary() {t['orjson_bytes']:.0f} B, round trip {t['orjson']:.2f} µs"
        f" -> {size:.2f}x the bytes, {speed:.2f}x as fast"
    )

    print("\ntargets:")
    print(
        f"  create {ours['create_us']:.2f} µs ({ok(ours['create_us'] <= 2)}),"
        f" {ours['create_bytes']:.0f} B ({ok(ours['create_bytes'] <= 250)})"
    )
    print(
        f"  trigger with no listener {ours['trigger_us']:.2f} µs <= {TRIGGER_TARGET_US} ({ok(ours['trigger_us'] <= TRIGGER_TARGET_US)})"
    )
    print(
        f"  pickle <= {PICKLE_SIZE_TARGET}x the orjson bytes ({ok(size <= PICKLE_SIZE_TARGET)}), round trip at least as fast ({ok(speed >= 1)})"
    )


if __name__ == "__main__":
    main()
