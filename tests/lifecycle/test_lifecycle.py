"""The lifecycle table as data: building, loading, definition checks, built-ins, vocabularies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasklife.errors import InvalidLifecycle, UnknownLifecycle
from tasklife.lifecycle import (
    COPY_TASK,
    COPY_TASK_6_8,
    OUTCOMES,
    Lifecycle,
    StateDef,
    TransitionDef,
    builtin_lifecycles,
    check_definition,
    get_lifecycle,
    load_lifecycle,
)
from tasklife.status import Status

# The copy-task table exactly as issue 2, section 4 states it (trigger, sources, dest).
ISSUE_2_TABLE = [
    ("start", ("kAccepted",), "kRunning"),
    ("hold", ("kAccepted", "kRunning"), "kOnHold"),
    ("resume", ("kOnHold",), "kRunning"),
    ("succeed", ("kRunning",), "kSuccess"),
    ("warn", ("kRunning",), "kWarning"),
    ("fail", ("kAccepted", "kRunning", "kOnHold"), "kFailure"),
    ("cancel", ("kAccepted", "kRunning", "kOnHold"), "kCanceling"),
    ("confirm_cancel", ("kCanceling",), "kCanceled"),
    ("miss", ("kAccepted",), "kMissed"),
]
WIRE_ORDER = [
    "kAccepted", "kRunning", "kCanceling", "kCanceled", "kSuccess",
    "kFailure", "kWarning", "kOnHold", "kMissed",
]  # fmt: skip
V2 = {
    "kAccepted": "Accepted",
    "kRunning": "Running",
    "kCanceling": "Canceling",
    "kCanceled": "Canceled",
    "kSuccess": "Succeeded",
    "kFailure": "Failed",
    "kWarning": "SucceededWithWarning",
    "kOnHold": "OnHold",
    "kMissed": "Missed",
}
CODES = {0: "kAccepted", 1: "kRunning", 2: "kCanceling", 3: "kCanceled",
         4: "kSuccess", 5: "kFailure", 6: "kWarning"}  # fmt: skip


def ci_states() -> list[StateDef]:
    return [
        StateDef("queued", phase="queued"),
        StateDef("running"),
        StateDef("passed", terminal="success"),
        StateDef("failed", terminal="failure"),
        StateDef("canceled", terminal="canceled"),
    ]


def ci_transitions() -> list[TransitionDef]:
    return [
        TransitionDef("start", "queued", "running"),
        TransitionDef("pass_", "running", "passed"),
        TransitionDef("fail", "running", "failed"),
        TransitionDef("cancel", ["queued", "running"], "canceled"),
    ]


CI_MAPPING: dict[str, Any] = {
    "name": "ci-job",
    "initial": "queued",
    "states": {
        "queued": {"phase": "queued"},
        "running": {},
        "passed": {"terminal": "success"},
        "failed": {"terminal": "failure"},
        "canceled": {"terminal": "canceled"},
    },
    "transitions": [
        {"trigger": "start", "source": "queued", "dest": "running"},
        {"trigger": "pass_", "source": ["running"], "dest": "passed"},
        {"trigger": "fail", "source": "running", "dest": "failed"},
        {"trigger": "cancel", "source": ["queued", "running"], "dest": "canceled"},
    ],
}

CI_TOML = """\
name = "ci-job"
initial = "queued"
[states.queued]
phase = "queued"
[states.running]
[states.passed]
terminal = "success"
[states.failed]
terminal = "failure"
[states.canceled]
terminal = "canceled"
[[transitions]]
trigger = "start"
source = "queued"
dest = "running"
[[transitions]]
trigger = "pass_"
source = ["running"]
dest = "passed"
[[transitions]]
trigger = "fail"
source = "running"
dest = "failed"
[[transitions]]
trigger = "cancel"
source = ["queued", "running"]
dest = "canceled"
"""


def problems_of(mapping: dict[str, Any]) -> tuple[str, ...]:
    with pytest.raises(InvalidLifecycle) as err:
        Lifecycle.from_mapping(mapping)
    return err.value.problems


def with_changes(**changes: Any) -> dict[str, Any]:
    m = json.loads(json.dumps(CI_MAPPING))
    m.update(changes)
    return m


# -- building ---------------------------------------------------------------------------------


def test_build_in_python() -> None:
    ci = Lifecycle("ci-job", "queued", ci_states(), ci_transitions())
    assert ci.state_names == ("queued", "running", "passed", "failed", "canceled")
    assert ci.triggers == ("start", "pass_", "fail", "cancel")
    assert ci.terminal_states == {"passed", "failed", "canceled"}
    assert ci.dest("cancel", "queued") == "canceled"
    assert ci.dest("pass_", "queued") is None
    assert ci.triggers_from("running") == ("pass_", "fail", "cancel")
    assert ci.triggers_from("passed") == ()
    assert ci.state("running").klass == "active"
    assert ci.state("queued").klass == "queued"
    assert ci.state("failed").klass == "failure"
    assert ci.has_state("running") and not ci.has_state("kRunning")


def test_transition_source_accepts_string_or_list() -> None:
    assert TransitionDef("t", "a", "b").source == ("a",)
    assert TransitionDef("t", ["a", "c"], "b").source == ("a", "c")


def test_lifecycle_with_problems_is_refused() -> None:
    with pytest.raises(InvalidLifecycle) as err:
        Lifecycle("broken", "nowhere", ci_states(), ci_transitions())
    assert err.value.name == "broken"
    assert "unknown initial state 'nowhere'" in err.value.problems
    assert "'broken'" in str(err.value)
    assert isinstance(err.value, ValueError)


# -- loading TOML and JSON ----------------------------------------------------------------------


def same_table(a: Lifecycle, b: Lifecycle) -> bool:
    return a.to_mapping() == b.to_mapping()


def test_load_toml(tmp_path: Path) -> None:
    f = tmp_path / "ci-job.toml"
    f.write_text(CI_TOML)
    loaded = load_lifecycle(f)
    assert loaded.name == "ci-job"
    assert same_table(loaded, Lifecycle("ci-job", "queued", ci_states(), ci_transitions()))


def test_load_json(tmp_path: Path) -> None:
    f = tmp_path / "ci.json"
    f.write_bytes(orjson.dumps(CI_MAPPING))
    loaded = get_lifecycle(str(f))
    assert loaded.name == "ci-job"
    assert same_table(loaded, Lifecycle("ci-job", "queued", ci_states(), ci_transitions()))


def test_name_defaults_to_file_stem(tmp_path: Path) -> None:
    f = tmp_path / "nightly.json"
    f.write_bytes(orjson.dumps({k: v for k, v in CI_MAPPING.items() if k != "name"}))
    assert load_lifecycle(f).name == "nightly"


def test_get_lifecycle_accepts_name_path_and_value(tmp_path: Path) -> None:
    f = tmp_path / "ci.toml"
    f.write_text(CI_TOML)
    assert get_lifecycle("copy-task") is COPY_TASK
    assert get_lifecycle(COPY_TASK_6_8) is COPY_TASK_6_8
    assert get_lifecycle(f).name == "ci-job"
    with pytest.raises(UnknownLifecycle, match="'no-such-lifecycle'"):
        get_lifecycle("no-such-lifecycle")


def test_to_mapping_round_trips_through_json(tmp_path: Path) -> None:
    for lc in builtin_lifecycles():
        f = tmp_path / f"{lc.name}.json"
        f.write_bytes(orjson.dumps(lc.to_mapping()))
        again = load_lifecycle(f)
        assert again.to_mapping() == lc.to_mapping()
        assert (again.adjacency() == lc.adjacency()).all()


def test_unreadable_and_unparseable_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidLifecycle, match="cannot read"):
        load_lifecycle(tmp_path / "missing.toml")
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("initial = \n")
    with pytest.raises(InvalidLifecycle, match="not valid TOML"):
        load_lifecycle(bad_toml)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"initial": ')
    with pytest.raises(InvalidLifecycle, match="not valid JSON"):
        load_lifecycle(bad_json)


def test_file_that_is_not_utf8_is_refused_clearly(tmp_path: Path) -> None:
    f = tmp_path / "latin1.toml"
    f.write_bytes(b'name = "caf\xe9"\n')
    with pytest.raises(InvalidLifecycle, match=r"latin1\.toml"):
        load_lifecycle(f)


def test_top_level_must_be_a_table(tmp_path: Path) -> None:
    f = tmp_path / "list.json"
    f.write_text("[1, 2]")
    with pytest.raises(InvalidLifecycle, match="table/object"):
        load_lifecycle(f)


def test_shape_errors_name_the_key() -> None:
    assert "unknown key 'colour'" in problems_of(with_changes(colour="red"))
    assert "'states' must be a table of state names, got ['a']" in problems_of(
        with_changes(states=["a"])
    )
    assert any(
        "'transitions' must be a list" in p for p in problems_of(with_changes(transitions={}))
    )
    m = with_changes()
    m["states"]["passed"]["colour"] = "green"
    assert "state 'passed': unknown key 'colour'" in problems_of(m)
    m = with_changes()
    m["states"]["passed"]["code"] = "4"
    assert "state 'passed': code must be an integer, got '4'" in problems_of(m)
    m = with_changes()
    m["states"]["passed"]["code"] = True
    assert "state 'passed': code must be an integer, got True" in problems_of(m)
    m = with_changes()
    m["states"]["passed"]["terminal"] = 1
    assert "state 'passed': terminal must be a string, got 1" in problems_of(m)
    m = with_changes()
    m["transitions"][1] = {"trigger": "pass_", "source": "running"}
    assert "transitions[1]: missing dest" in problems_of(m)
    m = with_changes()
    m["transitions"][0]["when"] = "later"
    assert "transitions[0]: unknown key 'when'" in problems_of(m)
    m = with_changes()
    m["transitions"][0]["source"] = [1]
    assert any(p.startswith("transitions[0]: source must be") for p in problems_of(m))


@pytest.mark.parametrize("dest", [["passed"], {"state": "passed"}])
def test_dest_that_is_not_a_name_is_a_problem_not_a_crash(dest: object) -> None:
    m = with_changes()
    m["transitions"][1]["dest"] = dest
    assert any("pass_" in p and "dest" in p for p in problems_of(m))


# -- extends ----------------------------------------------------------------------------------


def test_extends_a_builtin(tmp_path: Path) -> None:
    f = tmp_path / "verified.toml"
    f.write_text(
        'extends = "copy-task"\n'
        '[states.kVerifying]\nphase = "active"\n'
        '[[transitions]]\ntrigger = "verify"\nsource = "kRunning"\ndest = "kVerifying"\n'
        '[[transitions]]\ntrigger = "succeed"\nsource = "kVerifying"\ndest = "kSuccess"\n'
    )
    lc = load_lifecycle(f)
    assert lc.name == "verified"
    assert lc.initial == "kAccepted"
    assert lc.state_names == (*WIRE_ORDER, "kVerifying")
    # A trigger and dest that already exist gain the new source instead of a second transition.
    succeed = [t for t in lc.transitions if t.trigger == "succeed"]
    assert [t.source for t in succeed] == [("kRunning", "kVerifying")]
    assert lc.path("kAccepted", "kVerifying") == ("start", "verify")
    assert COPY_TASK.dest("succeed", "kVerifying") is None  # the base is not changed


def test_extends_a_file_relative_to_the_extending_file(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "ci.toml").write_text(CI_TOML)
    f = tmp_path / "ci-retry.toml"
    f.write_text(
        'extends = "base/ci.toml"\n'
        '[[transitions]]\ntrigger = "retry"\nsource = "failed"\ndest = "queued"\n'
    )
    with pytest.raises(InvalidLifecycle) as err:
        load_lifecycle(f)
    # the extension gives a final state an exit: refused, naming state and trigger
    assert "final state 'failed' has an exit: trigger 'retry' -> 'queued'" in err.value.problems
    f.write_text(
        'extends = "base/ci.toml"\ninitial = "running"\n'
        '[[transitions]]\ntrigger = "requeue"\nsource = "running"\ndest = "queued"\n'
    )
    lc = load_lifecycle(f)
    assert lc.initial == "running"
    assert lc.dest("requeue", "running") == "queued"


def test_extends_unknown_lifecycle_is_named(tmp_path: Path) -> None:
    f = tmp_path / "x.toml"
    f.write_text('extends = "copy-task-9.9"\n')
    with pytest.raises(UnknownLifecycle, match=r"copy-task-9\.9"):
        load_lifecycle(f)


def test_extends_must_be_a_name() -> None:
    with pytest.raises(InvalidLifecycle, match="extends"):
        Lifecycle.from_mapping({"extends": 5})


def test_extends_cycle_is_refused_clearly(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('extends = "b.toml"\n')
    (tmp_path / "b.toml").write_text('extends = "a.toml"\n')
    with pytest.raises(InvalidLifecycle, match="extends"):
        load_lifecycle(tmp_path / "a.toml")


# -- definition checks: each message names the state or trigger at fault -----------------------


def test_sound_definition_has_no_problems() -> None:
    assert check_definition("queued", ci_states(), ci_transitions()) == []
    for lc in builtin_lifecycles():
        assert check_definition(lc.initial, lc.states, lc.transitions) == []


def test_exactly_one_initial_state() -> None:
    states, trans = ci_states(), ci_transitions()
    assert check_definition(["queued", "running"], states, trans) == [
        "there must be exactly one initial state (got ['queued', 'running'])"
    ]
    assert check_definition(None, states, trans) == [
        "there must be exactly one initial state (got None)"
    ]
    assert check_definition("waiting", states, trans) == ["unknown initial state 'waiting'"]


def test_every_state_reachable() -> None:
    states = [*ci_states(), StateDef("orphan", terminal="missed")]
    assert check_definition("queued", states, ci_transitions()) == [
        "state 'orphan' is not reachable from the initial state 'queued'"
    ]


def test_every_non_terminal_state_can_reach_a_final_state() -> None:
    states = [*ci_states(), StateDef("limbo")]
    trans = [*ci_transitions(), TransitionDef("wander", "running", "limbo")]
    assert check_definition("queued", states, trans) == ["state 'limbo' cannot reach a final state"]
    # a cycle with no way out is caught too
    trans = [*trans, TransitionDef("back", "limbo", "limbo")]
    assert check_definition("queued", states, trans) == ["state 'limbo' cannot reach a final state"]


def test_there_is_a_final_state() -> None:
    states = [StateDef("a"), StateDef("b")]
    assert check_definition("a", states, [TransitionDef("go", "a", "b")]) == [
        "no final state: give at least one state a terminal outcome"
    ]


def test_terminal_states_have_no_exits() -> None:
    trans = [*ci_transitions(), TransitionDef("retry", "failed", "queued")]
    assert check_definition("queued", ci_states(), trans) == [
        "final state 'failed' has an exit: trigger 'retry' -> 'queued'"
    ]


def test_a_trigger_has_one_destination_per_source() -> None:
    trans = [*ci_transitions(), TransitionDef("fail", ["queued", "running"], "canceled")]
    assert check_definition("queued", ci_states(), trans) == [
        "trigger 'fail' has two destinations from 'running': 'failed' and 'canceled'"
    ]


def test_duplicate_transition() -> None:
    trans = [*ci_transitions(), TransitionDef("start", "queued", "running")]
    assert check_definition("queued", ci_states(), trans) == [
        "duplicate transition 'start' from 'queued' to 'running'"
    ]


def test_unknown_state_names() -> None:
    trans = [*ci_transitions(), TransitionDef("skip", "waiting", "passed")]
    trans.append(TransitionDef("explode", "running", "exploded"))
    assert check_definition("queued", ci_states(), trans) == [
        "transition 'skip': unknown source state 'waiting'",
        "transition 'explode': unknown dest state 'exploded'",
    ]


def test_transition_without_source() -> None:
    trans = [*ci_transitions(), TransitionDef("noop", [], "passed")]
    assert check_definition("queued", ci_states(), trans) == ["transition 'noop': no source state"]


def test_invalid_names() -> None:
    states = [*ci_states(), StateDef("has space", terminal="missed")]
    trans = [*ci_transitions(), TransitionDef("go-now", "queued", "passed")]
    problems = check_definition("queued", states, trans)
    assert "state name 'has space' is not a valid name" in problems
    assert "trigger name 'go-now' is not a valid identifier" in problems


def test_bad_outcome_and_phase() -> None:
    states = ci_states()
    states[2] = StateDef("passed", terminal="great")
    states[1] = StateDef("running", phase="sprinting")
    problems = check_definition("queued", states, ci_transitions())
    assert problems == [
        "state 'running': phase 'sprinting' is not one of queued, active, held, canceling",
        "state 'passed': terminal outcome 'great' is not one of "
        "success, warning, failure, canceled, missed",
    ]
    states = ci_states()
    states[2] = StateDef("passed", terminal="success", phase="active")
    assert check_definition("queued", states, ci_transitions()) == [
        "state 'passed': a final state has no phase"
    ]


def test_duplicate_state_names() -> None:
    states = [*ci_states(), StateDef("running")]
    assert check_definition("queued", states, ci_transitions()) == ["duplicate state 'running'"]


def test_duplicate_v2_names_and_codes() -> None:
    states = ci_states()
    states[0] = StateDef("queued", phase="queued", v2="Waiting", code=0)
    states[1] = StateDef("running", v2="Waiting", code=0)
    assert check_definition("queued", states, ci_transitions()) == [
        "duplicate v2 name 'Waiting' (states 'queued' and 'running')",
        "duplicate code name 0 (states 'queued' and 'running')",
    ]


def test_v2_name_that_is_another_states_name_is_a_duplicate() -> None:
    # 'passed' would stand for two states: ambiguous input.
    states = ci_states()
    states[1] = StateDef("running", v2="passed")
    problems = check_definition("queued", states, ci_transitions())
    assert any("'passed'" in p and "running" in p for p in problems)


def test_duplicate_keys_in_json(tmp_path: Path) -> None:
    f = tmp_path / "dup.json"
    f.write_text(
        '{"initial": "queued", "states": {"queued": {}, "running": {},'
        ' "queued": {"phase": "held"}}, "transitions": []}'
    )
    with pytest.raises(InvalidLifecycle) as err:
        load_lifecycle(f)
    assert err.value.problems == ("duplicate name 'queued'",)


def test_problems_are_all_reported_at_once(tmp_path: Path) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(
        'initial = "queued"\n[states.queued]\n[states.done]\nterminal = "success"\n'
        "[states.stuck]\n"
        '[[transitions]]\ntrigger = "finish"\nsource = "queued"\ndest = "done"\n'
        '[[transitions]]\ntrigger = "reopen"\nsource = "done"\ndest = "queued"\n'
    )
    with pytest.raises(InvalidLifecycle) as err:
        load_lifecycle(f)
    assert err.value.name == "bad"
    assert err.value.problems == (
        "final state 'done' has an exit: trigger 'reopen' -> 'queued'",
        "state 'stuck' is not reachable from the initial state 'queued'",
        "state 'stuck' cannot reach a final state",
    )


# -- the built-ins ------------------------------------------------------------------------------


def table_of(lc: Lifecycle) -> list[tuple[str, tuple[str, ...], str]]:
    return [(t.trigger, t.source, t.dest) for t in lc.transitions]


def test_copy_task_is_the_issue_2_table() -> None:
    assert COPY_TASK.name == "copy-task"
    assert COPY_TASK.initial == "kAccepted"
    assert list(COPY_TASK.state_names) == WIRE_ORDER
    assert table_of(COPY_TASK) == ISSUE_2_TABLE
    assert COPY_TASK.terminal_states == {"kCanceled", "kSuccess", "kFailure", "kWarning", "kMissed"}
    assert {s: COPY_TASK.state(s).klass for s in COPY_TASK.terminal_states} == {
        "kCanceled": "canceled",
        "kSuccess": "success",
        "kFailure": "failure",
        "kWarning": "warning",
        "kMissed": "missed",
    }
    phases = [COPY_TASK.state(s).klass for s in ("kAccepted", "kRunning", "kCanceling", "kOnHold")]
    assert phases == ["queued", "active", "canceling", "held"]


def test_copy_task_dest_for_every_pair() -> None:
    expected = {(t, s): d for t, sources, d in ISSUE_2_TABLE for s in sources}
    for trigger in COPY_TASK.triggers:
        for state in COPY_TASK.state_names:
            assert COPY_TASK.dest(trigger, state) == expected.get((trigger, state))


def test_status_enum_agrees_with_the_table() -> None:
    assert [s.value for s in Status] == list(COPY_TASK.state_names)
    for s in Status:
        assert s.is_final == COPY_TASK.is_terminal(s)


def test_copy_task_6_8_adds_finalizing() -> None:
    lc = COPY_TASK_6_8
    assert lc.name == "copy-task-6.8"
    assert lc.state_names == (*WIRE_ORDER, "kFinalizing")
    assert lc.state("kFinalizing").klass == "active"
    assert not lc.is_terminal("kFinalizing")
    assert lc.dest("finalize", "kRunning") == "kFinalizing"
    assert {t: lc.dest(t, "kFinalizing") for t in lc.triggers_from("kFinalizing")} == {
        "succeed": "kSuccess",
        "warn": "kWarning",
        "fail": "kFailure",
        "cancel": "kCanceling",
    }
    assert lc.path("kAccepted", "kFinalizing") == ("start", "finalize")
    # everything else is copy-task unchanged
    for trigger, sources, dest in ISSUE_2_TABLE:
        for s in sources:
            assert lc.dest(trigger, s) == dest
    assert lc.terminal_states == COPY_TASK.terminal_states


def test_finalizing_is_unknown_to_copy_task_and_the_reason_names_copy_task_6_8() -> None:
    for value in ("kFinalizing", "Finalizing"):
        assert COPY_TASK.canonical(value) is None
        reason = COPY_TASK.unknown_status_reason(value)
        assert "'copy-task-6.8'" in reason and "'copy-task'" in reason
    assert COPY_TASK_6_8.canonical("Finalizing") == "kFinalizing"
    reason = COPY_TASK.unknown_status_reason("kBogus")
    assert "kBogus" not in reason and "kAccepted, kRunning" in reason


# -- vocabularies -------------------------------------------------------------------------------


@pytest.mark.parametrize("lc", [COPY_TASK, COPY_TASK_6_8], ids=lambda lc: lc.name)
def test_v2_names_both_ways(lc: Lifecycle) -> None:
    v2 = {**V2, "kFinalizing": "Finalizing"} if lc is COPY_TASK_6_8 else V2
    for v1, name in v2.items():
        assert lc.canonical(name) == v1
        assert lc.vocabulary(name) == "v2"
        assert lc.translate(v1, "v2") == name
        assert lc.canonical(v1) == v1
        assert lc.vocabulary(v1) == "v1"
        assert lc.translate(v1, "v1") == v1


def test_codes_zero_to_six_both_ways() -> None:
    for code, v1 in CODES.items():
        assert COPY_TASK.canonical(code) == v1
        assert COPY_TASK.vocabulary(code) == "code"
        assert COPY_TASK.translate(v1, "code") == code
    # states without a code keep their own name; no other value is a code
    assert COPY_TASK.translate("kOnHold", "code") == "kOnHold"
    for value in (7, -1, True, False, "4"):
        assert COPY_TASK.canonical(value) is None
        assert COPY_TASK.vocabulary(value) is None


@pytest.mark.parametrize("value", [[1], {"status": "kRunning"}, {1, 2}])
def test_unhashable_values_are_unknown_not_a_crash(value: object) -> None:
    assert COPY_TASK.canonical(value) is None
    assert COPY_TASK.vocabulary(value) is None
    assert "copy-task" in COPY_TASK.unknown_status_reason(value)


def test_a_float_is_not_a_code() -> None:
    assert COPY_TASK.canonical(1.0) is None


# -- shortest paths and matrices ----------------------------------------------------------------


def test_shortest_paths() -> None:
    p = COPY_TASK.path
    assert p("kAccepted", "kSuccess") == ("start", "succeed")
    assert p("kAccepted", "kCanceled") == ("cancel", "confirm_cancel")
    assert p("kOnHold", "kWarning") == ("resume", "warn")
    assert p("kAccepted", "kOnHold") == ("hold",)
    assert p("kRunning", "kRunning") == ()
    assert p("kSuccess", "kRunning") is None
    assert p("kRunning", "kAccepted") is None
    assert p("kRunning", "kMissed") is None


def test_every_path_is_legal_and_shortest() -> None:
    for lc in builtin_lifecycles():
        reach = lc.reachability()
        for a in lc.state_names:
            for b in lc.state_names:
                path = lc.path(a, b)
                if a == b:
                    assert path == ()
                    continue
                assert (path is not None) == bool(reach[lc.index[a], lc.index[b]])
                if path is None:
                    continue
                here = a
                for trig in path:
                    nxt = lc.dest(trig, here)
                    assert nxt is not None
                    here = nxt
                assert here == b
                # no shorter walk: b is not within len(path) - 1 steps of a
                hops = np.linalg.matrix_power(lc.adjacency().astype(np.int64), len(path) - 1)
                assert len(path) == 1 or not hops[lc.index[a], lc.index[b]]


def test_adjacency_matches_the_table() -> None:
    a = COPY_TASK.adjacency()
    assert a.dtype == np.bool_ and a.shape == (9, 9)
    expected = {(s, d) for _, sources, d in ISSUE_2_TABLE for s in sources}
    got = {
        (COPY_TASK.state_names[i], COPY_TASK.state_names[j])
        for i, j in zip(*np.nonzero(a), strict=True)
    }
    assert got == expected
    for s, d in expected:
        assert COPY_TASK.trigger_between(s, d) is not None
    assert COPY_TASK.trigger_between("kAccepted", "kSuccess") is None
    assert not a[[COPY_TASK.index[s] for s in COPY_TASK.terminal_states]].any()


def closure(a: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    r = a.astype(np.int64)
    n = len(a)
    total = r.copy()
    for _ in range(n):
        r = (r @ a.astype(np.int64) > 0).astype(np.int64)
        total |= r
    return total.astype(bool)


@pytest.mark.parametrize("lc", [COPY_TASK, COPY_TASK_6_8], ids=lambda lc: lc.name)
def test_reachability_off_the_diagonal_is_the_transitive_closure(lc: Lifecycle) -> None:
    r = lc.reachability()
    expected = closure(lc.adjacency())
    off = ~np.eye(len(r), dtype=bool)
    assert (r[off] == expected[off]).all()
    i = lc.index
    assert r[i["kAccepted"], i["kSuccess"]]
    assert not r[i["kRunning"], i["kMissed"]]
    assert not r[i["kSuccess"]].any()


def test_reachability_is_one_or_more_triggers_including_cycles() -> None:
    # kRunning -hold-> kOnHold -resume-> kRunning: two triggers lead from kRunning to kRunning.
    r = COPY_TASK.reachability()
    assert (r == closure(COPY_TASK.adjacency())).all()
    assert (r | COPY_TASK.adjacency() == r).all()


def test_builtin_lifecycles_lists_copy_task_first() -> None:
    assert [lc.name for lc in builtin_lifecycles()] == ["copy-task", "copy-task-6.8"]
    assert all(lc.state(lc.initial).klass == "queued" for lc in builtin_lifecycles())
    assert {
        c for lc in builtin_lifecycles() for c in (lc.state(s).klass for s in lc.terminal_states)
    } == set(OUTCOMES)


def test_repr_names_the_lifecycle() -> None:
    assert repr(COPY_TASK) == "<Lifecycle 'copy-task': 9 states, 9 triggers>"


@pytest.mark.parametrize(("value", "state"), [("Succeeded", "kSuccess"), (4, "kSuccess")])
def test_unknown_reason_for_another_vocabulary_names_the_state_not_another_lifecycle(
    value: object, state: str
) -> None:
    # Where only wire (v1) names are accepted, 'Succeeded' is copy-task's own kSuccess under its
    # v2 name: pointing the user at copy-task-6.8 (which would refuse it too) misleads.
    reason = COPY_TASK.unknown_status_reason(value)
    assert "copy-task-6.8" not in reason
    assert state in reason


def test_concurrent_loads_of_an_extending_file_are_not_taken_for_a_cycle(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    (tmp_path / "base.toml").write_text(CI_TOML)
    files = []
    for i in range(8):
        f = tmp_path / f"child{i}.toml"
        f.write_text(
            'extends = "base.toml"\n'
            f'[[transitions]]\ntrigger = "requeue{i}"\nsource = "running"\ndest = "queued"\n'
        )
        files.append(f)
    with ThreadPoolExecutor(4) as pool:
        for _ in range(30):
            loaded = list(pool.map(load_lifecycle, files))
            assert [lc.name for lc in loaded] == [f.stem for f in files]


# -- property: the checks agree with an independent oracle, the compiled table with the checks --


@st.composite
def definitions(draw: st.DrawFn) -> tuple[str, list[StateDef], list[TransitionDef]]:
    """Small random definitions; half are grown from a chain s0 -> s1 -> ... -> final state,
    with extra transitions out of its non-final states, so that many of them are sound."""
    n = draw(st.integers(2, 6))
    names = [f"s{i}" for i in range(n)]
    outcome = st.sampled_from(OUTCOMES)
    if draw(st.booleans()):
        states = [StateDef(name) for name in names[:-1]]
        states.append(StateDef(names[-1], terminal=draw(outcome)))
        spine = [TransitionDef(f"step{i}", names[i], names[i + 1]) for i in range(n - 1)]
        sources = names[:-1]
    else:
        states = [StateDef(name, terminal=draw(st.none() | outcome)) for name in names]
        spine, sources = [], names
    extra = st.builds(
        TransitionDef,
        st.sampled_from(["go", "stop", "pause", "done"]),
        st.lists(st.sampled_from(sources), min_size=1, max_size=3, unique=True),
        st.sampled_from(names),
    )
    return names[0], states, spine + draw(st.lists(extra, max_size=5))


def oracle_is_sound(initial: str, states: list[StateDef], trans: list[TransitionDef]) -> bool:
    final = {s.name for s in states if s.terminal}
    pairs = [(t.trigger, src) for t in trans for src in t.source]
    if len(set(pairs)) != len(pairs) or any(src in final for _, src in pairs):
        return False  # a trigger twice from one source, or an exit from a final state
    edges: dict[str, set[str]] = {s.name: set() for s in states}
    for t in trans:
        for src in t.source:
            edges[src].add(t.dest)

    def reach(a: str) -> set[str]:
        out, todo = {a}, [a]
        while todo:
            for b in edges[todo.pop()] - out:
                out.add(b)
                todo.append(b)
        return out

    return (
        bool(final)
        and reach(initial) == set(edges)
        and all(reach(s) & final for s in edges if s not in final)
    )


@settings(max_examples=150, deadline=None)
@given(definitions())
def test_checks_agree_with_an_oracle_and_sound_tables_compile_consistently(
    d: tuple[str, list[StateDef], list[TransitionDef]],
) -> None:
    initial, states, trans = d
    problems = check_definition(initial, states, trans)
    assert (problems == []) == oracle_is_sound(initial, states, trans), problems
    if problems:
        with pytest.raises(InvalidLifecycle) as err:
            Lifecycle("random", initial, states, trans)
        assert list(err.value.problems) == problems
        return
    lc = Lifecycle("random", initial, states, trans)
    a, r = lc.adjacency(), lc.reachability()
    start = lc.index[initial]
    assert all(i == start or r[start, i] for i in range(len(states)))
    final = [lc.index[s] for s in lc.terminal_states]
    assert not a[final].any()
    for s in lc.state_names:
        if not lc.is_terminal(s):
            assert r[lc.index[s], final].any()
        for trig in lc.triggers_from(s):
            dest = lc.dest(trig, s)
            assert dest is not None and a[lc.index[s], lc.index[dest]]
