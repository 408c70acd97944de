"""README's "Define your own lifecycle" runs as written: code, output, TOML and CLI sessions."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def block_after(text: str, marker: str, lang: str) -> str:
    """The first fenced ``lang`` block after ``marker``."""
    at = text.index(marker)
    m = re.compile(rf"^```{lang}\n(.*?)^```$", re.S | re.M).search(text, at)
    assert m is not None, f"no ```{lang} block after {marker}"
    return m.group(1)


TEXT = (ROOT / "README.md").read_text(encoding="utf-8")


def run_python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("name", ["lifecycle-example", "rollup-example"])
def test_python_example_prints_what_the_docs_say(name: str) -> None:
    code = block_after(TEXT, f"<!-- {name} -->", "python")
    expected = block_after(TEXT, f"<!-- {name}-output -->", "text")
    assert run_python(code) == expected


def test_toml_shown_is_the_example_file() -> None:
    shown = block_after(TEXT, "[`examples/ci-job.toml`]", "toml")
    assert shown == (ROOT / "examples" / "ci-job.toml").read_text(encoding="utf-8")


def test_console_sessions_are_what_tasklife_check_prints() -> None:
    session = block_after(TEXT, "tasklife check", "console")
    exe = shutil.which("tasklife", path=str(Path(sys.executable).parent))
    assert exe is not None
    commands = re.split(r"^\$ ", session, flags=re.M)[1:]
    assert len(commands) == 2
    for chunk in commands:
        command, _, expected = chunk.partition("\n")
        argv = shlex.split(command)
        assert argv[0] == "tasklife"
        done = subprocess.run(
            [exe, *argv[1:]], cwd=ROOT, capture_output=True, text=True, check=False
        )
        assert done.stdout == expected
        assert done.returncode == (0 if "sound" in expected else 1)
