"""Differential test: validate() gives the verdicts of replaying a history through the machine
(the replay is in ``replaying.py``)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from replaying import CI_JOB, LIFECYCLES, histories, replay
from tasklife.lifecycle import COPY_TASK
from tasklife.validation import validate


@settings(max_examples=150, deadline=None)
@given(data=st.data(), mode=st.sampled_from(["strict", "polling"]))
def test_validate_agrees_with_the_machine(data: st.DataObject, mode: str) -> None:
    lc = data.draw(st.sampled_from([*LIFECYCLES, CI_JOB]))
    history = data.draw(histories(lc))
    report = validate(history, mode=mode, lifecycle=lc)
    violations, gaps = replay(history, lc, mode)
    assert [(v.index, v.kind) for v in report.violations] == violations
    assert [(g.index, g.path) for g in report.gaps] == gaps
    assert bool(report) == (not violations)


def test_replay_sees_what_a_poller_misses() -> None:
    assert replay(["kAccepted", "kSuccess"], COPY_TASK, "polling") == (
        [],
        [(1, ("start", "succeed"))],
    )
    assert replay(["kAccepted", "kSuccess"], COPY_TASK, "strict") == (
        [(1, "illegal-transition")],
        [],
    )
