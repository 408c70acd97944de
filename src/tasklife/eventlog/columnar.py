"""The columnar engine: the whole log read into numpy columns, judged at once, in one process.

Reading: :mod:`tasklife.eventlog.reading` (pyarrow parses JSON Lines on worker threads);
judging: :mod:`tasklife.eventlog.kernel`. Needs numpy and pyarrow.

>>> from tasklife.lifecycle import COPY_TASK
>>> validate(["examples/copy-run.jsonl"], Criteria(COPY_TASK, mode="polling")).tasks
300
"""

from __future__ import annotations

from collections.abc import Sequence

from tasklife.eventlog.criteria import Criteria
from tasklife.eventlog.kernel import judge
from tasklife.eventlog.reading import read_events
from tasklife.eventlog.report import LogReport
from tasklife.eventlog.sources import Progress, Source

__all__ = ["validate"]


def validate(
    sources: Sequence[Source], criteria: Criteria, *, progress: Progress | None = None
) -> LogReport:
    """Read ``sources`` and judge every task by ``criteria`` (an engine; see
    :mod:`tasklife.eventlog.engines`)."""
    lc = criteria.lifecycle
    log = read_events(sources, lifecycle=lc, vocabulary=criteria.vocabulary, progress=progress)
    verdicts = judge(log, lifecycle=lc, mode=criteria.mode, require_final=criteria.require_final)
    return verdicts.report()
