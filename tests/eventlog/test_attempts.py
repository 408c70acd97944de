"""Attempts: an event may carry an integer ``attempt`` (CSV column ``attempt``); each
``(task, attempt)`` is a run of the lifecycle judged on its own, and a task's attempts must
not interleave in time (``attempts-interleaved``). What the store's retries will emit."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, cast

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from replaying import histories
from tasklife import validate_log
from tasklife.eventlog.kernel import judge
from tasklife.eventlog.reading import events_from_objects
from tasklife.lifecycle import COPY_TASK
from tasklife.validation import validate
from tasklife.validation.history import Mode

ENGINES = ("light", "fast")


def write(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    return path


def test_each_attempt_is_a_run_of_its_own(tmp_path: Path) -> None:
    events = [
        {"taskId": "a", "status": "kAccepted", "atUsecs": 1, "attempt": 1},
        {"taskId": "a", "status": "kRunning", "atUsecs": 2, "attempt": 1},
        {"taskId": "a", "status": "kFailure", "atUsecs": 3, "attempt": 1, "error": "lost"},
        {"taskId": "a", "status": "kAccepted", "atUsecs": 4, "attempt": 2},
        {"taskId": "a", "status": "kRunning", "atUsecs": 5, "attempt": 2},
    ]
    log = write(tmp_path / "retried.jsonl", events)
    for engine in ENGINES:
        report = validate_log(log, engine_name=engine, require_final=True)
        assert report.tasks == 1 and report.still_active == 1
        (v,) = report.violations
        assert (v.kind, v.index, v.attempt, v.line) == ("still-active", 1, 2, 5)
        assert v.to_dictionary()["attempt"] == 2
    no_attempts = write(
        tmp_path / "plain.jsonl",
        [{k: e[k] for k in ("taskId", "status", "atUsecs")} for e in events],
    )
    assert [v.kind for v in validate_log(no_attempts).violations] == ["after-final"]


def test_interleaved_attempts_are_a_violation(tmp_path: Path) -> None:
    csv = tmp_path / "retried.csv"
    csv.write_text(
        "task_id,status,at_usecs,attempt\n"
        "a,kAccepted,1,1\n"
        "a,kAccepted,2,2\n"
        "a,kRunning,3,1\n"
        "a,kRunning,4,2\n"
    )
    reports = [validate_log(csv, engine_name=e) for e in ENGINES]
    assert reports[0].to_dictionary() == reports[1].to_dictionary()
    (v,) = reports[0].violations
    assert (v.kind, v.line, v.index, v.source, v.dest, v.attempt) == (
        "attempts-interleaved",
        4,
        1,
        "kAccepted",
        "kRunning",
        1,
    )
    assert v.message == "attempt 1 observed after attempt 2 of the task began"


@settings(max_examples=60, deadline=None)
@given(data=st.data(), mode=st.sampled_from(["strict", "polling"]))
def test_attempts_agree_with_validate_per_run(data: st.DataObject, mode: str) -> None:
    """Every run is judged as validate() judges its history; engines agree."""
    events: list[dict[str, Any]] = []
    want: dict[tuple[str, int], list[tuple[int, str]]] = {}
    at = 0
    for task in ("a", "b"):
        for attempt in range(data.draw(st.integers(0, 3))):
            history = data.draw(histories(COPY_TASK, max_size=5))
            for status in history:
                at += 1
                events.append({"taskId": task, "status": status, "atUsecs": at, "attempt": attempt})
            kinds = [(v.index, v.kind) for v in validate(history, mode=mode).violations]
            if kinds:
                want[(task, attempt)] = kinds
    order = data.draw(st.permutations(range(len(events))))
    shuffled = [events[i] for i in order]
    report = judge(events_from_objects(shuffled), mode=mode).report()
    got: dict[tuple[str, int], list[tuple[int, str]]] = {}
    for v in report.violations:
        got.setdefault((str(v.task), v.attempt or 0), []).append((v.index, v.kind))
    assert {k: sorted(x) for k, x in got.items()} == want
    with tempfile.TemporaryDirectory() as tmp:
        log = write(Path(tmp) / "log.jsonl", shuffled)
        for engine in ENGINES:
            assert validate_log(log, mode=cast(Mode, mode), engine_name=engine).to_dictionary() == {
                **report.to_dictionary(),
                "summary": {**report.summary(), "files": [str(log)]},
                "violations": [
                    {**v, "file": str(log)} for v in report.to_dictionary()["violations"]
                ],
                "malformed": [],
            }
