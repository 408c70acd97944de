"""Fixtures for the tracking tests: lifecycles of their own, so listeners and transitions
callbacks attached in one test never reach the records of another."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from tasklife.lifecycle import COPY_TASK, Lifecycle

_names = itertools.count()


def copy_of(lifecycle: Lifecycle, name: str) -> Lifecycle:
    return Lifecycle.from_mapping({**lifecycle.to_mapping(), "name": name})


@pytest.fixture
def fresh_lifecycle() -> Callable[..., Lifecycle]:
    """Make a copy of a lifecycle (copy-task by default) under a name no other test uses."""

    def make(base: Lifecycle = COPY_TASK) -> Lifecycle:
        return copy_of(base, f"{base.name}-test-{next(_names)}")

    return make
