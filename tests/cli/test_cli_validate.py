"""``tasklife validate``: exit statuses, text and JSON output, stdin, lifecycles, vocabularies."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from tasklife import validate_log
from tasklife.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "copy-run.jsonl"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["validate", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    status, out, _ = run(capsys, *argv, "--format", "json")
    return status, orjson.loads(out)


def write(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def ev(task: Any, status: Any, at: int, **extra: Any) -> str:
    return orjson.dumps({"taskId": task, "status": status, "atUsecs": at, **extra}).decode()


def test_valid_log_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = write(
        tmp_path / "ok.jsonl",
        ev(1, "kAccepted", 1),
        ev(2, "kAccepted", 1),
        ev(1, "kRunning", 2),
        ev(1, "kSuccess", 3),
    )
    status, out, _ = run(capsys, str(log))
    assert status == 0
    assert out.startswith("valid: 2 tasks, 4 events, 0 malformed lines, 0 violations")
    assert "1 tasks still active" in out


def test_require_final(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = write(tmp_path / "active.jsonl", ev("a", "kAccepted", 1), ev("a", "kRunning", 2))
    assert run(capsys, str(log))[0] == 0
    status, doc = run_json(capsys, str(log), "--require-final")
    assert status == 1
    (v,) = doc["violations"]
    assert (v["task"], v["line"], v["kind"]) == ("a", 2, "still-active")


def test_violations_exit_1_with_task_line_and_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = write(tmp_path / "bad.jsonl", ev("x", "kAccepted", 1), ev("x", "kSuccess", 2))
    status, out, _ = run(capsys, str(log))
    assert status == 1
    assert "illegal-transition" in out and "kAccepted -> kSuccess" in out
    assert "Violations in" in out and "│ x " in out and "│    2 │" in out
    assert run(capsys, str(log), "--mode", "polling")[0] == 0


def test_json_document_has_summary_and_every_violation(capsys: pytest.CaptureFixture[str]) -> None:
    status, doc = run_json(capsys, str(EXAMPLE), "--mode", "polling")
    assert status == 1
    summary = doc["summary"]
    assert summary["tasks"] == 300 and summary["mode"] == "polling"
    assert summary["events"] + summary["malformed_lines"] == summary["lines"]
    assert summary["violations"] == len(doc["violations"])
    assert sum(summary["by_kind"].values()) == len(doc["violations"]) + len(doc["malformed"])
    kinds = {v["kind"] for v in doc["violations"]}
    assert {
        "after-final",
        "illegal-transition",
        "start-time-changed",
        "failure-without-error",
    } <= kinds
    assert {m["kind"] for m in doc["malformed"]} == {"malformed", "unknown-status"}
    gaps = {(g["source"], g["dest"]): g["path"] for g in summary["gaps"]}
    assert gaps[("kAccepted", "kSuccess")] == ["start", "succeed"]
    strict = run_json(capsys, str(EXAMPLE))[1]
    assert strict["summary"]["violations"] > summary["violations"]


def test_malformed_lines_are_counted_not_fatal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = write(
        tmp_path / "mixed.jsonl",
        ev(1, "kRunning", 1),
        "{broken",
        ev(2, "kMissed", 1),
        ev(1, "kSucces", 2),
        ev(1, "kSuccess", 3),
    )
    status, doc = run_json(capsys, str(log))
    assert status == 1
    assert [(m["line"], m["kind"]) for m in doc["malformed"]] == [
        (2, "malformed"),
        (4, "unknown-status"),
    ]
    assert doc["summary"]["tasks"] == 2 and doc["violations"] == []
    status, out, err = run(capsys, str(log))
    assert "Malformed lines" in out and "Traceback" not in out + err


def test_unusable_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, str(tmp_path / "missing.jsonl"))
    assert status == 2 and "missing.jsonl: cannot read" in err and out == ""
    odd = write(tmp_path / "notes.txt", "hello")
    status, _, err = run(capsys, str(odd))
    assert status == 2 and "unknown format" in err
    headless = write(tmp_path / "x.csv", "id,state\n1,kRunning")
    assert run(capsys, str(headless))[0] == 2
    assert run(capsys, str(EXAMPLE), "--lifecycle", "copy-task-9")[0] == 2


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["validate", str(EXAMPLE), "--mode", "lenient"])
    assert info.value.code == 2


def test_lifecycle_and_vocabulary_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = write(
        tmp_path / "v2.jsonl",
        ev(1, "Accepted", 1),
        ev(1, "Running", 2),
        ev(1, "Finalizing", 3),
        ev(1, "Succeeded", 4),
    )
    status, doc = run_json(capsys, str(log))
    assert status == 1 and "copy-task-6.8" in doc["malformed"][0]["reason"]
    status, doc = run_json(capsys, str(log), "--lifecycle", "copy-task-6.8")
    assert status == 0 and doc["summary"]["vocabulary"] == "v2"
    status, doc = run_json(capsys, str(log), "--lifecycle", "copy-task-6.8", "--vocabulary", "v1")
    assert status == 1 and len(doc["malformed"]) == 4
    ci = write(tmp_path / "ci.csv", "task_id,status,at_usecs", "j1,queued,1", "j1,passed,2")
    status, doc = run_json(capsys, str(ci), "--lifecycle", str(ROOT / "examples" / "ci-job.toml"))
    assert status == 1 and doc["violations"][0]["message"].startswith("queued -> passed")


def test_several_files_and_stdin_in_a_real_process(tmp_path: Path) -> None:
    first = write(tmp_path / "a.jsonl", ev("t", "kAccepted", 1))
    second = ev("t", "kRunning", 2) + "\n" + ev("t", "kAccepted", 3) + "\n"
    proc = subprocess.run(
        [sys.executable, "-m", "tasklife", "validate", str(first), "-", "--format", "json"],
        input=second.encode(),
        capture_output=True,
        check=False,
        cwd=ROOT,
    )
    assert proc.returncode == 1, proc.stderr
    doc = orjson.loads(proc.stdout)
    assert doc["summary"]["files"] == [str(first), "<stdin>"]
    (v,) = doc["violations"]
    assert (v["file"], v["line"], v["kind"]) == ("<stdin>", 2, "illegal-transition")


def test_gzip_on_stdin_and_a_corrupt_gzip_file_in_a_real_process(tmp_path: Path) -> None:
    """``zcat``-free use: a compressed log piped in is read; a corrupt one exits 2, named."""
    packed = gzip.compress(EXAMPLE.read_bytes())
    proc = subprocess.run(
        [sys.executable, "-m", "tasklife", "validate", "-", "--format", "json"],
        input=packed,
        capture_output=True,
        check=False,
        cwd=ROOT,
    )
    assert proc.returncode == 1, proc.stderr
    assert orjson.loads(proc.stdout)["summary"]["events"] == 1684
    bad = tmp_path / "run.jsonl.gz"
    bad.write_bytes(packed[: len(packed) // 2])
    proc = subprocess.run(
        [sys.executable, "-m", "tasklife", "validate", str(bad)],
        capture_output=True,
        check=False,
        cwd=ROOT,
    )
    assert proc.returncode == 2
    assert proc.stderr.decode().startswith(f"tasklife validate: error: {bad}: cannot decompress")
    assert b"Traceback" not in proc.stderr


def test_progress_bar_on_a_terminal_for_large_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from rich.console import Console

    from tasklife.cli import validate as cli

    quiet = Console(file=io.StringIO())  # not a terminal: no bar
    with cli._progress([str(EXAMPLE)], quiet) as progress:
        assert progress is None
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=80)
    monkeypatch.setattr(cli, "PROGRESS_BYTES", 1)
    with cli._progress([str(EXAMPLE)], terminal) as progress:
        assert progress is not None
        report = validate_log([EXAMPLE], progress=progress)
    assert report.events > 0 and "reading" in screen.getvalue()


def test_validate_log_reports_progress_in_bytes_read() -> None:
    """The CLI's progress bar goes through validate_log, the one way to validate a log."""
    seen: list[int] = []
    report = validate_log(EXAMPLE, mode="polling", progress=seen.append)
    assert sum(seen) == EXAMPLE.stat().st_size and report.tasks == 300


def test_engines_and_a_memory_limit_give_the_same_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outs = set()
    for extra in (
        ["--engine", "light"],
        ["--engine", "fast"],
        ["--engine", "fast", "--memory-limit", "4KB", "--tmp", str(tmp_path)],
        ["--engine", "light", "--memory-limit", "4096", "--tmp", str(tmp_path)],
    ):
        status, out, _ = run(capsys, str(EXAMPLE), "--format", "json", *extra)
        assert status == 1
        outs.add(out)
    assert len(outs) == 1 and list(tmp_path.iterdir()) == []
    with pytest.raises(SystemExit):
        main(["validate", str(EXAMPLE), "--memory-limit", "lots"])
    assert "not a size: 'lots'" in capsys.readouterr().err


def test_the_cli_says_once_when_the_fast_extra_would_help(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tasklife.cli import validate as cli

    monkeypatch.setattr(cli, "fast_installed", lambda: False)
    monkeypatch.setattr(cli, "FAST_FROM_BYTES", 1)
    status, _, err = run(capsys, str(EXAMPLE))
    assert status == 1 and err.count("pip install 'tasklife[fast]'") == 1
    status, _, err = run(capsys, str(EXAMPLE), "--engine", "light")
    assert "tasklife[fast]" not in err


def test_a_long_line_limit_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = write(
        tmp_path / "long.jsonl", ev("a", "kAccepted", 1), ev("a", "kRunning", 2, note="x" * 300)
    )
    status, doc = run_json(capsys, str(log), "--max-line-bytes", "100")
    assert status == 1 and doc["malformed"][0]["line"] == 2
    assert doc["malformed"][0]["reason"].startswith("line longer than 100 bytes")
