"""The observed flow of many tasks, counted from an event log for the flow diagram."""

from __future__ import annotations

from pathlib import Path

import orjson

from tasklife.diagrams.flow import observed_flow
from tasklife.eventlog.reading import read_events


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
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
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
