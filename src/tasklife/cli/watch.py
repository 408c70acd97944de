"""``tasklife watch``: a store's transitions as they commit, from now or from ``--after
CURSOR`` (the ``cursor`` of the last line seen: nothing is lost or repeated).

JSON Lines (what ``tasklife export`` writes) when the output is a pipe or a file, or
``--format json``; a live table on a terminal, or ``--format table``. Runs until Ctrl-C
(exit 0) or until the reader of its output goes away (exit 141, as for every command). Exit
2 when the store cannot be used.

>>> from tasklife.cli import main
>>> main(["watch", "--db", "no-such-dir/x.db"])
2
"""

from __future__ import annotations

import argparse
import collections
import sys
from typing import Any, Final

import orjson

from tasklife.cli._store import add_db_argument, guarded, open_from, positive_seconds
from tasklife.cli._terminal import OK, console

__all__ = ["register"]

TABLE_ROWS: Final = 20
"""Transitions the live table shows (the latest)."""


def register(sub: Any) -> None:
    """Add the ``watch`` sub-command."""
    p = sub.add_parser(
        "watch",
        help="print a store's transitions live (JSON Lines or a live table)",
        description=__doc__.split("\n\n", 1)[1].split("\n\n>>>", 1)[0] if __doc__ else None,
    )
    add_db_argument(p)
    p.add_argument(
        "--after", type=int, metavar="CURSOR", help="start after this cursor (default: now)"
    )
    p.add_argument(
        "--format", choices=("json", "table"), help="default: table on a terminal, else json"
    )
    p.add_argument(
        "--poll",
        type=positive_seconds,
        default=0.1,
        metavar="SECONDS",
        help="SQLite: read every SECONDS",
    )
    p.set_defaults(func=lambda args: guarded("watch", lambda: run(args)))


def run(args: argparse.Namespace) -> int:
    table = args.format == "table" or (args.format is None and sys.stdout.isatty())
    with open_from(args) as store:
        after = store.last_cursor() if args.after is None else args.after
        try:
            with store.watch(after=after, poll_s=args.poll) as watch:
                if table:
                    _live(watch)
                else:
                    _lines(watch)
        except KeyboardInterrupt:  # how a watch is stopped: not an error
            pass
    return OK


def _lines(watch: Any) -> None:
    out = sys.stdout.buffer
    while True:
        events = watch.poll(timeout_s=None)
        out.write(b"".join(orjson.dumps(e) + b"\n" for e in events))
        out.flush()  # a line is seen as it happens (a closed pipe shows here)


def _live(watch: Any) -> None:
    from rich.live import Live
    from rich.table import Table

    latest: collections.deque[dict[str, Any]] = collections.deque(maxlen=TABLE_ROWS)

    def render() -> Table:
        table = Table("cursor", "task", "attempt", "status", "at (usecs)", "error")
        for e in latest:
            table.add_row(str(e["cursor"]), e["taskId"], str(e.get("attempt", 1)), e["status"],
                          str(e["atUsecs"]), e.get("error", ""))  # fmt: skip
        return table

    with Live(render(), auto_refresh=False, console=console()) as live:
        while True:
            latest.extend(watch.poll(timeout_s=None))
            live.update(render(), refresh=True)
