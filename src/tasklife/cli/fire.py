"""``tasklife fire TASK TRIGGER``: fire a trigger at a stored task, atomically.

Exit 0 when it fired, 1 when the lifecycle refuses it (an illegal trigger now, ``fail``
without ``--error``, an error where none belongs), 2 for an unknown task or an unusable store.
"""

from __future__ import annotations

import argparse
from typing import Any

from tasklife.cli._store import add_db_argument, guarded, open_from
from tasklife.cli._terminal import emit

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add the ``fire`` sub-command."""
    p = sub.add_parser(
        "fire",
        help="fire a trigger at a stored task (exit 1 when the lifecycle refuses it)",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    )
    add_db_argument(p)
    p.add_argument("task", metavar="TASK", help="the task id")
    p.add_argument("trigger", metavar="TRIGGER", help="a trigger of the task's lifecycle")
    p.add_argument("--error", metavar="MSG", help="the error message (triggers into failure)")
    p.add_argument(
        "--key", metavar="KEY", help="idempotency key: a repeat returns the first result"
    )
    p.add_argument("--at", type=int, metavar="USECS", help="the time (default: now)")
    p.set_defaults(func=lambda args: guarded("fire", lambda: run(args)))


def run(args: argparse.Namespace) -> int:
    with open_from(args) as store:
        fired = store.fire(
            args.task, args.trigger, at_usecs=args.at, error=args.error, key=args.key
        )
    emit(
        f"{fired.task_id}: {fired.source} -> {fired.dest} by {fired.trigger} "
        f"at {fired.at_usecs} (cursor {fired.cursor})"
    )
    return 0
