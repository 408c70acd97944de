"""The vectorised batch path: same verdicts as validate(), task by task, on generated logs."""

from __future__ import annotations

import csv
import gzip
import io
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from replaying import CI_JOB, LIFECYCLES, logs
from tasklife.diagrams.flow import observed_flow
from tasklife.errors import UnusableInput
from tasklife.eventlog import blocks, reading
from tasklife.eventlog.kernel import judge
from tasklife.eventlog.order import task_order
from tasklife.eventlog.reading import events_from_objects, read_events
from tasklife.eventlog.table import EventTable
from tasklife.lifecycle import COPY_TASK, MAX_STATES, Lifecycle, StateDef, TransitionDef
from tasklife.validation import validate

Event = dict[str, Any]


def expected(
    events: list[Event], snapshots: bool, lc: Lifecycle, mode: str, require_final: bool
) -> dict[Any, list[tuple[Any, ...]]]:
    """validate() on each task's events in (atUsecs, file order) order."""
    mixed = len({type(e["taskId"]) for e in events}) > 1
    per_task: dict[Any, list[tuple[int, Event]]] = defaultdict(list)
    for line, e in enumerate(events):
        per_task[str(e["taskId"]) if mixed else e["taskId"]].append((line, e))
    out = {}
    for tid, numbered in per_task.items():
        history = [e for _, e in sorted(numbered, key=lambda p: (p[1]["atUsecs"], p[0]))]
        report = validate(
            history, mode=mode, lifecycle=lc, snapshots=snapshots, require_final=require_final
        )
        out[tid] = [
            (v.index, v.kind, v.source, v.dest, v.message, v.path) for v in report.violations
        ]
    return out


def batch_view(report: Any) -> dict[Any, list[tuple[Any, ...]]]:
    out: dict[Any, list[tuple[Any, ...]]] = defaultdict(list)
    for v in report.violations:
        out[v.task].append((v.index, v.kind, v.source, v.dest, v.message, v.path))
    return {t: sorted(vs, key=lambda x: x[0]) for t, vs in out.items()}


def write_jsonl(events: list[Event], path: Path) -> None:
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))


@settings(max_examples=120, deadline=None)
@given(data=st.data(), mode=st.sampled_from(["strict", "polling"]), require=st.booleans())
def test_batch_agrees_with_validate(data: st.DataObject, mode: str, require: bool) -> None:
    lc = data.draw(st.sampled_from([*LIFECYCLES, CI_JOB]))
    events, snapshots = data.draw(logs(lc))
    want = expected(events, snapshots, lc, mode, require)
    want = {t: vs for t, vs in want.items() if vs}
    from_objects = judge(
        events_from_objects(events, lifecycle=lc), lifecycle=lc, mode=mode, require_final=require
    )
    assert batch_view(from_objects.report()) == want
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.jsonl"
        write_jsonl(events, path)
        from_file = judge(
            read_events([path], lifecycle=lc), lifecycle=lc, mode=mode, require_final=require
        ).report()
    assert batch_view(from_file) == want
    assert from_file.tasks == len({str(e["taskId"]) for e in events})
    assert from_file.events == len(events) and from_file.malformed == ()
    assert bool(from_file) == (not want)


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
        mp.setattr(blocks, "CHUNK_BYTES", data.draw(st.integers(1, 200)))
        chunked = judge(read_events([stream()])).report()
    assert chunked.to_dictionary() == whole.to_dictionary()


@settings(max_examples=60, deadline=None)
@given(
    ids=st.lists(st.one_of(st.integers(0, 5), st.sampled_from(["a", "b", "3", "c"])), max_size=40),
    bogus=st.lists(st.booleans(), max_size=40),
    chunk=st.integers(1, 300),
    group=st.integers(1, 20),
)
def test_task_codes_survive_chunks_groups_and_dropped_lines(
    ids: list[Any], bogus: list[bool], chunk: int, group: int
) -> None:
    """Ids are dictionary-encoded per chunk, merged per group of rows, then merged again: the
    codes name the same ids as one pass over the events, in order of first appearance, and an
    id whose only lines were left out (unknown status) gets no code."""
    events = [
        {"taskId": tid, "status": "kBogus" if bad else "kRunning", "atUsecs": i}
        for i, (tid, bad) in enumerate(zip(ids, bogus + [False] * len(ids), strict=False))
    ]
    blob = b"".join(orjson.dumps(e) + b"\n" for e in events)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(blocks, "CHUNK_BYTES", chunk)
        mp.setattr(reading, "GROUP_ROWS", group)
        table = read_events([io.BytesIO(blob)]).table
    kept = [e["taskId"] for e in events if e["status"] == "kRunning"]
    text = any(isinstance(t, str) for t in ids)  # a string id anywhere: ids compare as text
    spelled = [str(t) if text else t for t in kept]
    assert [table.task_id(int(c)) for c in table.task] == spelled
    assert [table.task_id(c) for c in range(len(table.task_ids))] == list(dict.fromkeys(spelled))


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    n=st.integers(2, 60),
    tasks=st.integers(1, 9),
    span=st.sampled_from([1, 3, 1000, 2**40, 2**62]),
)
def test_task_order_is_task_then_time_then_line(
    data: st.DataObject, n: int, tasks: int, span: int
) -> None:
    """Whichever way the rows get ordered (packed keys with coarse times and an exact re-sort
    of some tasks, an argsort, a lexsort), it is the (task, at, line) order, whatever the
    rows' order in the table."""
    task = np.array(data.draw(st.lists(st.integers(0, tasks - 1), min_size=n, max_size=n)))
    at = np.array(data.draw(st.lists(st.integers(0, span), min_size=n, max_size=n)), np.int64)
    at -= data.draw(st.sampled_from([0, 2**61]))
    line = np.array(data.draw(st.permutations(range(1, n + 1))), np.int64)
    table = EventTable(task.astype(np.int32), np.zeros(n, np.int8), at, line, [])
    order = task_order(table)
    got = np.arange(n) if order is None else order
    assert got.tolist() == np.lexsort((line, at, task)).tolist()


# -- reading event logs ---------------------------------------------------------------------


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
    assert report.tasks == 1 and report.events == 2 and report.lines == 10
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


def test_ties_are_ordered_by_file_order() -> None:
    events = [
        {"taskId": 1, "status": "kRunning", "atUsecs": 5},
        {"taskId": 1, "status": "kSuccess", "atUsecs": 5},
        {"taskId": 1, "status": "kAccepted", "atUsecs": 4},
    ]
    report = judge(events_from_objects(events)).report()
    assert report and report.events == 3


def test_polling_gaps_are_counted_by_pair() -> None:
    events = [
        {"taskId": t, "status": s, "atUsecs": i}
        for t in range(3)
        for i, s in enumerate(["Accepted", "Succeeded"])
    ]
    result = judge(events_from_objects(events), mode="polling")
    assert result.gaps() == {("Accepted", "Succeeded"): (("start", "succeed"), 3)}


# -- observed flow ----------------------------------------------------------------------------


def test_observed_flow_counts_tasks_per_state_and_change(tmp_path: Path) -> None:
    events = [
        {"taskId": "a", "status": "kAccepted", "atUsecs": 1},
        {"taskId": "a", "status": "kRunning", "atUsecs": 2},
        {"taskId": "a", "status": "kOnHold", "atUsecs": 3},
        {"taskId": "a", "status": "kRunning", "atUsecs": 4},
        {"taskId": "a", "status": "kSuccess", "atUsecs": 5},
        {"taskId": "b", "status": "kAccepted", "atUsecs": 1},
        {"taskId": "b", "status": "kSuccess", "atUsecs": 9},
        {"taskId": "c", "status": "kRunning", "atUsecs": 1},
    ]
    path = tmp_path / "log.jsonl"
    write_jsonl(events, path)
    for source in (events, path, [path], read_events([path])):
        flow = observed_flow(source)
        assert flow.tasks == 3
        assert flow.state_tasks["kRunning"] == 2 and flow.state_tasks["kSuccess"] == 2
        assert flow.state_tasks["kCanceled"] == 0
        assert flow.edge_tasks == {
            ("kAccepted", "kRunning"): 1,
            ("kRunning", "kOnHold"): 1,
            ("kOnHold", "kRunning"): 1,
            ("kRunning", "kSuccess"): 1,
            ("kAccepted", "kSuccess"): 1,
        }
        assert flow.illegal == {("kAccepted", "kSuccess")}


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
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"task_id,status,at_usecs\n\xff\xfe,kRunning,1\nt,kR\xe9,2\n")
    log = read_events([latin])
    assert log.table.size == 1 and [(m.line, m.kind) for m in log.malformed] == [
        (3, "unknown-status")
    ]


def test_a_lifecycle_of_the_most_states_reads_and_judges_its_last_state() -> None:
    """Every state of the largest lifecycle gets a code: no overflow of the one-byte codes."""
    n = MAX_STATES
    states = [StateDef(f"s{i}") for i in range(n - 1)] + [StateDef(f"s{n - 1}", outcome="success")]
    lc = Lifecycle(
        "long", "s0", states, [TransitionDef("next", f"s{i}", f"s{i + 1}") for i in range(n - 1)]
    )
    events = [{"taskId": 1, "status": f"s{i}", "atUsecs": i} for i in range(n)]
    events.append({"taskId": 2, "status": f"s{n - 1}", "atUsecs": 0})
    events.append({"taskId": 2, "status": "s0", "atUsecs": 1})
    result = judge(events_from_objects(events, lifecycle=lc), lifecycle=lc)
    assert result.counts == {"after-final": 1}


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
