"""`tasklife check FILE...`: 0 sound, 1 one line per problem, 2 unusable input."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tasklife.cli import main
from tasklife.cli.check import check_one
from tasklife.lifecycle import COPY_TASK_6_8

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], list[str]]:
    status = main(["check", *args])
    out, err = capsys.readouterr()
    return status, out.splitlines(), err.splitlines()


def test_builtin_names_are_sound(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "copy-task", "copy-task-6.8")
    assert status == 0
    assert err == []
    assert out == [
        "copy-task: sound: lifecycle 'copy-task', 9 states (5 final), 9 triggers, "
        "initial 'kAccepted'",
        "copy-task-6.8: sound: lifecycle 'copy-task-6.8', 10 states (5 final), 10 triggers, "
        "initial 'kAccepted'",
    ]


def test_example_ci_job_is_sound(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(EXAMPLES / "ci-job.toml")
    status, out, _ = run(capsys, path)
    assert status == 0
    assert out == [
        f"{path}: sound: lifecycle 'ci-job', 5 states (3 final), 4 triggers, initial 'queued'"
    ]


def test_example_bad_lifecycle_gives_one_line_per_problem(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = str(EXAMPLES / "bad-lifecycle.toml")
    status, out, err = run(capsys, path)
    assert status == 1
    assert err == []
    assert [line.removeprefix(f"{path}: ") for line in out] == [
        "trigger 'finish' has two destinations from 'deploying': 'live' and 'rolled_back'",
        "final state 'live' has an exit: trigger 'redeploy' -> 'pending'",
        "transition 'abort': unknown dest state 'aborted'",
        "state 'verifying' is not reachable from the initial state 'pending'",
        "state 'rolled_back' is not reachable from the initial state 'pending'",
        "state 'verifying' cannot reach a final state",
    ]
    assert all(line.startswith(f"{path}: ") for line in out)


def test_json_file_with_duplicate_keys_is_a_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "dup.json"
    f.write_text('{"initial": "a", "states": {"a": {}, "a": {}}, "transitions": []}')
    status, out, _ = run(capsys, str(f))
    assert (status, out) == (1, [f"{f}: duplicate name 'a'"])


def test_shape_problem_names_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "typo.toml"
    f.write_text('initial = "a"\n[states.a]\ntermnal = "success"\n')
    status, out, _ = run(capsys, str(f))
    assert status == 1
    assert out == [f"{f}: state 'a': unknown key 'termnal'"]


def test_unknown_extends_is_a_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "newer.toml"
    f.write_text('extends = "copy-task-9.0"\n')
    status, out, _ = run(capsys, str(f))
    assert status == 1
    assert len(out) == 1
    assert out[0].startswith(f"{f}: extends: unknown lifecycle 'copy-task-9.0'")


def test_extending_file_round_trip_is_sound(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "copy-task-6.8.json"
    f.write_bytes(orjson.dumps(COPY_TASK_6_8.to_dictionary()))
    status, out, _ = run(capsys, str(f))
    assert status == 0
    assert "10 states (5 final), 10 triggers" in out[0]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("missing.toml", None, "cannot read"),
        ("broken.toml", b"initial = \n", "not valid TOML"),
        ("broken.json", b'{"initial": ', "not valid JSON"),
        ("latin1.toml", b'name = "caf\xe9"\n', "not UTF-8 text"),
        ("list.json", b"[1, 2]", "the top level must be an object, got list"),
        ("life.yaml", b"initial: a\n", "not a built-in lifecycle"),
    ],
)
def test_unusable_input_exits_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: bytes | None,
    reason: str,
) -> None:
    f = tmp_path / name
    if content is not None:
        f.write_bytes(content)
    status, out, err = run(capsys, str(f))
    assert status == 2
    assert out == []
    assert len(err) == 1
    assert err[0].startswith(f"{f}: ")
    assert reason in err[0]


def test_directory_is_unusable(tmp_path: Path) -> None:
    d = tmp_path / "dir.toml"
    d.mkdir()
    status, lines = check_one(str(d))
    assert status == 2
    assert "cannot read" in lines[0]


def test_worst_status_wins_and_every_file_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = str(EXAMPLES / "bad-lifecycle.toml")
    status, out, err = run(capsys, "copy-task", bad, str(tmp_path / "gone.json"), "copy-task-6.8")
    assert status == 2
    assert out[0].startswith("copy-task: sound")
    assert out[-1].startswith("copy-task-6.8: sound")
    assert sum(line.startswith(bad) for line in out) == 6
    assert err == [f"{tmp_path / 'gone.json'}: cannot read: No such file or directory"]


def test_no_argument_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["check"])
    assert exc.value.code == 2
    assert "FILE" in capsys.readouterr().err


def test_console_script_end_to_end() -> None:
    exe = shutil.which("tasklife", path=str(Path(sys.executable).parent))
    assert exe is not None
    done = subprocess.run(
        [exe, "check", str(EXAMPLES / "ci-job.toml"), str(EXAMPLES / "bad-lifecycle.toml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert "sound: lifecycle 'ci-job'" in lines[0]
    assert len(lines) == 7


def test_duplicate_state_in_toml_is_refused_by_toml_itself_naming_the_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # TOML forbids declaring a table twice, so such a file is not TOML at all (exit 2).
    f = tmp_path / "twice.toml"
    f.write_text('initial = "a"\n[states.a]\n[states.a]\noutcome = "success"\n')
    status, out, err = run(capsys, str(f))
    assert (status, out) == (2, [])
    assert err == [
        f"{f}: not valid TOML: Cannot declare ('states', 'a') twice (at line 3, column 10)"
    ]
