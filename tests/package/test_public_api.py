"""The top-level namespace: the user-facing names only, each found in its own module."""

from __future__ import annotations

import subprocess
import sys

import pytest

import tasklife
from tasklife import errors


def test_every_public_name_resolves_to_its_home_module() -> None:
    assert set(tasklife._HOMES) == set(tasklife.__all__)
    for name in tasklife.__all__:
        value = getattr(tasklife, name)
        assert getattr(sys.modules[tasklife._HOMES[name]], name) is value
    assert set(tasklife.__all__) <= set(dir(tasklife))


def test_about_twenty_five_names_and_every_error_users_catch() -> None:
    assert 20 <= len(tasklife.__all__) <= 30
    assert {"LifecycleMachine", "judge", "read_events", "EventLog", "check_definition"}.isdisjoint(
        tasklife.__all__
    )  # engine parts stay in their modules
    for name in ("TaskLifeError", "InvalidRecord", "InvalidTransition", "UnusableInput"):
        assert issubclass(getattr(tasklife, name), errors.TaskLifeError)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'judge'"):
        tasklife.judge  # noqa: B018


def test_tracking_a_task_imports_neither_validation_nor_diagrams() -> None:
    probe = (
        "import sys; from tasklife import CopySnapshotTaskStatus as C; C().start();"
        "print(sorted(m for m in sys.modules if m.startswith('tasklife.')))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = out.stdout
    assert "tasklife.tracking" in loaded
    assert "tasklife.validation" not in loaded and "tasklife.diagrams" not in loaded
