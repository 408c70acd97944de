"""README.md says what the code does: its examples run and print what it shows, its lifecycle
diagram is the one the code renders, and CI runs exactly its test command."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tasklife import COPY_TASK, render_lifecycle

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def block_after(marker: str, lang: str) -> str:
    at = README.index(f"<!-- {marker} -->")
    m = re.compile(rf"^```{lang}\n(.*?)^```$", re.S | re.M).search(README, at)
    assert m is not None, f"no ```{lang} block after {marker}"
    return m.group(1)


@pytest.mark.parametrize("name", ["quickstart", "orchestrator", "validation-example"])
def test_example_prints_what_the_readme_says(name: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", block_after(name, "python")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == block_after(f"{name}-output", "text")


def test_mermaid_block_is_the_rendered_lifecycle() -> None:
    assert block_after("lifecycle-mermaid", "mermaid") == render_lifecycle(COPY_TASK, "mermaid")


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "<!-- test-command -->" in ci and "bash -euo pipefail -c" in ci
    command = block_after("test-command", "sh").strip()
    assert "pip install" in command and "pytest" in command
    for tool in ("ruff check", "ruff format --check", "mypy"):  # lint and types on all code
        assert f"{tool} src tests benchmarks" in command


def test_readme_opens_with_the_two_commands() -> None:
    first_blocks = re.findall(r"^```sh\n(.*?)^```$", README, re.S | re.M)[:2]
    assert "tasklife demo examples" in first_blocks[0]
    assert "pytest" in first_blocks[1]
