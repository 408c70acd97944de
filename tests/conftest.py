"""Shared fixtures: store URLs on real SQLite files and a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import storeservers


@pytest.fixture(scope="session")
def postgres_server(testrun_uid: str) -> str:
    """The URL of the test run's PostgreSQL server (see ``storeservers``)."""
    return storeservers.server_url(testrun_uid)


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A PostgreSQL store URL of this test's own (a fresh schema)."""
    with storeservers.schema_url(postgres_server) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite store URL of this test's own (a file on disk)."""
    return f"sqlite:///{tmp_path / 'tasks.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest) -> str:
    """Each store test runs on both backends: a SQLite file, then a PostgreSQL schema."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url
