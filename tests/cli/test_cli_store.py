"""``tasklife tasks | history | fire | export`` on both backends: exit 0 ok, 1 refused,
2 unusable, one clear line on stderr and never a traceback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tasklife.cli import main
from tasklife.eventlog import validate_log
from tasklife.store import open_store


@pytest.fixture
def db(store_url: str) -> str:
    with open_store(store_url) as store:
        store.add_many(
            [{"status": "kRunning", "taskStartTimeUsecs": 10}, {"status": "kAccepted"}],
            task_ids=["copy-1", "copy-2"],
            run_id="run-1",
        )
    return store_url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_fire_history_tasks_and_export(
    db: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, out, _ = run(capsys, "fire", "--db", db, "copy-1", "fail", "--error", "quota")
    assert status == 0 and re.fullmatch(
        r"copy-1: kRunning -> kFailure by fail at \d+ \(cursor \d+\)\n", out
    )
    at = int(out.split(" at ")[1].split()[0])
    status, out, _ = run(capsys, "fire", "--db", db, "copy-2", "start", "--key", "m1")
    again = run(capsys, "fire", "--db", db, "copy-2", "start", "--key", "m1")
    assert status == 0 and again == (0, out, "")  # the same message delivered twice
    status, out, _ = run(capsys, "history", "--db", db, "copy-1", "--format", "json")
    assert status == 0
    assert [json.loads(line) for line in out.splitlines()] == [
        {"trigger": "fail", "source": "kRunning", "dest": "kFailure", "atUsecs": at}
    ]
    status, out, _ = run(capsys, "history", "--db", db, "copy-2")
    assert status == 0 and "copy-2: kRunning" in out and "start" in out
    status, out, _ = run(capsys, "tasks", "--db", db, "--status", "kFailure", "--format", "json")
    assert [json.loads(line)["taskId"] for line in out.splitlines()] == ["copy-1"]
    assert json.loads(out)["error"] == "quota"
    status, out, _ = run(capsys, "tasks", "--db", db, "--run", "run-1")
    assert status == 0 and "copy-1" in out and "copy-2" in out and "quota" in out
    status, out, _ = run(capsys, "tasks", "--db", db, "--run", "none")
    assert status == 0 and out.strip() == "no tasks"
    status, out, _ = run(capsys, "export", "--db", db)
    events = [json.loads(line) for line in out.splitlines()]
    assert status == 0 and [e["status"] for e in events] == [
        "kRunning",
        "kAccepted",
        "kFailure",
        "kRunning",
    ]
    (tmp_path / "events.jsonl").write_text(out)
    assert validate_log(str(tmp_path / "events.jsonl"))  # the store's own history is valid
    status, out, _ = run(
        capsys, "export", "--db", db, "--after", str(events[1]["cursor"]), "--limit", "1"
    )
    assert [json.loads(line)["status"] for line in out.splitlines()] == ["kFailure"]


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        (["fire", "copy-1", "start"], 1, "refused: cannot 'start' from status 'kRunning'"),
        (["fire", "copy-1", "explode"], 1, "refused: cannot 'explode'"),
        (["fire", "copy-1", "fail"], 1, "refused: error: 'fail' needs a non-empty error"),
        (["fire", "nope", "start"], 2, "error: no task 'nope' in the store"),
        (["history", "nope"], 2, "error: no task 'nope' in the store"),
    ],
)
def test_refusals_and_unknown_tasks_are_one_line(
    db: str, capsys: pytest.CaptureFixture[str], argv: list[str], status: int, message: str
) -> None:
    code, out, err = run(capsys, *argv[:1], "--db", db, *argv[1:])
    assert (code, out) == (status, "")
    assert err.startswith(f"tasklife {argv[0]}: {message}") and err.count("\n") == 1


def test_unusable_stores_exit_2_without_a_traceback(tmp_path: Path) -> None:
    not_a_store = tmp_path / "notes.txt"
    not_a_store.write_text("hello\n" * 50)
    env = {k: v for k, v in os.environ.items() if k != "TASKLIFE_DB"}
    cases = [
        (["tasks"], "no store: pass --db URL or set TASKLIFE_DB"),
        (["tasks", "--db", "mysql://x/y"], "unknown scheme 'mysql'"),
        (["tasks", "--db", str(not_a_store)], "is not a tasklife store"),
        (["export", "--db", f"postgresql://u:hunter22@/x?host={tmp_path}&port=1"], "cannot use"),
    ]
    for argv, message in cases:
        done = subprocess.run(
            [sys.executable, "-m", "tasklife", *argv],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert done.returncode == 2, done.stderr
        assert message in done.stderr and "Traceback" not in done.stderr
        assert "hunter22" not in done.stderr and done.stderr.count("\n") == 1


def test_the_db_comes_from_the_environment(sqlite_url: str) -> None:
    with open_store(sqlite_url) as store:
        store.add({"status": "kAccepted"}, task_id="env-task")
    done = subprocess.run(
        [sys.executable, "-m", "tasklife", "fire", "env-task", "start"],
        capture_output=True, text=True, env={**os.environ, "TASKLIFE_DB": sqlite_url}, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and done.stdout.startswith("env-task: kAccepted -> kRunning")
