"""``tasklife demo [DIR]``: the main job on the bundled examples, start to finish.

It loads the status documents in ``DIR/copy-snapshot-tasks/``, continues each one's
lifecycle, drives a handful of new copy tasks through theirs, rolls all of them up into one
copy run, and runs ``tasklife validate --mode polling`` on the copy-run log
``DIR/copy-run.jsonl`` (whose planted faults it reports). Exit 0 when all of that ran.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tasklife.cli import validate
from tasklife.cli._terminal import clean, console
from tasklife.errors import InvalidTransition, TaskLifeError
from tasklife.models import CopySnapshotTaskStatus
from tasklife.rollup import roll_up
from tasklife.tracking import JournalEntry

_T0 = 1_718_000_000_000_000  # a fixed epoch-µs start, so the demo prints the same every run

# What the demo does to the new tasks: (label, the triggers in order).
_SCENARIOS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("straight through", ("start", "succeed")),
    ("held, resumed, warned", ("start", "hold", "resume", "warn")),
    ("failed while running", ("start", "fail")),
    ("canceled from the queue", ("cancel", "confirm_cancel")),
    ("missed its slot", ("miss",)),
)


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="run the main job on the bundled examples")
    p.add_argument("dir", nargs="?", default="examples", type=Path, help="examples folder")
    p.set_defaults(func=run)


def _ticks(step_usecs: int = 90_000_000) -> Callable[[], int]:
    counter = itertools.count(_T0, step_usecs)
    return lambda: next(counter)


def _fmt(usecs: int | None) -> str:
    return "-" if usecs is None else f"{(usecs - _T0) / 1e6:+.0f} s"


def run(args: argparse.Namespace) -> int:
    out = console()
    folder: Path = args.dir
    docs = sorted((folder / "copy-snapshot-tasks").glob("*.json"))
    if not docs:
        out.print(_styled(f"no status documents in {folder / 'copy-snapshot-tasks'}", "red"))
        return 2
    clock = _ticks()
    tasks = _continue_documents(docs, clock, out)
    if tasks is None:
        return 1
    tasks += _drive_new_tasks(clock, out)
    try:
        tasks[-1].start()
    except InvalidTransition as exc:
        out.print("An illegal trigger is refused, the record untouched:")
        out.print(Text.assemble("  ", _styled(exc, "yellow")))
        out.print()
    run_ = roll_up(tasks)
    out.print(
        Text.assemble(
            f"3. Roll-up of these {len(tasks)} tasks into one copy run: ",
            _styled(run_.status, "bold"),
        )
    )
    out.print("   " + ", ".join(f"{s} {n}" for s, n in run_.counts.items() if n))
    if run_.stats is not None:
        out.print(f"   stats: {orjson.dumps(run_.stats.to_dictionary()).decode()}")
        out.print()
    log = folder / "copy-run.jsonl"
    out.print(f"4. tasklife validate --mode polling {log}  (it has planted faults)")
    out.print()
    status = _validate(["--mode", "polling", "--limit", "8", str(log)])
    return 0 if status in (0, 1) else status


def _continue_documents(
    docs: list[Path], clock: Callable[[], int], console: Console
) -> list[CopySnapshotTaskStatus] | None:
    """Step 1: each status document loaded and continued by its first allowed trigger."""
    loaded = Table(title="1. Loaded documents, each continued from its status")
    for col in ("document", "source", "status", "continued with", "now", "start", "end"):
        loaded.add_column(col)
    tasks: list[CopySnapshotTaskStatus] = []
    for path in docs:
        try:
            record = CopySnapshotTaskStatus.from_dictionary(orjson.loads(path.read_bytes()))
        except (TaskLifeError, orjson.JSONDecodeError) as exc:
            console.print(_styled(f"{path}: {exc}", "red"))
            return None
        assert record is not None
        was = record.status
        record.clock = clock
        trigger = next(iter(record.allowed_triggers()), None)
        if trigger is not None:
            record.fire(trigger, error="demo: gave up" if trigger == "fail" else None)
        name = record.source.name if record.source else "-"
        loaded.add_row(
            path.stem, name, was, trigger or "(final)", record.status,
            _fmt(record.task_start_time_usecs), _fmt(record.task_end_time_usecs),
        )  # fmt: skip
        tasks.append(record)
    console.print(loaded)
    return tasks


def _drive_new_tasks(clock: Callable[[], int], console: Console) -> list[CopySnapshotTaskStatus]:
    """Step 2: new copy tasks driven through the scenarios, each with its journal."""
    driven = Table(title="2. New copy tasks driven through their lifecycles")
    for col in ("task", "journal", "status", "start", "end", "error"):
        driven.add_column(col)
    tasks = []
    for label, triggers in _SCENARIOS:
        task = CopySnapshotTaskStatus(clock=clock, journal=[])
        for trigger in triggers:
            task.fire(trigger, error="target unreachable" if trigger == "fail" else None)
        journal: list[JournalEntry] = task.journal or []
        steps = " -> ".join([journal[0].source, *(e.dest for e in journal)])
        driven.add_row(
            label, steps, task.status, _fmt(task.task_start_time_usecs),
            _fmt(task.task_end_time_usecs), task.error or "",
        )  # fmt: skip
        tasks.append(task)
    console.print(driven)
    return tasks


def _styled(text: object, style: str) -> Text:
    """``text`` (input data: cleaned, never markup) in ``style``."""
    return Text(clean(text), style=style)


def _validate(argv: list[str]) -> int:
    """Step 4: ``tasklife validate`` with ``argv``, as the command line runs it."""
    parser = argparse.ArgumentParser(prog="tasklife")
    validate.register(parser.add_subparsers())
    args = parser.parse_args(["validate", *argv])
    status: int = args.func(args)
    return status
