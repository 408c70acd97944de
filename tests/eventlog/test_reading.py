"""Reading event logs: formats, chunks, gzip, malformed lines, task ids, one event table."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from replaying import logs
from tasklife import validate_log
from tasklife.errors import UnusableInput
from tasklife.eventlog import blocks
from tasklife.eventlog.kernel import judge
from tasklife.eventlog.reading import events_from_objects, read_events
from tasklife.lifecycle import COPY_TASK


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_chunked_reading_gives_the_same_report(data: st.DataObject) -> None:
    events, _ = data.draw(logs(COPY_TASK))
    lines = [orjson.dumps(e) for e in events]
    for i in data.draw(st.lists(st.integers(0, len(lines) - 1), max_size=3)):
        lines[i] = data.draw(st.sampled_from([b"{oops", b"", b"[1]", b'{"taskId": 1}']))
    blob = b"\n".join(lines) + b"\n"

    def stream() -> io.BytesIO:
        named = io.BytesIO(blob)
        named.name = "log.jsonl"
        return named

    whole = judge(read_events([stream()])).report()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(blocks, "BLOCK_BYTES", data.draw(st.integers(1, 200)))
        chunked = judge(read_events([stream()])).report()
    assert chunked.to_dictionary() == whole.to_dictionary()


@settings(max_examples=60, deadline=None)
@given(
    ids=st.lists(st.one_of(st.integers(0, 5), st.sampled_from(["a", "b", "3", "c"])), max_size=40),
    bogus=st.lists(st.booleans(), max_size=40),
    chunk=st.integers(1, 300),
)
def test_task_codes_survive_blocks_and_dropped_lines(
    ids: list[Any], bogus: list[bool], chunk: int
) -> None:
    """The codes name the same ids as one pass over the events, in order of first
    appearance, whatever the block size; an id whose only lines were left out (unknown
    status) gets no code."""
    events = [
        {"taskId": tid, "status": "kBogus" if bad else "kRunning", "atUsecs": i}
        for i, (tid, bad) in enumerate(zip(ids, bogus + [False] * len(ids), strict=False))
    ]
    blob = b"".join(orjson.dumps(e) + b"\n" for e in events)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(blocks, "BLOCK_BYTES", chunk)
        table = read_events([io.BytesIO(blob)]).table
    kept = [e["taskId"] for e in events if e["status"] == "kRunning"]
    text = any(isinstance(t, str) for t in ids)  # a string id anywhere: ids compare as text
    text = text and any(isinstance(t, int) for t in ids)
    spelled = [str(t) if text else t for t in kept]
    assert [table.task_id(int(c)) for c in table.task] == spelled
    assert [table.task_id(c) for c in range(len(table.task_ids))] == list(dict.fromkeys(spelled))


def test_malformed_lines_are_reported_by_number_and_the_rest_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text(
        '{"taskId": "a", "status": "kAccepted", "atUsecs": 1}\n'
        "\n"
        '{"taskId": "a", "status": "kRunning", "atUsecs": "2"}\n'
        "{not json\n"
        '{"taskId": "b", "status": "kBogus", "atUsecs": 1}\n'
        '{"taskId": true, "status": "kRunning", "atUsecs": 1}\n'
        '{"status": "kRunning", "atUsecs": 1}\n'
        '{"taskId": "a", "status": "kSuccess", "atUsecs": 3.5}\n'
        '["taskId", "a"]\n'
        '{"taskId": "a", "status": "kRunning", "atUsecs": 2, "error": 5}\n'
        '{"taskId": "a", "status": "kSuccess", "atUsecs": 3}\n'
    )
    log = read_events([path])
    got = [(m.line, m.kind) for m in log.malformed]
    assert got == [
        (3, "malformed"),
        (4, "malformed"),
        (5, "unknown-status"),
        (6, "malformed"),
        (7, "malformed"),
        (8, "malformed"),
        (9, "malformed"),
        (10, "malformed"),
    ]
    reasons = {m.line: m.reason for m in log.malformed}
    assert "atUsecs" in reasons[3] and "'2'" in reasons[3]
    assert reasons[4].startswith("bad JSON")
    assert "kBogus" in reasons[5]
    assert reasons[7] == "missing or null field 'taskId'"
    assert "error" in reasons[10]
    report = judge(log).report()
    # "b" is named only by its unknown-status line: it counts (issue 12, item 7)
    assert report.tasks == 2 and report.events == 2 and report.lines == 10
    assert log.malformed[2].task == "b"
    assert [(v.task, v.line, v.kind) for v in report.violations] == [
        ("a", 11, "illegal-transition")
    ]
    assert not report


def test_csv_with_snapshot_columns_and_codes(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "task_id",
                "status",
                "at_usecs",
                "error",
                "task_start_time_usecs",
                "task_end_time_usecs",
                "note",
            ]
        )
        w.writerow(["7", "0", "1", "", "", "", "queued"])
        w.writerow(["7", "1", "2", "", "100", "", "a, quoted\nnote"])
        w.writerow(["7", "5", "3", "", "100", "300", ""])
        w.writerow(["7", "5", "x", "", "100", "300", ""])
    log = read_events([path])
    assert log.vocabulary == "code"
    assert [(m.line, m.reason) for m in log.malformed] == [
        (6, "field 'at_usecs' must be a 64-bit integer, got 'x'")
    ]
    report = judge(log).report()
    assert [(v.task, v.line, v.kind, v.dest) for v in report.violations] == [
        ("7", 5, "failure-without-error", 5)
    ]


def test_csv_needs_its_header(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("task,status,at\n1,kRunning,1\n")
    with pytest.raises(UnusableInput, match="at_usecs"):
        read_events([path])


def test_format_is_sniffed_without_an_extension(tmp_path: Path) -> None:
    jsonl, csvfile, other = tmp_path / "a.log", tmp_path / "b.log", tmp_path / "c.log"
    jsonl.write_text('{"taskId": 1, "status": "kRunning", "atUsecs": 1}\n')
    csvfile.write_text("task_id,status,at_usecs\n2,kRunning,1\n")
    other.write_text("hello\n")
    assert read_events([jsonl, csvfile]).table.size == 2
    with pytest.raises(UnusableInput, match="unknown format"):
        read_events([other])


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".log"])
def test_byte_order_marks_and_crlf_line_ends_are_read(tmp_path: Path, suffix: str) -> None:
    """Logs written on Windows or exported from a spreadsheet: a UTF-8 byte order mark, CRLF."""
    bom = b"\xef\xbb\xbf"
    jsonl = [
        b'{"taskId": 1, "status": "kAccepted", "atUsecs": 1}',
        b'{"taskId": 1, "status": "kRunning", "atUsecs": 2}',
        b'{"taskId": 1, "status": "kSuccess", "atUsecs": 3}',
    ]
    rows = [b"task_id,status,at_usecs", b"1,kAccepted,1", b"1,kRunning,2", b"1,kSuccess,3"]
    for name, lines in (("csv", rows), ("jsonl", jsonl)):
        if suffix != ".log" and suffix != f".{name}":
            continue
        path = tmp_path / f"{name}{suffix}"
        path.write_bytes(bom + b"\r\n".join(lines) + b"\r\n")
        log = read_events([path])
        assert log.malformed == ()
        assert log.table.status.tolist() == [0, 1, 4]
        first = 2 if name == "csv" else 1  # a CSV's events start under its header
        assert [log.where(int(k))[1] for k in log.table.line] == [first, first + 1, first + 2]
        assert judge(log).report()


def test_gzip_logs_read_as_the_plain_ones(tmp_path: Path) -> None:
    """A gzip-compressed log (found by its magic bytes, whatever its name) gives the plain
    log's report; progress counts compressed bytes, up to the file's size."""
    plain = Path(__file__).resolve().parents[2] / "examples" / "copy-run.jsonl"
    want = judge(read_events([plain])).report().to_dictionary()
    packed = gzip.compress(plain.read_bytes())
    csv_plain = tmp_path / "run.csv"
    csv_plain.write_text("task_id,status,at_usecs\n1,kAccepted,1\n1,kSuccess,2\n")
    for name in ("run.jsonl.gz", "run.log"):
        path = tmp_path / name
        path.write_bytes(packed)
        seen: list[int] = []
        got = judge(read_events([path], progress=seen.append)).report().to_dictionary()
        assert got["summary"] | {"files": []} == want["summary"] | {"files": []}
        assert [(v["line"], v["kind"]) for v in got["violations"]] == [
            (v["line"], v["kind"]) for v in want["violations"]
        ]
        assert sum(seen) == len(packed)
    stream = io.BytesIO(packed)
    assert read_events([stream]).table.size == read_events([plain]).table.size
    csv_packed = tmp_path / "run.csv.gz"
    csv_packed.write_bytes(gzip.compress(csv_plain.read_bytes()))
    assert judge(read_events([csv_packed])).counts == judge(read_events([csv_plain])).counts


@pytest.mark.parametrize("cut", [3000, 12])
def test_a_cut_off_or_corrupt_gzip_log_is_unusable_input(tmp_path: Path, cut: int) -> None:
    plain = Path(__file__).resolve().parents[2] / "examples" / "copy-run.jsonl"
    path = tmp_path / "run.jsonl.gz"
    path.write_bytes(gzip.compress(plain.read_bytes())[:cut])
    with pytest.raises(UnusableInput, match=r"run\.jsonl\.gz: cannot decompress: "):
        read_events([path])


def test_mixed_integer_and_string_ids_compare_as_text() -> None:
    log = events_from_objects(
        [
            {"taskId": 1, "status": "kAccepted", "atUsecs": 1},
            {"taskId": "1", "status": "kRunning", "atUsecs": 2},
        ]
    )
    assert judge(log).tasks == 1


def test_out_of_range_integers_and_undecodable_bytes_are_malformed(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    path.write_text(
        '{"taskId": 1, "status": "kRunning", "atUsecs": 18446744073709551615}\n'
        '{"taskId": 18446744073709551615, "status": "kRunning", "atUsecs": 1}\n'
        '{"taskId": 1, "status": "kRunning", "atUsecs": 1, "taskEndTimeUsecs": 9223372036854775808}\n'
        '{"taskId": 2, "status": "kRunning", "atUsecs": 1}\n'
    )
    log = read_events([path])
    assert [m.line for m in log.malformed] == [1, 2, 3] and log.table.size == 1
    assert "64-bit" in log.malformed[0].reason


def test_csv_bytes_that_are_not_utf8_make_their_row_malformed(tmp_path: Path) -> None:
    """Issue 12, item 3: the ids ``\\xff`` and ``\\xfe`` were both decoded to U+FFFD and
    judged as one task (kAccepted -> kSuccess, a false violation); now each row is a
    malformed line with its number, in both engines, and the rest is judged."""
    latin = tmp_path / "latin.csv"
    latin.write_bytes(
        b"task_id,status,at_usecs\n\xff,kAccepted,1\n\xfe,kSuccess,2\nt,kR\xe9,2\nok,kRunning,3\n"
    )
    for engine in ("light", "fast"):
        report = validate_log(latin, engine_name=engine)
        assert [(m.line, m.reason) for m in report.malformed] == [
            (2, "not UTF-8: bytes that are not UTF-8 text"),
            (3, "not UTF-8: bytes that are not UTF-8 text"),
            (4, "not UTF-8: bytes that are not UTF-8 text"),
        ]
        assert (report.tasks, report.events, report.violations) == (1, 1, [])


def test_the_lifecycle_may_be_a_name_or_a_file(tmp_path: Path) -> None:
    """read_events and events_from_objects take lifecycle= as every entry point does."""
    ci = Path(__file__).resolve().parents[2] / "examples" / "ci-job.toml"
    events = [{"taskId": 1, "status": s, "atUsecs": i} for i, s in enumerate(["queued", "passed"])]
    by_file = events_from_objects(events, lifecycle=ci)
    assert by_file.table.status.tolist() == [0, 2] and by_file.malformed == ()
    log = tmp_path / "run.jsonl"
    log.write_bytes(orjson.dumps({"taskId": 1, "status": "kFinalizing", "atUsecs": 1}) + b"\n")
    assert read_events([log], lifecycle="copy-task-6.8").malformed == ()
    assert judge(by_file, lifecycle=str(ci)).counts == {"illegal-transition": 1}
