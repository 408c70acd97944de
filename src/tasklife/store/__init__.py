"""A durable task store: many processes and machines share each task's lifecycle.

``open_store(url)`` opens (and on first use creates) a store in SQLite (the default, in the
standard library) or PostgreSQL (``pip install 'tasklife[postgres]'``); see
:mod:`tasklife.store.url` for URLs and durability. Every transition is checked against the
lifecycle table and written with its history row in one transaction
(:mod:`tasklife.store.transition`).

>>> from tasklife.store import open_store
>>> with open_store("sqlite://") as store:
...     store.add({"status": "kAccepted", "taskStartTimeHhmm": "06:13"}, task_id="t1")
...     store.fire("t1", "start", at_usecs=5).dest
...     store.get("t1").to_dictionary()
't1'
'kRunning'
{'status': 'kRunning', 'taskStartTimeUsecs': 5, 'taskStartTimeHhmm': '06:13'}
"""

from __future__ import annotations

import os

from tasklife.store.api import FireItem, Store
from tasklife.store.backend import Backend
from tasklife.store.liveness import Reaped
from tasklife.store.transition import Fire, Fired, StoredTask
from tasklife.store.url import DURABILITIES, Durability, StoreURL, parse_url
from tasklife.store.watching import Watch
from tasklife.tracking import Clock, wall_clock_usecs

__all__ = [
    "DURABILITIES",
    "Durability",
    "Fire",
    "FireItem",
    "Fired",
    "Reaped",
    "Store",
    "StoreURL",
    "StoredTask",
    "Watch",
    "open_store",
]


def open_store(
    url: str | os.PathLike[str],
    *,
    durability: Durability | None = None,
    clock: Clock | None = None,
) -> Store:
    """Open the store at ``url`` (a ``sqlite:///``/``postgresql://`` URL or a file path),
    creating its schema on first use.

    ``durability`` (``full``, the default, or ``process``; also ``?durability=`` in the URL)
    says what an acknowledged change survives (:data:`DURABILITIES`). ``clock`` stamps
    transitions fired without ``at_usecs`` (epoch microseconds; the wall clock by default).
    Raises :class:`~tasklife.errors.InvalidStoreURL`, ``StoreUnavailable``,
    ``StoreSchemaError`` (not a tasklife store, or a newer one) or ``StoreError``.
    """
    parsed = parse_url(url, durability=durability)
    backend: Backend
    if parsed.dialect == "sqlite":
        from tasklife.store.sqlite import SQLiteBackend

        backend = SQLiteBackend(parsed)
    else:
        from tasklife.store.postgres import PostgresBackend  # psycopg: only when asked for

        backend = PostgresBackend(parsed)
    return Store(backend, clock or wall_clock_usecs)
