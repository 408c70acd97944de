"""README's "Many workers sharing one store" runs as written: two worker processes race on
one SQLite store, and reopening it prints what the README shows; so does "Workers that die":
a SIGKILLed worker's tasks are reaped and one is retried."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "README.md").read_text(encoding="utf-8")


def block_after(marker: str, lang: str) -> str:
    at = TEXT.index(f"<!-- {marker} -->")
    m = re.compile(rf"^```{lang}\n(.*?)^```$", re.S | re.M).search(TEXT, at)
    assert m is not None, f"no ```{lang} block after {marker}"
    return m.group(1)


def run_as_a_file(tmp_path: Path, marker: str) -> None:
    """Run the README's example after ``marker`` as a script; it prints what the README says."""
    script = tmp_path / f"{marker}.py"
    script.write_text(block_after(marker, "python"))
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == block_after(f"{marker}-output", "text")


def test_two_workers_race_on_one_store(tmp_path: Path) -> None:
    run_as_a_file(tmp_path, "store-example")


def test_a_killed_worker_is_reaped_and_a_task_retried(tmp_path: Path) -> None:
    run_as_a_file(tmp_path, "liveness-example")
