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

* sources and formats: :mod:`~tasklife.eventlog.sources` (open, gzip, sniff),
  :mod:`~tasklife.eventlog.readers` (the format registry), one module per format
  (:mod:`~tasklife.eventlog.jsonl`, :mod:`~tasklife.eventlog.csvlog`) giving
  :mod:`~tasklife.eventlog.chunks` of columns;
* the columnar engine (:mod:`~tasklife.eventlog.columnar`): chunks joined into one event
  table (:mod:`~tasklife.eventlog.reading`, :mod:`~tasklife.eventlog.table`), put in task
  order (:mod:`~tasklife.eventlog.order`), judged at once (:mod:`~tasklife.eventlog.kernel`);
* the Dask engine (:mod:`~tasklife.eventlog.dask`): the same readers and kernel on a
  cluster, tasks shuffled to partitions;
* the report (:mod:`~tasklife.eventlog.report`): :class:`LogReport`, merged from the
  partial reports of any engine that judges in parts;
* engines by name (:mod:`~tasklife.eventlog.engines`).

>>> report = validate_log("examples/copy-run.jsonl", mode="polling")
>>> bool(report), report.tasks
(False, 300)
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tasklife.eventlog.criteria import Criteria
from tasklife.eventlog.engines import DEFAULT_ENGINE, Engine, engine
from tasklife.eventlog.report import LogReport, Malformed
from tasklife.lifecycle import LifecycleSpec, get_lifecycle
from tasklife.validation.history import Mode
from tasklife.validation.rules import check_mode, check_vocabulary

if TYPE_CHECKING:
    from tasklife.eventlog.sources import Progress

__all__ = ["LogReport", "Malformed", "validate_log"]


def validate_log(
    sources: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    mode: Mode = "strict",
    lifecycle: LifecycleSpec = "copy-task",
    vocabulary: str = "auto",
    require_final: bool = False,
    dask: str | None = None,
    progress: Progress | None = None,
) -> LogReport:
    """Validate event logs of many tasks (JSON Lines or CSV files, ``-`` for stdin).

    Events are grouped per task and ordered by time; every task is judged by the rules of
    :func:`tasklife.validate`, vectorised, or on the Dask cluster at ``dask`` (``"local"``
    starts one; needs ``tasklife[dask]``). ``progress`` is called with the number of bytes
    read as they are read. The report is truthy when every task is valid and no line was
    malformed. A source that cannot be read at all raises
    :class:`~tasklife.errors.UnusableInput`.

    >>> validate_log("examples/copy-run.jsonl", mode="polling").counts["illegal-transition"]
    1
    """
    check_mode(mode)
    check_vocabulary(vocabulary)
    paths = [sources] if isinstance(sources, str | os.PathLike) else list(sources)
    criteria = Criteria(get_lifecycle(lifecycle), mode, vocabulary, require_final)
    run: Engine
    if dask is not None:
        run = functools.partial(engine("dask"), address=dask)
    else:
        run = engine(DEFAULT_ENGINE)
    return run(paths, criteria, progress=progress)
