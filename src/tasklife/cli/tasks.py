"""``tasklife tasks``: the tasks of a store, filtered by status and run.

>>> from tasklife.cli import main
>>> main(["tasks", "--db", "no-such-dir/x.db"])
2
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson
from rich.table import Table

from tasklife.cli._store import add_db_argument, guarded, open_from
from tasklife.cli._terminal import console

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add the ``tasks`` sub-command."""
    p = sub.add_parser(
        "tasks",
        help="list a store's tasks (filter by --status, --run)",
        description="List the tasks of a store, by task id. Exit 0, or 2 when the store "
        "cannot be used.",
    )
    add_db_argument(p)
    p.add_argument("--status", metavar="S", help="only tasks in this status")
    p.add_argument("--run", metavar="R", help="only the tasks of this run")
    p.add_argument("--limit", type=int, metavar="N", help="at most N tasks")
    p.add_argument(
        "--format", choices=("text", "json"), default="text", help="json: one object a line"
    )
    p.set_defaults(func=lambda args: guarded("tasks", lambda: run(args)))


def run(args: argparse.Namespace) -> int:
    with open_from(args) as store:
        tasks = store.tasks(status=args.status, run_id=args.run, limit=args.limit)
        if args.format == "json":
            for t in tasks:
                line = {
                    "taskId": t.task_id,
                    "runId": t.run_id,
                    "lifecycle": t.lifecycle.name,
                    "status": t.status,
                    "taskStartTimeUsecs": t.task_start_time_usecs,
                    "taskEndTimeUsecs": t.task_end_time_usecs,
                    "error": t.error,
                }
                sys.stdout.buffer.write(orjson.dumps(line) + b"\n")
            return 0
        table = Table("task", "run", "lifecycle", "status", "started", "ended", "error")
        for t in tasks:
            table.add_row(
                t.task_id,
                t.run_id or "",
                t.lifecycle.name,
                t.status,
                _time(t.task_start_time_usecs),
                _time(t.task_end_time_usecs),
                t.error or "",
            )
        console().print(table if table.row_count else "no tasks")
    return 0


def _time(usecs: int | None) -> str:
    return "" if usecs is None else str(usecs)
