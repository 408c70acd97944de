"""``tasklife validate FILE...``: judge event logs of many tasks against a lifecycle.

Exit status: 0 when every task is valid, 1 when there are violations or malformed lines,
2 when an input cannot be used at all (missing file, unknown format, unknown lifecycle),
3 an internal error (:mod:`tasklife.cli._terminal`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from collections.abc import Iterator
from typing import Any, Final

from rich.console import Console

from tasklife.cli._terminal import console, say
from tasklife.errors import TaskLifeError
from tasklife.eventlog import validate_log
from tasklife.eventlog.engines import ENGINE_CHOICES, FAST_FROM_BYTES, fast_installed
from tasklife.eventlog.sources import Progress as OnProgress
from tasklife.eventlog.sources import input_bytes
from tasklife.eventlog.writing import print_text, write_json
from tasklife.validation import MODES, VOCABULARY_CHOICES

__all__ = ["parse_size", "register", "run"]

PROGRESS_BYTES: Final = 32 << 20
"""Inputs at least this large (or stdin) get a progress bar on a terminal's stderr."""
SHOWN: Final = 50
"""Violations and malformed lines the text format lists by default: a screenful or two."""
_SIZE: Final = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(?:i?B)?\s*", re.IGNORECASE)
_UNITS: Final = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
FAST_HINT: Final = (
    "tasklife validate: note: large input read by the light (pure-Python) engine; "
    "pip install 'tasklife[fast]' validates it several times faster"
)


def parse_size(text: str) -> int:
    """Bytes of a size such as ``2GB``, ``500M``, ``1.5GiB`` or ``1048576``.

    >>> parse_size("2GB"), parse_size("1.5k")
    (2147483648, 1536)
    """
    match = _SIZE.fullmatch(text)
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (like 2GB, 500MB, 1048576)")
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def register(sub: Any) -> None:
    """Add the ``validate`` sub-command."""
    p = sub.add_parser(
        "validate",
        help="validate event logs of many tasks (JSON Lines or CSV) against a lifecycle",
        description=(
            "Validate status event logs: JSON Lines {taskId, status, atUsecs[, error, "
            "taskStartTimeUsecs, taskEndTimeUsecs]} or CSV with the header "
            "task_id,status,at_usecs[,error,task_start_time_usecs,task_end_time_usecs]. "
            "Exit 0 when valid, 1 on violations or malformed lines, 2 when an input is unusable."
        ),
    )
    _judging_options(p)
    _running_options(p)
    p.add_argument(
        "--limit",
        type=int,
        default=SHOWN,
        metavar="N",
        help="text format: show at most N violations and N malformed lines (0: all)",
    )
    p.set_defaults(func=run)


def _judging_options(p: argparse.ArgumentParser) -> None:
    """What the logs are and what they are judged by."""
    p.add_argument("files", nargs="+", metavar="FILE", help="event log; - reads standard input")
    p.add_argument(
        "--mode",
        choices=MODES,
        default="strict",
        help="strict: each change is one transition; polling: the destination is reachable "
        "(explains what a poller missed)",
    )
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    p.add_argument(
        "--require-final",
        action="store_true",
        help="a task whose last status is not final is a violation (still-active)",
    )
    p.add_argument(
        "--lifecycle", default="copy-task", metavar="NAME|FILE", help="default: copy-task"
    )
    p.add_argument(
        "--vocabulary",
        choices=VOCABULARY_CHOICES,
        default="auto",
        help="status names accepted (default auto: v1, v2 or numeric codes)",
    )


def _running_options(p: argparse.ArgumentParser) -> None:
    """How they are read: the engine, the memory budget, the line limit, a cluster."""
    p.add_argument(
        "--engine",
        choices=ENGINE_CHOICES,
        default="auto",
        help="light: pure Python (always installed); fast: DuckDB + numpy (tasklife[fast]); "
        "auto (default): fast for inputs of 8 MB or more when installed",
    )
    p.add_argument(
        "--memory-limit",
        type=parse_size,
        metavar="SIZE",
        help="judge within about this much memory (e.g. 2GB): tasks are partitioned by id "
        "and spilled to a temporary directory (see --tmp)",
    )
    p.add_argument(
        "--tmp",
        metavar="DIR",
        help="where spill files go (a tasklife-spill-* directory, removed when done; "
        "default: the platform's temporary directory)",
    )
    p.add_argument(
        "--max-line-bytes",
        type=parse_size,
        metavar="SIZE",
        help="a longer line is one malformed line, skipped in bounded memory (default 64MB)",
    )
    p.add_argument(
        "--dask",
        metavar="ADDRESS|local",
        help="validate on a Dask cluster (scheduler address, or 'local' for a LocalCluster)",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``tasklife validate`` with parsed arguments; returns the exit status."""
    err = console(stderr=True)
    try:
        with _progress(args.files, err, args.dask) as progress:
            _hint(args, err)
            report = validate_log(
                args.files,
                mode=args.mode,
                lifecycle=args.lifecycle,
                vocabulary=args.vocabulary,
                require_final=args.require_final,
                engine_name=args.engine,
                memory_limit=args.memory_limit,
                tmp=args.tmp,
                max_line_bytes=args.max_line_bytes,
                dask=args.dask,
                progress=progress,
            )
    except (TaskLifeError, ImportError) as exc:
        say("validate", f"error: {exc}")
        return 2
    if args.format == "json":
        write_json(sys.stdout.buffer, report)
    else:
        print_text(report, console(), args.limit)
    return 0 if report else 1


def _hint(args: argparse.Namespace, err: Console) -> None:
    """Say once, on stderr, when the fast engine would help a large input."""
    if args.engine != "auto" or args.dask or fast_installed():
        return
    size = input_bytes(args.files)
    if size is None or size >= FAST_FROM_BYTES:
        err.print(FAST_HINT, markup=False, highlight=False, soft_wrap=True)


@contextlib.contextmanager
def _progress(
    files: list[str], console: Console, dask: str | None = None
) -> Iterator[OnProgress | None]:
    """A progress bar on a terminal for large inputs (not for Dask, whose workers read)."""
    sizes = [os.path.getsize(f) if f != "-" and os.path.isfile(f) else None for f in files]
    total = None if None in sizes else sum(s or 0 for s in sizes)
    if dask or not console.is_terminal or (total is not None and total < PROGRESS_BYTES):
        yield None
        return
    from rich.progress import (  # only for large inputs: a small one starts faster without
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("reading"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("reading", total=total)
        yield lambda n: bar.advance(task, n)
