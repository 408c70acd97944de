"""``tasklife history TASK``: one task's transitions, oldest first."""

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
    """Add the ``history`` sub-command."""
    p = sub.add_parser(
        "history",
        help="one stored task's transitions",
        description="Show a stored task's transitions, oldest first. Exit 0, or 2 for an "
        "unknown task or a store that cannot be used.",
    )
    add_db_argument(p)
    p.add_argument("task", metavar="TASK", help="the task id")
    p.add_argument(
        "--format", choices=("text", "json"), default="text", help="json: one object a line"
    )
    p.set_defaults(func=lambda args: guarded("history", lambda: run(args)))


def run(args: argparse.Namespace) -> int:
    with open_from(args) as store:
        entries = store.history(args.task)
        status = store.get(args.task).status
    if args.format == "json":
        for e in entries:
            line = {"trigger": e.trigger, "source": e.source, "dest": e.dest, "atUsecs": e.at_usecs}
            sys.stdout.buffer.write(orjson.dumps(line) + b"\n")
        return 0
    table = Table("at (usecs)", "trigger", "source", "dest", title=f"{args.task}: {status}")
    for e in entries:
        table.add_row(str(e.at_usecs), e.trigger, e.source, e.dest)
    console().print(table if entries else f"{args.task}: {status}, no transitions")
    return 0
