"""Shared fixtures: store URLs on real SQLite files and a real PostgreSQL server, and fresh
lifecycles so listeners attached in one test never reach the records of another."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import storeservers
from tasklife.lifecycle import COPY_TASK, Lifecycle


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


_names = itertools.count()


def copy_of(lifecycle: Lifecycle, name: str) -> Lifecycle:
    return Lifecycle.from_dictionary({**lifecycle.to_dictionary(), "name": name})


@pytest.fixture
def fresh_lifecycle() -> Callable[..., Lifecycle]:
    """Make a copy of a lifecycle (copy-task by default) under a name no other test uses."""

    def make(base: Lifecycle = COPY_TASK) -> Lifecycle:
        return copy_of(base, f"{base.name}-test-{next(_names)}")

    return make
