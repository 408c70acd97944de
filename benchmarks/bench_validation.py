"""Validating interleaved event logs: the numpy kernel, ``tasklife validate`` end to end, and a
replay of the same events through the transitions machine, in one run.

Run: python benchmarks/bench_validation.py [--events 10000000] [--tasks 1000000]

Generates an interleaved log of copy-task events (legal walks through the lifecycle with a few
violations; string task ids), then measures:

* the in-memory kernel (:func:`tasklife.eventlog.kernel.judge` on an event table): events/s, with the
  per-task ordering sort and without it (rows already in task order);
* the JSON Lines parsers on one chunk: pyarrow.json, orjson per line, msgspec (if installed);
* ``tasklife validate FILE --format json`` in a child process on the JSON Lines file: events/s
  and peak memory (max RSS) per event;
* replays of the same events (or, with ``--replay-events N``, of a sample of whole tasks with
  about N events: quicker, and kinder to the replay, whose dicts and lists then stay small)
  through the transitions machine, each ``fire(trigger_between(status, next))``, re-read on a
  violation:
  - from the JSON Lines file, like ``tasklife validate``: each line decoded with
    orjson, events grouped per task and put in time order, then replayed on one plain
    ``transitions.Machine`` (``set_state`` per task, ``trigger`` per change). This is the job
    ``tasklife validate`` replaces, done with the transitions library directly;
  - from decoded arrays already in task order (no parsing, no grouping): on the plain
    ``transitions.Machine`` and on ``tasklife.tracking`` records.

The end-to-end run and the replays are alternated for ``--rounds`` rounds, so that each ratio
compares runs made under the same load (this machine is shared and noisy); the median ratio is
reported with the rounds.

Targets (issue 3): kernel >= 25M events/s; end to end >= 1.5M events/s and >= 10x the replay;
peak memory <= 100 bytes/event.
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from transitions import Machine, MachineError

from tasklife.errors import InvalidTransition
from tasklife.eventlog.kernel import judge
from tasklife.eventlog.table import EventLog, EventTable
from tasklife.lifecycle import COPY_TASK, Lifecycle
from tasklife.tracking import Task

LC = COPY_TASK
T0 = 1_718_000_000_000_000


def destination_tables() -> list[tuple[Any, Any]]:
    """For non-final then final destinations: a (state x k) table of the states one
    transition reaches from each state (padded by repeating them), and their counts."""
    tables = []
    for final in (False, True):
        dests = [
            [
                LC.index[d]
                for t in LC.triggers_from(s)
                if (d := LC.dest(t, s)) and LC.is_final(d) == final
            ]
            for s in LC.state_names
        ]
        width = max(len(d) for d in dests)
        table = np.array([((d or [-1]) * width)[:width] for d in dests], np.int8)
        tables.append((table, np.array([len(d) for d in dests])))
    return tables


def walks(n_tasks: int, n_events: int, rng: np.random.Generator) -> tuple[Any, ...]:
    """Per-event task, status and time arrays, in task order: walks through the table that
    mostly change status (15% re-observations), stay active while they can and end final
    (the events after a final status are re-observations)."""
    names = LC.state_names
    m = len(names)
    tables = destination_tables()
    counts = rng.poisson(n_events / n_tasks - 1, n_tasks) + 1
    total = int(counts.sum())
    task = np.repeat(np.arange(n_tasks, dtype=np.int32), counts)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    status = np.empty(total, np.int8)
    status[first] = LC.index[LC.initial]
    pos = np.arange(total) - np.repeat(first, counts)
    last = pos == np.repeat(counts - 1, counts)
    for k in range(1, int(counts.max())):
        rows = np.flatnonzero(pos == k)
        prev = status[rows - 1]
        u = rng.random(len(rows))
        has_final, has_other = tables[1][1][prev] > 0, tables[0][1][prev] > 0
        want_final = (last[rows] | (u > 0.97) | ~has_other) & has_final
        nxt = prev.copy()
        for is_final, (choices, widths) in enumerate(tables):
            pick = (want_final == bool(is_final)) & (widths[prev] > 0) & (u >= 0.15)
            choice = (rng.random(len(rows)) * np.maximum(widths[prev], 1)).astype(np.intp)
            nxt[pick] = choices[prev[pick], choice[pick]]
        status[rows] = nxt
    bad = rng.random(total) < 0.001  # a few violations: a random status
    status[bad] = rng.integers(0, m, int(bad.sum()))
    start = T0 + rng.integers(0, 3_600_000_000, n_tasks)
    at = np.repeat(start, counts) + pos * 30_000_000 + rng.integers(0, 5_000_000, total)
    return task, status, at


def interleave(task: Any, status: Any, at: Any, rng: np.random.Generator) -> tuple[Any, ...]:
    """File order: by time, roughly (writers flush out of order)."""
    order = np.argsort(at + rng.integers(0, 60_000_000, len(at)), kind="stable")
    return task[order], status[order], at[order]


def write_jsonl(path: Path, task: Any, status: Any, at: Any) -> None:
    names = [s.encode() for s in LC.state_names]
    with path.open("wb") as f:
        for lo in range(0, len(task), 1 << 20):
            t, s, a = (
                task[lo : lo + (1 << 20)].tolist(),
                status[lo : lo + (1 << 20)].tolist(),
                (at[lo : lo + (1 << 20)].tolist()),
            )
            f.write(
                b"".join(
                    b'{"taskId":"task-%07d","status":"%s","atUsecs":%d}\n' % (ti, names[si], ai)
                    for ti, si, ai in zip(t, s, a, strict=True)
                )
            )


def time_kernel(task: Any, status: Any, at: Any, repeat: int = 3) -> tuple[float, float]:
    """Best seconds of judge() on interleaved rows, and on rows already in task order."""
    n = len(task)
    ids = [f"task-{i:07d}" for i in range(int(task.max()) + 1)]
    line = np.arange(1, n + 1, dtype=np.int64)
    log = EventLog(EventTable(task, status, at, line, ids), (), ("<bench>",), "v1", n)
    best = min(_timed(lambda: judge(log, lifecycle=LC)) for _ in range(repeat))
    order = np.lexsort((line, at, task))
    ordered = EventLog(
        EventTable(task[order], status[order], at[order], line, ids), (), ("<bench>",), "v1", n
    )
    best_sorted = min(_timed(lambda: judge(ordered, lifecycle=LC)) for _ in range(repeat))
    return best, best_sorted


def _timed(fn: Any) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def time_parsers(path: Path, size: int = 16 << 20) -> dict[str, float]:
    """Events/s of each JSON parser on one chunk of the file (column extraction included)."""
    with path.open("rb") as f:
        data = f.read(size)
    data = data[: data.rfind(b"\n") + 1]
    lines = data.count(b"\n")
    out = {}
    import pyarrow.json as pj

    t = time.perf_counter()
    table = pj.read_json(io.BytesIO(data))
    table.column("status").combine_chunks().dictionary_encode()
    out["pyarrow.json"] = lines / (time.perf_counter() - t)
    t = time.perf_counter()
    rows = [orjson.loads(line) for line in data.splitlines()]
    _ = ([r["taskId"] for r in rows], [r["status"] for r in rows], [r["atUsecs"] for r in rows])
    out["orjson per line"] = lines / (time.perf_counter() - t)
    try:
        import msgspec
    except ImportError:
        return out

    class Event(msgspec.Struct):
        taskId: str | int
        status: str | int
        atUsecs: int

    decode = msgspec.json.Decoder(Event).decode
    t = time.perf_counter()
    events = [decode(line) for line in data.splitlines()]
    _ = ([e.taskId for e in events], [e.status for e in events], [e.atUsecs for e in events])
    out["msgspec per line"] = lines / (time.perf_counter() - t)
    return out


CHILD = """
import sys
from tasklife.cli import main
status = main(["validate", sys.argv[1], "--format", "json"])
sys.stdout.flush()
with open("/proc/self/status") as f:  # the peak of this process since its exec
    peak = next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))
print(peak * 1024, file=sys.stderr)
sys.exit(status)
"""


def time_end_to_end(path: Path) -> tuple[float, int, dict[str, Any]]:
    """Seconds, peak RSS bytes and summary of ``tasklife validate`` in a child process.

    The child reports its own peak (VmHWM): the children's ``ru_maxrss`` would count the
    pages a child shares with this (large) process between fork and exec.
    """
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)], capture_output=True, check=False
    )
    seconds = time.perf_counter() - t
    if proc.returncode not in (0, 1):
        raise SystemExit(f"tasklife validate failed: {proc.stderr.decode()}")
    peak = int(proc.stderr.split()[-1])
    return seconds, peak, orjson.loads(proc.stdout)["summary"]


def replay(task: Any, status: Any, at: Any, lc: Lifecycle) -> tuple[int, int]:
    """Replay events (in task order) through tracked records: (events, violations)."""
    record_cls = Task.for_lifecycle(lc)
    names = lc.state_names
    failure = {s for s in names if lc.state(s).klass == "failure"}
    violations = 0
    record = None
    last_task = -1
    for t, s, a in zip(task.tolist(), status.tolist(), at.tolist(), strict=True):
        name = names[s]
        if t != last_task or record is None:
            record, last_task = record_cls(status=name), t
            continue
        if name == record.status:
            continue
        trigger = lc.trigger_between(record.status, name)
        try:
            if trigger is None:
                raise InvalidTransition(f"to {name}", record.status, (), lc.name)
            record.fire(trigger, at_usecs=a, error="replayed" if name in failure else None)
        except InvalidTransition:
            violations += 1
            record = record_cls(status=name)
    return len(task), violations


def plain_machine(lc: Lifecycle) -> Machine:
    """One plain ``transitions.Machine`` of the lifecycle's table (no tasklife on the path)."""
    table = lc.to_dictionary()
    return Machine(
        states=list(lc.state_names),
        transitions=table["transitions"],
        initial=lc.initial,
        auto_transitions=False,
    )


def replay_machine(machine: Machine, tasks: Iterable[list[str]], lc: Lifecycle) -> int:
    """Replay each task's statuses (in time order) on ``machine``: the violations."""
    violations = 0
    for statuses in tasks:
        machine.set_state(statuses[0])
        for name in statuses[1:]:
            if name == machine.state:
                continue
            trigger = lc.trigger_between(machine.state, name)
            try:
                if trigger is None:
                    raise MachineError(f"no trigger from {machine.state} to {name}")
                machine.trigger(trigger)
            except MachineError:
                violations += 1
                machine.set_state(name)
    return violations


def replay_transitions(task: Any, status: Any, lc: Lifecycle) -> tuple[int, int]:
    """The replay on a plain ``transitions.Machine``, from arrays already in task order."""
    names = lc.state_names
    statuses = [names[s] for s in status.tolist()]
    cuts = [0, *(np.flatnonzero(task[1:] != task[:-1]) + 1).tolist(), len(task)]
    tasks = (statuses[lo:hi] for lo, hi in itertools.pairwise(cuts) if hi > lo)
    return len(task), replay_machine(plain_machine(lc), tasks, lc)


def replay_file(path: Path, lc: Lifecycle) -> tuple[int, int]:
    """The same job as ``tasklife validate`` with transitions alone, from the JSON Lines file:
    decode each line, group the events per task, order them by time (ties in file order),
    replay each task on a plain ``transitions.Machine``."""
    events: dict[Any, list[tuple[int, int, str]]] = {}
    n = 0
    with path.open("rb") as f:
        for n, line in enumerate(f, 1):
            event = orjson.loads(line)
            events.setdefault(event["taskId"], []).append((event["atUsecs"], n, event["status"]))
    tasks = ([s for _, _, s in sorted(evs)] for evs in events.values())
    return n, replay_machine(plain_machine(lc), tasks, lc)


def _rate(fn: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return out[0] / (time.perf_counter() - t), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument(
        "--replay-events",
        type=int,
        default=None,
        help="replay a sample of whole tasks with about this many events (default: all)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="end-to-end and replay rounds")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="write the JSON Lines log here and keep it")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)

    task, status, at = walks(args.tasks, args.events, rng)
    n = len(task)
    print(f"{n:,} events of {args.tasks:,} tasks (copy-task lifecycle)")
    sampled = args.replay_events is not None and args.replay_events < n
    if sampled:
        sample = task < max(1, int(args.tasks * args.replay_events / n))
        replay_arrays = task[sample], status[sample], at[sample]
    else:
        replay_arrays = task, status, at
    ftask, fstatus, fat = interleave(task, status, at, rng)
    del task, status, at
    kernel, kernel_sorted = time_kernel(ftask, fstatus, fat)
    print(
        f"kernel, interleaved rows (sort included): {n / kernel / 1e6:.1f} M events/s "
        f"({kernel:.2f} s)"
    )
    print(
        f"kernel, rows in task order:               {n / kernel_sorted / 1e6:.1f} M events/s "
        f"({kernel_sorted:.2f} s)  target >= 25"
    )

    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "events.jsonl"
        sample_path = Path(tmp) / "sample.jsonl" if sampled else path
        t = time.perf_counter()
        write_jsonl(path, ftask, fstatus, fat)
        if sampled:
            write_jsonl(sample_path, *interleave(*replay_arrays, rng))
        size = path.stat().st_size
        print(
            f"wrote {path} ({size / 1e6:.0f} MB, {size / n:.0f} bytes/event) in "
            f"{time.perf_counter() - t:.1f} s"
        )
        del ftask, fstatus, fat
        for name, rate in time_parsers(path).items():
            print(f"parser {name:>17}: {rate / 1e6:.2f} M events/s")
        rounds = []
        for r in range(1, args.rounds + 1):
            seconds, peak, summary = time_end_to_end(path)
            rate = n / seconds
            file_rate, (replayed, bad_file) = _rate(lambda: replay_file(sample_path, LC))
            plain_rate, (_, bad_plain) = _rate(lambda: replay_transitions(*replay_arrays[:2], LC))
            records_rate, (_, bad) = _rate(lambda: replay(*replay_arrays, LC))
            assert bad_file == bad_plain == bad, (bad_file, bad_plain, bad)
            rounds.append((rate, file_rate, plain_rate, records_rate, peak))
            print(
                f"round {r}: tasklife validate {rate / 1e6:.2f} M events/s ({seconds:.1f} s, "
                f"{summary['tasks']:,} tasks, {summary['violations']:,} violations); replay of "
                f"{replayed:,} events ({bad} violations), M events/s: from the file "
                f"{file_rate / 1e6:.3f}, decoded on a plain Machine {plain_rate / 1e6:.3f}, "
                f"on tasklife records {records_rate / 1e6:.3f}"
            )

    def median(i: int) -> float:
        return statistics.median(row[i] for row in rounds)

    def ratio(i: int) -> str:
        ratios = [row[0] / row[i] for row in rounds]
        return f"{statistics.median(ratios):.1f}x (rounds: {', '.join(f'{x:.1f}' for x in ratios)})"

    print(f"tasklife validate end to end: {median(0) / 1e6:.2f} M events/s (median)  target >= 1.5")
    print(f"  vs the replay from the JSON Lines file:      {ratio(1)}  target >= 10x")
    print(f"  vs the replay of decoded events, plain Machine: {ratio(2)}")
    print(f"  vs the replay of decoded events, tasklife records: {ratio(3)}")
    peak = max(row[4] for row in rounds)
    print(f"  peak memory: {peak / 1e6:.0f} MB = {peak / n:.0f} bytes/event  target <= 100")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
