"""Validating event logs: the events of many tasks, interleaved, possibly out of order.

Theory of operation
-------------------
An event is ``{"taskId": <string or integer>, "status": ..., "atUsecs": <integer>}``,
optionally with ``error``, ``taskStartTimeUsecs`` and ``taskEndTimeUsecs`` (JSON Lines), or a
CSV row under the header ``task_id,status,at_usecs[,error,task_start_time_usecs,
task_end_time_usecs]``, possibly gzip-compressed. Each task's events are ordered by time,
ties in file order, and every task is judged by the rules :func:`tasklife.validate` applies
to one history. :func:`validate_log` is the one way in (the CLI's ``tasklife validate`` calls
it); an engine does the work:

* what a line means: :mod:`~tasklife.eventlog.lines` (the reference reading every engine
  agrees with), statuses to states: :mod:`~tasklife.eventlog.statuses`;
* sources and formats: :mod:`~tasklife.eventlog.sources` (open, gzip, sniff, stdin),
  :mod:`~tasklife.eventlog.readers` (the format registry), one module per format
  (:mod:`~tasklife.eventlog.jsonl`, :mod:`~tasklife.eventlog.csvlog`) giving blocks of lines
  (:mod:`~tasklife.eventlog.blocks`);
* the light engine (:mod:`~tasklife.eventlog.light`, pure Python: tasks as lists,
  :mod:`~tasklife.eventlog.runs` judges them, :mod:`~tasklife.eventlog.spill` partitions
  them to disk under a memory budget);
* the fast engine (:mod:`~tasklife.eventlog.fast`: DuckDB parses with guards
  (:mod:`~tasklife.eventlog.duck`), an event table (:mod:`~tasklife.eventlog.table`,
  :mod:`~tasklife.eventlog.reading`), the vectorised judge (:mod:`~tasklife.eventlog.order`,
  :mod:`~tasklife.eventlog.kernel`));
* the Dask engine (:mod:`~tasklife.eventlog.dask`): the same readers and kernel on a
  cluster, tasks shuffled to partitions;
* the report (:mod:`~tasklife.eventlog.report`): :class:`LogReport`, assembled from the
  partial reports of any engine, and written streamed (:mod:`~tasklife.eventlog.writing`);
* engines by name (:mod:`~tasklife.eventlog.engines`).

>>> report = validate_log("examples/copy-run.jsonl", mode="polling")
>>> bool(report), report.tasks
(False, 300)
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from tasklife.errors import UnusableInput
from tasklife.eventlog.criteria import Criteria, RunOptions
from tasklife.eventlog.engines import choose, engine
from tasklife.eventlog.report import LogReport, Malformed
from tasklife.lifecycle import LifecycleSpec, get_lifecycle
from tasklife.validation.history import Mode
from tasklife.validation.rules import check_mode, check_vocabulary

if TYPE_CHECKING:
    from tasklife.eventlog.sources import Progress, Source

__all__ = ["LogReport", "Malformed", "validate_log"]


def validate_log(
    sources: Source | Iterable[Source],
    *,
    mode: Mode = "strict",
    lifecycle: LifecycleSpec = "copy-task",
    vocabulary: str = "auto",
    require_final: bool = False,
    engine_name: str = "auto",
    memory_limit: int | None = None,
    tmp: str | None = None,
    max_line_bytes: int | None = None,
    dask: str | None = None,
    progress: Progress | None = None,
) -> LogReport:
    """Validate event logs of many tasks (JSON Lines or CSV): paths (``str``, ``bytes`` or
    path-like; ``-`` for stdin) or binary streams, one or a list.

    Events are grouped per task and ordered by time; every task is judged by the rules of
    :func:`tasklife.validate`. ``engine_name``: ``light`` (pure Python), ``fast`` (DuckDB and
    numpy: ``tasklife[fast]``) or ``auto`` (fast for large inputs when installed);
    ``dask`` runs on the Dask cluster at that address (``"local"`` starts one; needs
    ``tasklife[dask]``). ``memory_limit`` (bytes) makes the engine judge the tasks in
    partitions spilled under ``tmp``; ``max_line_bytes`` bounds a line (longer ones are
    malformed). ``progress`` is called with the number of bytes read as they are read. The
    report is truthy when every task is valid and no line was malformed. A source that cannot
    be read at all raises :class:`~tasklife.errors.UnusableInput`.

    >>> validate_log("examples/copy-run.jsonl", mode="polling").counts["illegal-transition"]
    1
    """
    check_mode(mode)
    check_vocabulary(vocabulary)
    paths = _sources(sources)
    criteria = Criteria(get_lifecycle(lifecycle), mode, vocabulary, require_final)
    options = RunOptions(memory_limit, tmp, max_line_bytes)
    if dask is not None:
        return engine("dask")(paths, criteria, progress=progress, options=options, address=dask)
    run = engine(choose(engine_name, paths))
    return run(paths, criteria, progress=progress, options=options)


def _sources(sources: Any) -> list[Source]:
    """The sources as a list: one path or stream, or an iterable of them (issue 12, item 17)."""
    if isinstance(sources, str | bytes | os.PathLike) or hasattr(sources, "read"):
        return [sources]
    if isinstance(sources, Iterable):
        return list(sources)
    raise UnusableInput(f"not an event log: {sources!r:.60} (give paths, '-' or binary streams)")
