"""The fast engine's JSON items (Arrow) are the bytes orjson gives for the report's dict."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from replaying import logs
from tasklife.eventlog import validate_log
from tasklife.eventlog.report import LogReport
from tasklife.eventlog.writing import BATCH, write_json
from tasklife.lifecycle import COPY_TASK
from tasklife.validation.history import Mode

ODD_IDS = st.one_of(
    st.text(max_size=6),  # quotes, backslashes, control characters, any code point
    st.sampled_from(['a"b', "a\\b", "tab\there", "\x00", "é", "\u2028", "\x7f"]),
)


def expected(report: LogReport) -> bytes:
    return orjson.dumps(report.to_dictionary(), option=orjson.OPT_INDENT_2) + b"\n"


def written(report: LogReport) -> bytes:
    out = io.BytesIO()
    write_json(out, report)
    return out.getvalue()


@settings(max_examples=40, deadline=None)
@given(
    events=logs(COPY_TASK, ("v1", "v2", "code", "mixed")),
    names=st.lists(ODD_IDS, min_size=1, max_size=4, unique=True),
    mode=st.sampled_from(["strict", "polling"]),
)
def test_items_are_the_dumped_dicts(
    tmp_path_factory: pytest.TempPathFactory,
    events: tuple[list[dict[str, Any]], bool],
    names: list[str],
    mode: Mode,
) -> None:
    """Ids that JSON escapes, integer ids, stamps in messages, attempts, every vocabulary."""
    rows, _ = events
    renamed = []
    for row in rows:
        row = dict(row)
        if isinstance(row["taskId"], str):
            row["taskId"] = names[hash(row["taskId"]) % len(names)] + row["taskId"]
        renamed.append(row)
    path = tmp_path_factory.mktemp("items") / "log.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in renamed))
    report = validate_log(path, engine_name="fast", mode=mode)
    assert written(report) == expected(report)


def test_items_across_batches(tmp_path: Path) -> None:
    """More violations than one batch: the items of two batches are joined by a comma."""
    lines = [
        orjson.dumps({"taskId": f"t{i}", "status": s, "atUsecs": k, "attempt": i % 2})
        for i in range(BATCH + 10)
        for k, s in enumerate(["kSuccess", "kAccepted"])
    ]
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    report = validate_log(path, engine_name="fast")
    assert len(report.violations) > BATCH
    assert written(report) == expected(report)
