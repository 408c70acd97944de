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


def test_the_source_map_names_every_module_and_no_other() -> None:
    """The README's map of src/tasklife matches the tree (the CLI's commands aside)."""
    text = block_after("source-map", "text")
    package = ROOT / "src" / "tasklife"
    modules = {
        p.name
        for p in package.rglob("*.py")
        if p.name not in ("__init__.py", "__main__.py") and p.parent.name != "cli"
    }
    named = set(re.findall(r"\b(\w+\.py)\b", text)) - {"__init__.py"}
    assert modules - named == set(), "modules the map leaves out"
    assert named - modules == set(), "names in the map that are no module"
    folders = {p.name + "/" for p in package.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert {f for f in folders if f not in text} == set()
