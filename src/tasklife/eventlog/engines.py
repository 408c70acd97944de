"""Engines: what reads and judges a whole log, behind one small interface.

An engine is a function ``(sources, criteria, *, progress, options) -> LogReport``: it reads
the sources (:mod:`tasklife.eventlog.sources`, :mod:`tasklife.eventlog.readers`), judges every
task by the :class:`~tasklife.eventlog.criteria.Criteria` with the rules of
:mod:`tasklife.validation`, and returns the one :class:`~tasklife.eventlog.report.LogReport`
(assembled from partial reports when it judges in parts). Every engine must give the report
:func:`tasklife.validate` implies, byte for byte the same as every other engine's.

* ``light`` (:mod:`tasklife.eventlog.light`): pure Python, the default install;
* ``fast`` (:mod:`tasklife.eventlog.fast`): DuckDB parses, numpy judges
  (``pip install 'tasklife[fast]'``);
* ``dask`` (:mod:`tasklife.eventlog.dask`): a Dask cluster (``tasklife[dask]``).

:func:`choose` picks for ``auto``: the fast engine for inputs of at least
:data:`FAST_FROM_BYTES` when it is installed, else the light one (a small file then starts
without importing DuckDB or numpy: issue 14, goal 4).

Engines are registered by name with a loader that imports their module only when used. A new
engine is one module and one :func:`register` call here.

>>> sorted(ENGINES)
['dask', 'fast', 'light']
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

from tasklife.errors import MissingExtra, UnusableInput
from tasklife.eventlog.sources import Source, input_bytes

if TYPE_CHECKING:
    from tasklife.eventlog.report import LogReport

__all__ = [
    "ENGINES",
    "ENGINE_CHOICES",
    "FAST_FROM_BYTES",
    "Engine",
    "choose",
    "engine",
    "fast_installed",
    "register",
]

Engine = Callable[..., "LogReport"]
"""``engine(sources, criteria, *, progress=None, options=RunOptions()) -> LogReport``."""

ENGINES: dict[str, Callable[[], Engine]] = {}
"""Engine loaders by name."""
ENGINE_CHOICES: Final = ("auto", "light", "fast")
"""What ``--engine`` takes (``dask`` is chosen by ``--dask``)."""
FAST_FROM_BYTES: Final = 8 << 20
"""``auto`` takes the fast engine from this input size on: below it, importing DuckDB and
numpy (about 0.5 CPU-s) costs more than the light engine's slower reading (~0.25 s per 8 MB
here) saves; standard input and streams count as large."""


def register(name: str, loader: Callable[[], Engine]) -> None:
    """Make the engine that ``loader`` imports available as ``name``."""
    ENGINES[name] = loader


def engine(name: str) -> Engine:
    """The engine called ``name``."""
    if name not in ENGINES:
        raise UnusableInput(f"unknown engine {name!r} (one of {', '.join(sorted(ENGINES))})")
    return ENGINES[name]()


def fast_installed() -> bool:
    """Whether the fast engine's dependencies (the ``fast`` extra) are installed."""
    return all(importlib.util.find_spec(m) is not None for m in ("duckdb", "numpy", "pyarrow"))


def choose(name: str, sources: Sequence[Source]) -> str:
    """The engine ``auto`` stands for (see the module docstring), or ``name`` itself."""
    if name != "auto":
        return name
    size = input_bytes(sources)
    large = size is None or size >= FAST_FROM_BYTES
    return "fast" if large and fast_installed() else "light"


def _light() -> Engine:
    from tasklife.eventlog import light

    return light.validate


def _fast() -> Engine:
    try:
        from tasklife.eventlog import fast
    except ImportError as exc:
        raise MissingExtra(
            f"the fast engine needs the fast extra ({exc.name} is missing): "
            "pip install 'tasklife[fast]'"
        ) from None
    return fast.validate


def _dask() -> Engine:
    from tasklife.eventlog import dask

    return dask.validate


register("light", _light)
register("fast", _fast)
register("dask", _dask)
