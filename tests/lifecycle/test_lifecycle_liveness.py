"""The ``[liveness]`` table of a lifecycle: read from TOML, written back, checked (each
problem named), inherited by a lifecycle that extends another."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasklife.errors import InvalidLifecycle
from tasklife.lifecycle import COPY_TASK, COPY_TASK_6_8, Lifecycle, LivenessDef, load_lifecycle


def with_liveness(liveness: object) -> Lifecycle:
    return Lifecycle.from_dictionary({**COPY_TASK.to_dictionary(), "liveness": liveness})


def test_copy_task_declares_lost_deadline_and_retries_and_6_8_inherits_them() -> None:
    assert COPY_TASK.liveness == LivenessDef("fail", "miss", {"kFailure": 3})
    assert COPY_TASK_6_8.liveness == COPY_TASK.liveness
    assert Lifecycle.from_dictionary(COPY_TASK.to_dictionary()) == COPY_TASK
    assert with_liveness({"lost": "hold"}) != COPY_TASK  # part of the value


@pytest.mark.parametrize(
    ("liveness", "problem"),
    [
        ({"lost": "explode"}, "liveness.lost: unknown trigger 'explode'"),
        ({"lost": "start"}, "liveness.lost: trigger 'start' must lead to a final or held state"),
        ({"deadline": "succeed"}, "trigger 'succeed' is not legal from the initial state"),
        ({"deadline": "hold"}, "liveness.deadline: trigger 'hold' must end the task"),
        ({"retry": {"kRunning": 2}}, "liveness.retry: 'kRunning' is not a final state"),
        ({"retry": {"kFailure": 0}}, "liveness.retry.kFailure: a retry count is an integer"),
        ({"retry": {"kFailure": True}}, "a retry count is an integer from 1 to 1000, got True"),
        ({"lost": 3}, "liveness.lost must be a trigger name, got 3"),
        ({"lose": "fail"}, "liveness: unknown key 'lose'"),
        ("fail", "'liveness' must be a table, got 'fail'"),
    ],
)
def test_an_unsound_liveness_table_is_refused_naming_the_key(
    liveness: object, problem: str
) -> None:
    with pytest.raises(InvalidLifecycle, match=problem.replace("(", r"\(")):
        with_liveness(liveness)


def test_a_file_that_extends_replaces_the_keys_it_gives(tmp_path: Path) -> None:
    path = tmp_path / "held.toml"
    path.write_text('name = "held"\nextends = "copy-task"\n[liveness]\nlost = "hold"\n')
    held = load_lifecycle(path)
    assert held.liveness == LivenessDef("hold", "miss", {"kFailure": 3})
