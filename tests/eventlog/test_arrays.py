"""The fast engine's Arrow arrays: built from buffers, so pandas is never imported."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tasklife.eventlog.arrays import indices, strings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "copy-run.jsonl"


@given(st.lists(st.text()))
def test_strings_hold_the_texts(texts: list[str]) -> None:
    assert strings(texts).to_pylist() == texts


@given(st.lists(st.integers(-(2**63), 2**63 - 1)))
def test_indices_hold_the_numbers(values: list[int]) -> None:
    assert indices(np.array(values, np.int64)).to_pylist() == values


def test_the_fast_engine_does_not_import_pandas(tmp_path: Path) -> None:
    """pyarrow.array imports pandas when it is installed (1.5-2 CPU-s): every read path of
    the fast engine (whole file, blocks with lines for the reference, CSV, spilling) and its
    JSON report run in a fresh interpreter that has pandas installed and must not import it."""
    assert importlib.util.find_spec("pandas") is not None  # else this test proves nothing
    odd = tmp_path / "odd.jsonl"  # an extra key and a bad line: read in blocks
    odd.write_bytes(
        EXAMPLE.read_bytes()
        + b'{"taskId":"x","status":"kRunning","atUsecs":1,"attempt":2}\n{"taskId":\n'
    )
    csv = tmp_path / "log.csv"
    csv.write_text("task_id,status,at_usecs\na,kAccepted,1\na,kRunning,2\nb,kNope,3\n")
    script = f"""
import io, sys
from tasklife.eventlog import validate_log
from tasklife.eventlog.writing import write_json
for path in {[str(EXAMPLE), str(odd), str(csv)]!r}:
    for limit in (None, 1):
        report = validate_log(path, engine_name="fast", memory_limit=limit, tmp={str(tmp_path)!r})
        assert report.events > 0, path
        write_json(io.BytesIO(), report)
print('pandas' in sys.modules)
"""
    got = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert got.stdout.strip() == "False"
