"""What every command gives the terminal: exit statuses (an internal error is 3, never 1), a
closed pipe (141, no traceback), and input text that is never markup or control sequences."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from tasklife.cli import _terminal, main
from tasklife.store import open_store

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "copy-run.jsonl"
ESC = "\x1b"


def boom(*args: Any, **kwargs: Any) -> Any:
    raise ZeroDivisionError("a bug")


def stored(url: str) -> str:
    with open_store(url) as store:
        store.add({"status": "kAccepted"}, task_id="t-1")
    return url


# command argv, the module attribute whose failure is a bug of ours, what the message names
INTERNAL_CASES: list[tuple[list[str], str, str]] = [
    (["validate", str(EXAMPLE)], "tasklife.cli.validate.validate_log", str(EXAMPLE)),
    (["diagram", "-l", "copy-task"], "tasklife.cli.diagram.render_lifecycle", "copy-task"),
    (["check", "copy-task"], "tasklife.cli.check.get_lifecycle", "copy-task"),
    (["demo", str(ROOT / "examples")], "tasklife.cli.demo.roll_up", "examples"),
    (["tasks"], "tasklife.cli.tasks.open_from", "db sqlite:///"),
    (["history", "t-1"], "tasklife.cli.history.open_from", "task t-1"),
    (["fire", "t-1", "start"], "tasklife.cli.fire.open_from", "task t-1"),
    (["export"], "tasklife.cli.export.open_from", "db sqlite:///"),
]


@pytest.mark.parametrize(("argv", "target", "named"), INTERNAL_CASES)
def test_an_internal_error_exits_3_with_one_line_naming_the_input(
    argv: list[str],
    target: str,
    named: str,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if argv[0] in ("tasks", "history", "fire", "export"):
        argv = [*argv, "--db", stored(sqlite_url)]
    module, _, name = target.rpartition(".")
    monkeypatch.setattr(importlib.import_module(module), name, boom)
    capsys.readouterr()
    status = main(argv)
    err = capsys.readouterr().err
    assert status == _terminal.INTERNAL == 3  # never 1, which is a verdict
    assert err.count("\n") == 1, err
    assert err.startswith(f"tasklife {argv[0]}: internal error on ")
    assert named in err and "ZeroDivisionError: a bug" in err and "Traceback" not in err


def test_the_debug_variable_adds_the_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "boom.py"  # a sitecustomize-free way to make validate fail inside: a
    bad.write_text(  # reader that raises, registered before the command line runs
        "import sys\n"
        "import tasklife.cli.validate as v\n"
        "from tasklife.cli import main\n"
        "v.validate_log = lambda *a, **k: 1 / 0\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    argv = [sys.executable, str(bad), "validate", str(EXAMPLE)]
    quiet = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert quiet.returncode == 3 and "Traceback" not in quiet.stderr
    env = {**os.environ, "TASKLIFE_DEBUG": "1"}
    loud = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    assert (
        loud.returncode == 3 and "Traceback" in loud.stderr and "ZeroDivisionError" in loud.stderr
    )
    assert loud.stderr.rstrip().splitlines()[-1].startswith("tasklife validate: internal error")


def test_exit_statuses_are_documented_next_to_each_other() -> None:
    readme = (ROOT / "README.md").read_text()
    for status in _terminal.EXIT_STATUSES:
        assert f"`{status}`" in readme, status


# -- a closed pipe: `tasklife ... | head` ------------------------------------------------------


def closed_pipe_run(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run ``tasklife argv`` with its stdout a pipe whose reader is already gone."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tasklife", *argv],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            cwd=ROOT,
            env=env,
        )
    finally:
        os.close(write_end)
    return done.returncode, done.stderr


def test_every_command_into_a_closed_pipe_exits_141_quietly(sqlite_url: str) -> None:
    db = stored(sqlite_url)
    commands = [
        ["validate", str(EXAMPLE)],
        ["validate", str(EXAMPLE), "--format", "json"],
        ["diagram"],
        ["check", "copy-task", "copy-task-6.8"],
        ["demo", "examples"],
        ["tasks", "--db", db],
        ["history", "--db", db, "t-1"],
        ["export", "--db", db],
        ["fire", "--db", db, "t-1", "start"],
    ]
    for argv in commands:
        status, err = closed_pipe_run(argv)
        assert (status, err) == (_terminal.PIPE_CLOSED, ""), argv


def test_a_reader_that_stops_early_ends_the_command(tmp_path: Path) -> None:
    """``tasklife validate big.jsonl --limit 0 | head -1``: the reader takes one line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tasklife", "validate", str(EXAMPLE), "--limit", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "80"},
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    assert proc.wait(timeout=120) in (_terminal.PIPE_CLOSED, 1)  # 1: it all fit in the pipe
    assert first.startswith(b"not valid: 300 tasks")
    assert proc.stderr.read() == b""
    proc.stderr.close()


# -- text output is not markup ----------------------------------------------------------------

HOSTILE = [f"{ESC}[31mred", "[/]", "[bold red]fake[/bold red]", "line\nbreak", "rtl\u202eabc"]


def no_raw_control(text: str) -> bool:
    return ESC not in text and "\u202e" not in text


@pytest.fixture(autouse=True)
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables as wide as their text, so that each cell is on one line to look for."""
    monkeypatch.setenv("COLUMNS", "400")


def test_validate_prints_ids_and_statuses_as_plain_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / f"log{ESC}[1m.jsonl"
    events = [{"taskId": t, "status": "kAccepted", "atUsecs": 1} for t in HOSTILE]
    events += [{"taskId": t, "status": "kSuccess", "atUsecs": 2} for t in HOSTILE]
    events.append({"taskId": "x", "status": f"{ESC}]0;title{ESC}\\", "atUsecs": 3})
    log.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    status = main(["validate", str(log), "--limit", "0"])
    out = capsys.readouterr().out
    assert status == 1
    assert no_raw_control(out)
    assert "[/]" in out and "[bold red]fake[/bold red]" in out and "\\x1b[31mred" in out
    assert "\\x1b[1m.jsonl" in out  # the path, escaped
    assert "\\x1b]0;title" in out  # the unknown status of the malformed line


def test_store_tables_print_ids_as_plain_text(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_store(sqlite_url) as store:
        store.add_many([{"status": "kAccepted"}] * len(HOSTILE), task_ids=HOSTILE, run_id="[/]")
        store.fire(HOSTILE[0], "fail", error=f"{ESC}[2Jwiped")
    assert main(["tasks", "--db", sqlite_url]) == 0
    out = capsys.readouterr().out
    assert no_raw_control(out) and "[bold red]fake" in out and "\\x1b[2Jwiped" in out
    assert main(["history", "--db", sqlite_url, HOSTILE[0]]) == 0
    out = capsys.readouterr().out
    assert no_raw_control(out) and "\\x1b[31mred" in out
    assert main(["fire", "--db", sqlite_url, HOSTILE[1], "start"]) == 0
    assert capsys.readouterr().out.startswith("[/]: kAccepted -> kRunning")


def test_errors_and_paths_are_one_clean_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = tmp_path / f"x{ESC}[31m\nfake line.toml"
    assert main(["check", str(hostile)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and no_raw_control(err) and "\\x1b[31m" in err
    assert main(["validate", str(hostile)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and no_raw_control(err)
    log = tmp_path / "one.jsonl"
    log.write_text('{"taskId": 1, "status": "kAccepted", "atUsecs": 1}\n')
    assert main(["diagram", "--log", str(log), "--task", f"[/]{ESC}[5m"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and no_raw_control(err) and "[/]" in err


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain", "plain"),
        (f"{ESC}[31m", "\\x1b[31m"),
        ("a\tb\r\n", "a\\tb\\r\\n"),
        ("\u202e\u200b\ud800", "\\u202e\\u200b\\ud800"),
        ("café ☕", "café ☕"),
    ],
)
def test_clean_escapes_controls_and_keeps_letters(text: str, shown: str) -> None:
    assert _terminal.clean(text) == shown


def test_the_console_renders_markup_and_emoji_codes_as_text() -> None:
    import io

    console = _terminal.console()
    console.file = io.StringIO()
    console.print("[bold]x[/] :smile: [/]" + ESC)
    written: Callable[[], str] = console.file.getvalue
    assert written() == "[bold]x[/] :smile: [/]\\x1b\n"


# -- diagram --all: an existing file or an uncreatable path -------------------------------------


def test_diagram_all_onto_a_file_or_an_uncreatable_path_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "taken"
    a_file.write_text("not a directory")
    assert main(["diagram", "--all", "-o", str(a_file), "-l", "copy-task"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"tasklife diagram: error: {a_file}: cannot write diagrams there")
    assert a_file.read_text() == "not a directory"
    below = a_file / "sub"
    assert main(["diagram", "--all", "-o", str(below), "-l", "copy-task"]) == 2
    assert f"{below}: cannot write diagrams there" in capsys.readouterr().err
