"""The README's main job: ``tasklife demo examples`` runs start to finish on a fresh checkout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_demo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tasklife", "demo", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )


def test_demo_runs_every_step_on_the_bundled_examples() -> None:
    done = run_demo("examples")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for status in ("kAccepted", "kCanceling", "kMissed", "kWarning"):  # a row per document
        assert f"│ {status}" in out
    assert "kAccepted -> kRunning -> kOnHold -> kRunning -> kWarning" in out
    assert "cannot 'start' from status 'kMissed'" in out
    assert "Roll-up of these 14 tasks into one copy run: kRunning" in out
    assert "tasklife validate --mode polling examples/copy-run.jsonl" in out
    assert "failure-without-error" in out and "copy-task-6.8" in out


def test_demo_on_a_folder_without_documents_says_so(tmp_path: Path) -> None:
    done = run_demo(str(tmp_path))
    assert done.returncode == 2
    assert "no status documents" in done.stdout
