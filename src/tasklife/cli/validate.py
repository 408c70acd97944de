"""``tasklife validate FILE...``: judge event logs of many tasks against a lifecycle.

Exit status: 0 when every task is valid, 1 when there are violations or malformed lines,
2 when an input cannot be used at all (missing file, unknown format, unknown lifecycle),
3 an internal error (:mod:`tasklife.cli._terminal`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any, Final

import orjson
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from tasklife.cli._terminal import clean, console, say
from tasklife.errors import TaskLifeError
from tasklife.eventlog import LogReport, validate_log
from tasklife.eventlog.sources import Progress as OnProgress
from tasklife.validation import MODES, VOCABULARY_CHOICES

__all__ = ["register", "run"]

PROGRESS_BYTES: Final = 32 << 20
"""Inputs at least this large (or stdin) get a progress bar on a terminal's stderr."""
SHOWN: Final = 50
"""Violations and malformed lines the text format lists by default: a screenful or two."""


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
    p.add_argument(
        "--dask",
        metavar="ADDRESS|local",
        help="validate on a Dask cluster (scheduler address, or 'local' for a LocalCluster)",
    )
    p.add_argument(
        "--limit",
        type=int,
        default=SHOWN,
        metavar="N",
        help="text format: show at most N violations and N malformed lines (0: all)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``tasklife validate`` with parsed arguments; returns the exit status."""
    err = console(stderr=True)
    try:
        with _progress(args.files, err, args.dask) as progress:
            report = validate_log(
                args.files,
                mode=args.mode,
                lifecycle=args.lifecycle,
                vocabulary=args.vocabulary,
                require_final=args.require_final,
                dask=args.dask,
                progress=progress,
            )
    except (TaskLifeError, ImportError) as exc:
        say("validate", f"error: {exc}")
        return 2
    if args.format == "json":
        sys.stdout.buffer.write(orjson.dumps(report.to_dictionary(), option=orjson.OPT_INDENT_2))
        sys.stdout.buffer.write(b"\n")
    else:
        _print_text(report, console(), args.limit)
    return 0 if report else 1


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
    columns = (
        TextColumn("reading"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("reading", total=total)
        yield lambda n: bar.advance(task, n)


def _print_text(report: LogReport, out: Console, limit: int) -> None:
    summary = report.summary()
    verdict = ("valid", "green") if report else ("not valid", "red")
    out.print(
        Text.assemble(
            verdict,
            clean(
                f": {summary['tasks']} tasks, {summary['events']} events, "
                f"{summary['malformed_lines']} malformed lines, {summary['violations']} "
                f"violations ({report.mode} mode, lifecycle {report.lifecycle!r}, vocabulary "
                f"{report.vocabulary}, {summary['still_active_tasks']} tasks still active)"
            ),
        )
    )
    if summary["by_kind"]:
        kinds = Table(title="Problems by kind", title_justify="left")
        kinds.add_column("kind")
        kinds.add_column("count", justify="right")
        for kind, count in summary["by_kind"].items():
            kinds.add_row(kind, str(count))
        out.print(kinds)
    if report.gaps:
        gaps = Table(title="Gaps explained (polling)", title_justify="left")
        for col in ("source", "dest", "path", "count"):
            gaps.add_column(col, justify="right" if col == "count" else "left")
        for (s, t), (path, count) in report.gaps.items():
            gaps.add_row(str(s), str(t), ", ".join(path), str(count))
        out.print(gaps)
    one_file = len(report.sources) == 1
    where = f" in {report.sources[0]}" if one_file else ""

    def at(file: str | None, line: int | None) -> str:
        return str(line) if one_file else f"{file}:{line}"

    shown = report.violations if limit <= 0 else report.violations[:limit]
    if shown:
        table = Table(title=f"Violations{where}", title_justify="left")
        table.add_column("task", overflow="fold")
        table.add_column("line", justify="right", no_wrap=one_file)
        table.add_column("kind", no_wrap=True)
        table.add_column("message", overflow="fold", ratio=1)
        for v in shown:
            table.add_row(str(v.task), at(v.file, v.line), v.kind, v.message)
        out.print(table)
    bad = report.malformed if limit <= 0 else report.malformed[:limit]
    if bad:
        table = Table(title=f"Malformed lines{where}", title_justify="left")
        table.add_column("line", justify="right", no_wrap=one_file)
        table.add_column("kind", no_wrap=True)
        table.add_column("reason", overflow="fold", ratio=1)
        for m in bad:
            table.add_row(at(m.file, m.line), m.kind, m.reason)
        out.print(table)
    hidden = len(report.violations) - len(shown) + len(report.malformed) - len(bad)
    if hidden:
        out.print(f"... and {hidden} more; --limit 0 or --format json lists all", highlight=False)
