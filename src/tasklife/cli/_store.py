"""What the store commands share: ``--db URL`` (default ``$TASKLIFE_DB``), opening the store,
and a refusal as exit status 1.

Exit statuses, as every command's (:mod:`tasklife.cli._terminal`): 0 done, 1 refused (the
lifecycle does not allow that trigger now, or the error rules of the table say no), 2 unusable
(no store, a bad URL, an unreachable server, a database that is not a store, an unknown task,
bad input), 3 an internal error.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any, Final

from tasklife.cli._terminal import PROBLEMS, say
from tasklife.errors import InvalidRecord, InvalidTransition, TaskLifeError

__all__ = ["DB_ENV", "REFUSED", "add_db_argument", "guarded", "open_from", "positive_seconds"]

DB_ENV: Final = "TASKLIFE_DB"
REFUSED: Final = PROBLEMS


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    """``--db URL``: a ``sqlite:///``/``postgresql://`` URL or a SQLite file."""
    parser.add_argument(
        "--db",
        default=os.environ.get(DB_ENV),
        metavar="URL",
        help=f"the store: sqlite:///PATH, a file, or postgresql://... (default: ${DB_ENV})",
    )


def positive_seconds(text: str) -> float:
    """An argparse type: a positive number of seconds (a bad one exits 2 naming it)."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return seconds


def open_from(args: argparse.Namespace) -> Any:
    """The store named by ``--db`` (or ``$TASKLIFE_DB``)."""
    from tasklife.store import open_store

    if not args.db:
        raise _NoStore(f"no store: pass --db URL or set {DB_ENV}")
    return open_store(args.db)


class _NoStore(TaskLifeError, ValueError):
    """Neither ``--db`` nor ``$TASKLIFE_DB``."""


def guarded(command: str, body: Callable[[], int]) -> int:
    """Run a command's body; a refusal of the lifecycle table is one line and status 1 (every
    other error is left to :func:`~tasklife.cli._terminal.run_command`)."""
    try:
        return body()
    except (InvalidTransition, InvalidRecord) as exc:  # the lifecycle table said no
        say(command, f"refused: {exc}")
        return REFUSED
