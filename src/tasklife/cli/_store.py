"""What the store commands share: ``--db URL`` (default ``$TASKLIFE_DB``), opening the store,
and turning errors into one line and an exit status.

Exit statuses, as ``tasklife validate``: 0 done, 1 refused (the lifecycle does not allow that
trigger now, or the error rules of the table say no), 2 unusable (no store, a bad URL, an
unreachable server, a database that is not a store, an unknown task, bad input).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any, Final

from tasklife.errors import InvalidRecord, InvalidTransition, TaskLifeError

__all__ = ["DB_ENV", "REFUSED", "UNUSABLE", "add_db_argument", "guarded", "open_from"]

DB_ENV: Final = "TASKLIFE_DB"
OK, REFUSED, UNUSABLE = 0, 1, 2


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    """``--db URL``: a ``sqlite:///``/``postgresql://`` URL or a SQLite file."""
    parser.add_argument(
        "--db",
        default=os.environ.get(DB_ENV),
        metavar="URL",
        help=f"the store: sqlite:///PATH, a file, or postgresql://... (default: ${DB_ENV})",
    )


def open_from(args: argparse.Namespace) -> Any:
    """The store named by ``--db`` (or ``$TASKLIFE_DB``)."""
    from tasklife.store import open_store

    if not args.db:
        raise _NoStore(f"no store: pass --db URL or set {DB_ENV}")
    return open_store(args.db)


class _NoStore(TaskLifeError, ValueError):
    """Neither ``--db`` nor ``$TASKLIFE_DB``."""


def guarded(command: str, body: Callable[[], int]) -> int:
    """Run a command's body: one line on stderr instead of a traceback, and its exit status."""
    try:
        return body()
    except (InvalidTransition, InvalidRecord) as exc:  # the lifecycle table said no
        _say(command, f"refused: {exc}")
        return REFUSED
    except (TaskLifeError, ImportError) as exc:
        _say(command, f"error: {exc}")
        return UNUSABLE
    except BrokenPipeError:  # the reader went away (| head): not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return OK


def _say(command: str, message: str) -> None:
    print(f"tasklife {command}: {message}", file=sys.stderr)
