"""``tasklife export``: a store's committed changes as a JSON Lines event log.

Each line is ``{"taskId", "status", "atUsecs"[, "error", "taskStartTimeUsecs",
"taskEndTimeUsecs"], "cursor"}``, what ``tasklife validate`` reads; continue from the last
line with ``--after CURSOR``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Final

import orjson

from tasklife.cli._store import add_db_argument, guarded, open_from

__all__ = ["register"]

PAGE: Final = 10_000
"""Events read from the store per query while exporting."""


def register(sub: Any) -> None:
    """Add the ``export`` sub-command."""
    p = sub.add_parser(
        "export",
        help="a store's history as a JSON Lines event log (what validate reads)",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    )
    add_db_argument(p)
    p.add_argument("--after", type=int, default=0, metavar="CURSOR", help="only later changes")
    p.add_argument("--limit", type=int, metavar="N", help="at most N events")
    p.set_defaults(func=lambda args: guarded("export", lambda: run(args)))


def run(args: argparse.Namespace) -> int:
    out = sys.stdout.buffer
    after, left = args.after, args.limit
    with open_from(args) as store:
        while left is None or left > 0:
            size = PAGE if left is None else min(PAGE, left)
            events = store.events(after=after, limit=size)
            out.write(b"".join(orjson.dumps(e) + b"\n" for e in events))
            if len(events) < size:
                break
            after = events[-1]["cursor"]
            left = None if left is None else left - len(events)
    out.flush()
    return 0
