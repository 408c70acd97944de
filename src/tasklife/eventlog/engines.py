"""Engines: what reads and judges a whole log, behind one small interface.

An engine is a function ``(sources, criteria, *, progress) -> LogReport``: it reads the
sources (:mod:`tasklife.eventlog.sources`, :mod:`tasklife.eventlog.readers`), judges every
task by the :class:`~tasklife.eventlog.criteria.Criteria` with the rules of
:mod:`tasklife.validation`, and returns the one :class:`~tasklife.eventlog.report.LogReport`
(merging partial reports when it judges in parts). Every engine must give the report
:func:`tasklife.validate` implies, event for event.

Engines are registered by name with a loader that imports their module only when used (the
columnar engine needs numpy and pyarrow). A new engine is one module and one :func:`register`
call here.

>>> sorted(ENGINES)
['columnar', 'dask']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from tasklife.errors import UnusableInput

if TYPE_CHECKING:
    from tasklife.eventlog.report import LogReport

__all__ = ["DEFAULT_ENGINE", "ENGINES", "Engine", "engine", "register"]

Engine = Callable[..., "LogReport"]
"""``engine(sources, criteria, *, progress=None, **options) -> LogReport``."""


ENGINES: dict[str, Callable[[], Engine]] = {}
"""Engine loaders by name."""
DEFAULT_ENGINE: Final = "columnar"


def register(name: str, loader: Callable[[], Engine]) -> None:
    """Make the engine that ``loader`` imports available as ``name``."""
    ENGINES[name] = loader


def engine(name: str = DEFAULT_ENGINE) -> Engine:
    """The engine called ``name``."""
    if name not in ENGINES:
        raise UnusableInput(f"unknown engine {name!r} (one of {', '.join(sorted(ENGINES))})")
    return ENGINES[name]()


def _columnar() -> Engine:
    from tasklife.eventlog import columnar

    return columnar.validate


def _dask() -> Engine:
    from tasklife.eventlog import dask

    return dask.validate


register("columnar", _columnar)
register("dask", _dask)
