"""Every engine gives the same report, byte for byte: the light engine (pure Python), the
fast one (DuckDB + numpy), each in memory and spilling to disk under a tiny memory limit, and
the reference read (``read_events`` + the kernel); and a verdict never depends on where an
event sits (issue 12, item 1): not on the order of the lines, the files they are split into,
or the size of the blocks they are read in."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from replaying import CI_JOB, LIFECYCLES, logs
from tasklife.eventlog import blocks, duck, validate_log
from tasklife.eventlog.kernel import judge
from tasklife.eventlog.reading import events_from_objects, read_events
from tasklife.eventlog.report import LogReport
from tasklife.eventlog.writing import write_json
from tasklife.lifecycle import COPY_TASK
from tasklife.validation.history import Mode

ENGINES = ("light", "fast")
TINY_BUDGET = 4096
"""A memory limit far below what any engine needs: the most partitions, spilled to disk."""
ODD_LINES = [
    b"{oops",
    b"",
    b"   ",
    b"[1]",
    b'{"taskId": 1}',
    b'{"taskId": "z", "status": "kBogus", "atUsecs": 3}',
    b'{"taskId": "z", "status": 1, "atUsecs": 4, "atUsecs": 5}',
    b'{"taskId": "y", "status": "kRunning", "atUsecs": 1.5}',
    b'{"taskId": "y", "status": "kRunning", "atUsecs": "2"}',
    b'{"taskId": true, "status": "kRunning", "atUsecs": 2}',
    b'{"taskId": "w", "status": "kRunning", "atUsecs": NaN}',
    b'{"taskId": "w", "status": "kRunning", "atUsecs": 7,}',
    b'{"taskId": "w", "status": "kRunning", "atUsecs": -9223372036854775808}',
    b'{"taskId": "w\\u00e9", "status": "Running", "atUsecs": 8}',
    b'{"taskId": "v v", "status": 4, "atUsecs": 9, "attempt": 2}',
    b'{"taskId": "v v", "status": 0, "atUsecs": 10, "attempt": 1}',
    b'{"taskId": "", "status": 0, "atUsecs": 10}',
    b'{"taskId": 5, "status": "kRunning", "atUsecs": 1e5}',
    b'{"taskId": 5.0, "status": "kRunning", "atUsecs": 11}',
    b'{"taskId": -0, "status": "kRunning", "atUsecs": -0}',
    b'{"taskId": -9223372036854775808, "status": "kRunning", "atUsecs": 12}',
    b'{"taskId": -7, "status": "kRunning", "atUsecs": 18446744073709551615}',
    b'{"taskId": 9223372036854775807, "status": "kRunning", "atUsecs": -13}',
    b"\xff\xfe",
]


def document(report: LogReport) -> bytes:
    out = io.BytesIO()
    write_json(out, report)
    return out.getvalue()


@st.composite
def blobs(draw: st.DrawFn, ties: bool = True) -> tuple[Any, list[bytes]]:
    """A lifecycle and the lines of a log of it: events (any vocabulary, codes and names
    mixed, snapshots or not), odd lines planted among them, some with spaces after the
    separators (as Python's json module writes)."""
    lc = draw(st.sampled_from([*LIFECYCLES, CI_JOB]))
    events, _ = draw(logs(lc, ("v1", "v2", "code", "mixed"), ties=ties))
    lines = [orjson.dumps(e) for e in events]
    for i in draw(st.lists(st.integers(0, len(lines) - 1), max_size=4)):
        lines[i] = lines[i].replace(b'",', b'", ').replace(b":", b": ")
    for _ in range(draw(st.integers(0, 4))):
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(ODD_LINES)))
    return lc, lines


def every_report(paths: list[Path], lc: Any, mode: str, require: bool) -> Iterator[bytes]:
    kw: dict[str, Any] = {"lifecycle": lc, "mode": mode, "require_final": require}
    for engine in ENGINES:
        yield document(validate_log(paths, engine_name=engine, **kw))
        with tempfile.TemporaryDirectory() as tmp:
            spilled = validate_log(
                paths, engine_name=engine, memory_limit=TINY_BUDGET, tmp=tmp, **kw
            )
            assert list(Path(tmp).iterdir()) == []  # the spill directory is gone
        yield document(spilled)
    log = read_events(paths, lifecycle=lc)
    yield document(judge(log, lifecycle=lc, mode=mode, require_final=require).report())


@settings(max_examples=60, deadline=None)
@given(blob=blobs(), mode=st.sampled_from(["strict", "polling"]), require=st.booleans())
def test_engines_give_byte_identical_reports(
    blob: tuple[Any, list[bytes]], mode: str, require: bool
) -> None:
    lc, lines = blob
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.jsonl"
        path.write_bytes(b"\n".join(lines) + b"\n")
        first, *others = every_report([path], lc, mode, require)
    for other in others:
        assert other == first


def test_spilling_happens_under_a_tiny_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tiny budget really spills: partition files are written under --tmp."""
    created: list[str] = []
    real = tempfile.mkdtemp

    def spy(*args: Any, **kwargs: Any) -> str:
        created.append(real(*args, **kwargs))
        return created[-1]

    monkeypatch.setattr(tempfile, "mkdtemp", spy)
    example = Path(__file__).resolve().parents[2] / "examples" / "copy-run.jsonl"
    want = document(validate_log(example, engine_name="light"))
    for engine in ENGINES:
        got = validate_log(example, engine_name=engine, memory_limit=TINY_BUDGET, tmp=str(tmp_path))
        assert document(got) == want
    assert len(created) == 2
    assert all(
        Path(d).parent == tmp_path and Path(d).name.startswith("tasklife-spill-") for d in created
    )
    assert list(tmp_path.iterdir()) == []


def verdict(report: LogReport) -> tuple[Any, ...]:
    """What a log's verdict is, without where its lines sit: counts, tasks, and each task's
    violations by their place in the task's history."""
    per_task = sorted(
        (str(v.task), v.index, v.kind, v.source, v.dest, v.message) for v in report.violations
    )
    bad = sorted((m.kind, m.reason, str(m.task)) for m in report.malformed)
    return (
        report.tasks,
        report.events,
        report.still_active,
        report.counts,
        report.gaps,
        per_task,
        bad,
        report.vocabulary,
    )


@settings(max_examples=40, deadline=None)
@given(blob=blobs(ties=False), data=st.data())
def test_a_verdict_does_not_depend_on_where_events_sit(
    blob: tuple[Any, list[bytes]], data: st.DataObject
) -> None:
    """Issue 12, item 1: reordering the lines (no two events of a task at one time),
    splitting them into files, or reading them in blocks of any size changes no verdict."""
    lc, lines = blob
    engine = data.draw(st.sampled_from(ENGINES))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)

        def run(parts: list[list[bytes]]) -> tuple[Any, ...]:
            paths = []
            for i, part in enumerate(parts):
                paths.append(root / f"part{len(parts)}-{i}.jsonl")
                paths[-1].write_bytes(b"".join(line + b"\n" for line in part))
            return verdict(validate_log(paths, lifecycle=lc, engine_name=engine))

        whole = run([lines])
        shuffled = data.draw(st.permutations(lines))
        assert run([shuffled]) == whole
        cuts = sorted(data.draw(st.lists(st.integers(0, len(lines)), max_size=3)))
        pieces = [lines[a:b] for a, b in zip([0, *cuts], [*cuts, len(lines)], strict=True)]
        assert run(pieces) == whole
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(blocks, "BLOCK_BYTES", data.draw(st.integers(1, 300)))
            mp.setattr(duck, "MIN_BISECT_BYTES", data.draw(st.integers(1, 300)))
            assert run([lines]) == whole


def test_codes_and_names_in_one_block_are_both_statuses(tmp_path: Path) -> None:
    """Issue 12, item 1: a numeric code next to names in one chunk was read as the unknown
    status '1' (pyarrow made the column text), with a false illegal transition; split over
    two files the same events were valid. JSON Lines, CSV and event dicts alike."""
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(
        b'{"taskId": "a", "status": 0, "atUsecs": 1}\n'
        b'{"taskId": "a", "status": "kRunning", "atUsecs": 2}\n'
        b'{"taskId": "b", "status": 1, "atUsecs": 1}\n'
        b'{"taskId": "b", "status": "Succeeded", "atUsecs": 2}\n'
    )
    csv = tmp_path / "mixed.csv"
    csv.write_text("task_id,status,at_usecs\na,0,1\na,kRunning,2\nb,1,1\nb,Succeeded,2\n")
    for engine in ENGINES:
        for log in (path, csv):
            report = validate_log(log, engine_name=engine)
            assert (bool(report), report.events, report.malformed) == (True, 4, ())
            assert report.vocabulary == "mixed"
    objects = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    report = judge(events_from_objects(objects)).report()
    assert (bool(report), report.events, report.vocabulary) == (True, 4, "mixed")


def test_the_same_log_from_every_kind_of_source(tmp_path: Path) -> None:
    """A path, a bytes path, a binary stream, gzip and CSV forms: the same verdicts."""
    example = Path(__file__).resolve().parents[2] / "examples" / "copy-run.jsonl"
    want = verdict(validate_log(example, engine_name="light"))
    for engine in ENGINES:
        assert verdict(validate_log(bytes(example), engine_name=engine)) == want
        with example.open("rb") as f:
            assert verdict(validate_log(f, engine_name=engine)) == want
        assert verdict(validate_log(io.BytesIO(example.read_bytes()), engine_name=engine)) == want
    assert COPY_TASK.name == "copy-task"


ODD_ROWS = [
    '"a,b",kRunning,5',
    "x,,7",
    "z,kRunning, 3",
    "z,kRunning,05",
    ",kRunning,1",
    "q,\u00b2,2",
    "",
    "y,kRunning,1,extra",
]


@settings(max_examples=40, deadline=None)
@given(data=st.data(), mode=st.sampled_from(["strict", "polling"]))
def test_engines_agree_on_csv(data: st.DataObject, mode: str) -> None:
    """The fast engine's DuckDB CSV path (all-text columns, byte accounting) and the
    reference CSV reader give the same report."""
    events, _ = data.draw(logs(COPY_TASK, ("v1", "v2", "code", "mixed")))
    rows = [f"{e['taskId']},{e['status']},{e['atUsecs']}" for e in events]
    for _ in range(data.draw(st.integers(0, 3))):
        rows.insert(data.draw(st.integers(0, len(rows))), data.draw(st.sampled_from(ODD_ROWS)))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.csv"
        path.write_text("task_id,status,at_usecs\n" + "".join(r + "\n" for r in rows))
        light, fast = (
            document(validate_log(path, engine_name=e, mode=cast(Mode, mode))) for e in ENGINES
        )
    assert light == fast


def test_the_fast_engine_without_its_extra_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    import tasklife.eventlog as package
    from tasklife.errors import MissingExtra

    # Both the modules and the package's attributes: `from tasklife.eventlog import fast`
    # returns the attribute without importing when another test has loaded the module.
    for name in ("fast", "duck"):
        monkeypatch.delitem(sys.modules, f"tasklife.eventlog.{name}", raising=False)
        monkeypatch.delattr(package, name, raising=False)
    monkeypatch.setitem(sys.modules, "duckdb", None)
    example = Path(__file__).resolve().parents[2] / "examples" / "copy-run.jsonl"
    with pytest.raises(MissingExtra, match=r"pip install 'tasklife\[fast\]'"):
        validate_log(example, engine_name="fast")
    assert validate_log(example).events == 1684  # auto: the light engine for a small file
