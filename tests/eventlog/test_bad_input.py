"""Event logs that once got wrong verdicts or crashed the readers (issue 12, items 2-7, 9,
12, 17, 21, 22): each now gets its explicit rule, the same in both engines."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from tasklife import validate_log
from tasklife.errors import InvalidRecord, UnusableInput
from tasklife.eventlog.report import LogReport
from tasklife.validation import validate

ENGINES = ("light", "fast")
ROOT = Path(__file__).resolve().parents[2]


def jsonl(path: Path, *events: Any) -> Path:
    path.write_bytes(
        b"".join((e if isinstance(e, bytes) else orjson.dumps(e)) + b"\n" for e in events)
    )
    return path


def ev(task: Any, status: Any, at: int, **more: Any) -> dict[str, Any]:
    return {"taskId": task, "status": status, "atUsecs": at, **more}


def both(path: Any, **kw: Any) -> LogReport:
    """The report of both engines, checked equal."""
    light, fast = (validate_log(path, engine_name=e, **kw) for e in ENGINES)
    assert light.to_dictionary() == fast.to_dictionary()
    return light


def reasons(report: LogReport) -> list[tuple[int, str]]:
    return [(m.line, m.reason) for m in report.malformed]


def test_an_absent_snapshot_key_is_no_observation(tmp_path: Path) -> None:
    """Item 2: one event with an ``error`` key put the whole log in snapshot mode, and every
    kRunning/kSuccess without taskStartTimeUsecs became start-time-missing."""
    log = jsonl(
        tmp_path / "celery.jsonl",
        ev("a", "kAccepted", 1),
        ev("a", "kRunning", 2),
        ev("a", "kSuccess", 3),
        ev("b", "kAccepted", 1),
        ev("b", "kFailure", 2, error="worker lost"),
    )
    assert both(log)
    nulls = jsonl(
        tmp_path / "nulls.jsonl",
        ev("a", "kRunning", 2, taskStartTimeUsecs=None),
        ev("b", "kFailure", 2, error=None),
    )
    assert both(nulls).counts == {"start-time-missing": 1, "failure-without-error": 1}


def test_the_smallest_int64_is_no_time_on_any_path(tmp_path: Path) -> None:
    """Item 4: ``-2**63`` is the tables' missing sentinel, refused alike everywhere."""
    low = -(2**63)
    log = jsonl(tmp_path / "low.jsonl", ev("a", "kRunning", low), ev("a", "kSuccess", 5))
    report = both(log)
    assert reasons(report) == [
        (1, f"field 'atUsecs' must be a 64-bit integer, got {low} (-2**63 is reserved: no time)")
    ]
    csv = tmp_path / "low.csv"
    csv.write_text(f"task_id,status,at_usecs\na,kRunning,{low}\na,kSuccess,5\n")
    assert both(csv).malformed[0].line == 2
    extremes = jsonl(
        tmp_path / "wide.jsonl", ev("a", "kAccepted", low + 1), ev("a", "kRunning", -low - 1)
    )
    assert both(extremes)


def test_a_non_blocking_stdin_is_read_to_its_end(tmp_path: Path) -> None:
    """Item 5: "no data yet" on a non-blocking pipe was taken for its end."""
    script = (
        "import os, sys; os.set_blocking(0, False); from tasklife.cli import main; "
        "sys.exit(main(['validate', '-', '--format', 'json']))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT
    )
    assert proc.stdin is not None
    for i, status in enumerate(["kAccepted", "kRunning", "kSuccess"]):
        proc.stdin.write(orjson.dumps(ev("a", status, i)) + b"\n")
        proc.stdin.flush()
        time.sleep(1.5)  # the reader gets there first and finds no data yet
    proc.stdin.close()
    assert proc.stdout is not None
    out = proc.stdout.read()
    assert proc.wait(timeout=60) == 0
    assert orjson.loads(out)["summary"]["events"] == 3


def test_leniency_is_explicit_and_the_same_in_jsonl_and_csv(tmp_path: Path) -> None:
    """Item 6: duplicate JSON keys (the last wins), CSV integers in ASCII digits only, an
    empty task id is malformed in both formats, a CSV header naming a column twice is
    unusable."""
    dup = jsonl(
        tmp_path / "dup.jsonl",
        b'{"taskId": "a", "status": "kBogus", "status": "kRunning", "atUsecs": 1}',
    )
    assert both(dup).events == 1
    empty = jsonl(tmp_path / "empty.jsonl", ev("", "kRunning", 1))
    assert reasons(both(empty)) == [(1, "field 'taskId' must not be empty")]
    csv = tmp_path / "ints.csv"
    csv.write_text(
        "task_id,status,at_usecs\na,kRunning,3_0\na,kRunning, 1 \na,kRunning,\u0663\n,kRunning,1\na,kRunning,7\n"
    )
    report = both(csv)
    assert reasons(report) == [
        (2, "field 'at_usecs' must be a 64-bit integer, got '3_0'"),
        (3, "field 'at_usecs' must be a 64-bit integer, got ' 1 '"),
        (4, "field 'at_usecs' must be a 64-bit integer, got '\u0663'"),
        (5, "missing or null field 'task_id'"),
    ]
    assert report.events == 1
    twice = tmp_path / "twice.csv"
    twice.write_text("task_id,status,at_usecs,task_id\na,kRunning,1,b\n")
    for engine in ENGINES:
        with pytest.raises(UnusableInput, match="names task_id twice"):
            validate_log(twice, engine_name=engine)


def test_unknown_status_lines_name_their_task_and_count_it(tmp_path: Path) -> None:
    """Item 7."""
    log = jsonl(tmp_path / "u.jsonl", ev(7, "kRunning", 1), ev(8, "kBogus", 1), ev(9, 1, 1))
    report = both(log)
    assert report.tasks == 3
    assert [m.to_dictionary()["task"] for m in report.malformed] == [8]


def test_lines_that_crashed_a_reader_are_malformed_lines(tmp_path: Path) -> None:
    """Item 9: 20,000-deep nesting (pyarrow segfaulted), invalid UTF-8, CSV statuses that
    pass ``isdigit`` (``²``, ``①``), a CSV field over 131,072 characters."""
    deep = (
        b'{"taskId": "a", "status": "kRunning", "atUsecs": 1, "x": '
        + b"[" * 20000
        + b"]" * 20000
        + b"}"
    )
    bad = jsonl(
        tmp_path / "bad.jsonl",
        deep,
        b'{"taskId": "\xff", "status": "kRunning", "atUsecs": 1}',
        ev("b", "kRunning", 1),
    )
    report = both(bad)
    assert [m.line for m in report.malformed] == [1, 2] and report.events == 1
    assert all(m.reason.startswith("bad JSON") for m in report.malformed)
    csv = tmp_path / "odd.csv"
    big = "x" * 200_000
    csv.write_text(f"task_id,status,at_usecs,note\na,\u00b2,1,\nb,\u2460,1,\nc,kRunning,1,{big}\n")
    report = both(csv)
    assert [(m.line, m.kind) for m in report.malformed] == [
        (2, "unknown-status"),
        (3, "unknown-status"),
    ]
    assert report.events == 1


def test_an_io_error_after_open_is_unusable_input_naming_the_source() -> None:
    """Item 9: a raw OSError escaped from a read."""

    class Failing(io.RawIOBase):
        name = "flaky.jsonl"

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            raise OSError(5, "Input/output error")

    for engine in ENGINES:
        with pytest.raises(UnusableInput, match=r"flaky\.jsonl: cannot read: Input/output error"):
            validate_log(io.BufferedReader(Failing()), engine_name=engine)


def test_a_line_over_the_limit_is_one_malformed_line(tmp_path: Path) -> None:
    """Item 12: gzip content without newlines was held 4x and re-copied on each read; a line
    longer than the limit is now one malformed line, skipped in bounded memory."""
    blob = gzip.compress(b"x" * (8 << 20), compresslevel=1)
    packed = tmp_path / "endless.jsonl.gz"
    packed.write_bytes(blob)
    report = both(packed, max_line_bytes=1 << 20)
    assert [(m.line, m.reason[:24]) for m in report.malformed] == [(1, "line longer than 1048576")]
    long = jsonl(
        tmp_path / "long.jsonl",
        ev("a", "kAccepted", 1),
        ev("a", "kRunning", 2, note="y" * 5000),
        ev("a", "kSuccess", 3),
    )
    report = both(long, max_line_bytes=1000)
    assert [m.line for m in report.malformed] == [2] and report.events == 2
    csv = tmp_path / "long.csv"
    csv.write_text(
        "task_id,status,at_usecs,note\na,kAccepted,1,\na,kRunning,2,"
        + "z" * 5000
        + "\na,kRunning,3,\n"
    )
    report = both(csv, max_line_bytes=1000)
    assert [m.line for m in report.malformed] == [3] and report.events == 2


def test_misused_entry_points_get_typed_errors(tmp_path: Path) -> None:
    """Item 17: a BytesIO and a bytes path are read; a text stream is refused by name (it
    was taken for a path); ``validate("kAccepted")`` judged a string letter by letter."""
    log = jsonl(tmp_path / "ok.jsonl", ev("a", "kAccepted", 1))
    assert validate_log(io.BytesIO(log.read_bytes())).events == 1
    assert validate_log(os.fsencode(log)).events == 1
    with open(log) as text, pytest.raises(UnusableInput, match="binary mode"):
        validate_log(text)
    with pytest.raises(UnusableInput, match="not an event log"):
        validate_log(42)  # type: ignore[arg-type]
    with pytest.raises(InvalidRecord, match="history: expected a sequence"):
        validate("kAccepted")


def test_v2_result_documents_are_snapshots(tmp_path: Path) -> None:
    """Item 21: ``startTimeUsecs``, ``endTimeUsecs`` and ``message`` were ignored, so an end
    before the start passed unnoticed."""
    v2 = {"status": "Succeeded", "startTimeUsecs": 14, "endTimeUsecs": 12}
    assert [v.kind for v in validate([v2]).violations] == ["end-time-before-start"]
    log = jsonl(
        tmp_path / "v2.jsonl",
        {"taskId": "r", "atUsecs": 1, **v2},
        ev("s", "Failed", 1, message=None),
        ev("t", "kRunning", 1, taskStartTimeUsecs=5, startTimeUsecs=6),
    )
    report = both(log)
    assert report.counts == {"end-time-before-start": 1, "failure-without-error": 1}
    assert reasons(report) == [
        (3, "field 'startTimeUsecs' must be the same value as 'taskStartTimeUsecs' (5), got 6")
    ]
    with pytest.raises(InvalidRecord, match="startTimeUsecs"):
        validate([{"status": "kRunning", "taskStartTimeUsecs": 5, "startTimeUsecs": 6}])


def test_a_file_mixing_vocabularies_is_reported_as_mixed(tmp_path: Path) -> None:
    """Item 22: one vocabulary is spoken as is; several give ``mixed`` and the lifecycle's
    own names, whatever the order of the lines."""
    log = jsonl(tmp_path / "mix.jsonl", ev("a", "Accepted", 1), ev("a", "kSuccess", 2))
    report = both(log)
    assert report.vocabulary == "mixed"
    assert (report.violations[0].source, report.violations[0].dest) == ("kAccepted", "kSuccess")
    flipped = jsonl(tmp_path / "flip.jsonl", ev("a", "kSuccess", 2), ev("a", "Accepted", 1))
    assert both(flipped).vocabulary == "mixed"
    assert validate(["Accepted", "kRunning", 4]).vocabulary == "mixed"
    assert both(jsonl(tmp_path / "v2.jsonl", ev("a", "Accepted", 1))).vocabulary == "v2"
