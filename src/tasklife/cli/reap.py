"""``tasklife reap``: fire the lifecycle's ``lost`` trigger at the tasks whose worker stopped
heartbeating, and its ``deadline`` trigger at the tasks still queued past their deadline.

One JSON line per task reaped (``taskId``, ``trigger``, ``status`` or ``refused``,
``reason``). With ``--every SECONDS`` it reaps again and again until Ctrl-C (exit 0); a
server that goes away meanwhile is reported on stderr and tried again at the next round.
Exit 0 done, 2 the store cannot be used.

>>> from tasklife.cli import main
>>> main(["reap", "--db", "no-such-dir/x.db"])
2
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import orjson

from tasklife.cli._store import add_db_argument, guarded, open_from, positive_seconds
from tasklife.cli._terminal import OK, say
from tasklife.errors import StoreUnavailable, TaskLifeError

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add the ``reap`` sub-command."""
    p = sub.add_parser(
        "reap",
        help="fail (or hold) the tasks of lost workers; miss the tasks past their deadline",
        description=__doc__.split("\n\n", 1)[1].split("\n\n>>>", 1)[0] if __doc__ else None,
    )
    add_db_argument(p)
    p.add_argument(
        "--every",
        type=positive_seconds,
        metavar="SECONDS",
        help="reap again every SECONDS until Ctrl-C",
    )
    p.set_defaults(func=lambda args: guarded("reap", lambda: run(args)))


def run(args: argparse.Namespace) -> int:
    with open_from(args) as store:
        try:
            while True:
                started = time.monotonic()
                try:
                    _report(store.reap())
                except StoreUnavailable as exc:
                    if args.every is None:
                        raise
                    say("reap", f"error: {exc} (trying again)")
                if args.every is None:
                    return OK
                time.sleep(max(0.0, args.every - (time.monotonic() - started)))
        except KeyboardInterrupt:  # how a reaper is stopped: not an error
            return OK


def _report(reaped: list[Any]) -> None:
    out = sys.stdout.buffer
    for r in reaped:
        line: dict[str, Any] = {"taskId": r.task_id, "trigger": r.trigger}
        if isinstance(r.result, TaskLifeError):
            line["refused"] = str(r.result)
        else:
            line["status"] = r.result.dest
        line["reason"] = r.reason
        out.write(orjson.dumps(line) + b"\n")
    out.flush()
