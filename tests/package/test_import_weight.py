"""``import tasklife`` stays light: what only event logs, diagrams of logs or the command line
need is imported when they are used (every worker of an orchestrator imports tasklife)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("numpy", "pyarrow", "rich", "dask", "distributed", "pandas", "duckdb")


def loaded_after(code: str) -> list[str]:
    """The heavy modules in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = f"import sys; {code}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return [m for m in out.stdout.strip().split(",") if m]


def test_import_tasklife_loads_no_heavy_module() -> None:
    assert loaded_after("import tasklife") == []


def test_tracking_validating_and_drawing_a_lifecycle_stay_light() -> None:
    code = (
        "import tasklife as t; r = t.CopySnapshotTaskStatus(); r.start(); t.roll_up([r]);"
        "t.validate(['kAccepted', 'kRunning']); t.render_lifecycle('copy-task', 'dot');"
        "t.task_overlay(['kAccepted', 'kRunning']); t.load_lifecycle('examples/ci-job.toml')"
    )
    assert loaded_after(code) == []


def test_a_small_log_is_validated_without_numpy_pyarrow_or_duckdb() -> None:
    """The light engine reads small inputs (issue 14, goal 4: a small file starts fast)."""
    assert loaded_after("import tasklife; tasklife.validate_log('examples/copy-run.jsonl')") == []
    cli = (
        "from tasklife.cli import main; import contextlib, io; "
        "f = io.StringIO(); r = contextlib.redirect_stdout(f); r.__enter__(); "
        "main(['validate', 'examples/copy-run.jsonl']); r.__exit__(None, None, None)"
    )
    assert loaded_after(cli) == ["rich"]


def test_the_fast_engine_loads_its_extra_when_used() -> None:
    code = "import tasklife; tasklife.validate_log('examples/copy-run.jsonl', engine_name='fast')"
    assert {"numpy", "pyarrow", "duckdb"} <= set(loaded_after(code))


def test_judging_a_log_does_not_load_the_tracking_machinery() -> None:
    """A log is judged from the lifecycle table alone: the record classes and the shared
    machine (a third of a small file's start) stay unloaded."""
    code = (
        "import sys, tasklife; tasklife.validate_log('examples/copy-run.jsonl');"
        "tasklife.validate(['kAccepted', 'kRunning']);"
        "print(sorted(m for m in sys.modules if m.startswith('tasklife.tracking')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
