"""Lifecycle definitions at their limits: sizes, nesting, extends chains, names that could
inject text, the per-state error rule, and problems of extended files named where they are."""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from tasklife.cli import main
from tasklife.errors import InvalidLifecycle, UnreadableLifecycle
from tasklife.lifecycle import (
    COPY_TASK,
    COPY_TASK_6_8,
    ERROR_RULES,
    MAX_STATES,
    Lifecycle,
    StateDef,
    TransitionDef,
    check_definition,
    load_lifecycle,
)

MIB = 1 << 20


def chain_parts(n: int) -> tuple[list[StateDef], list[TransitionDef]]:
    states = [StateDef(f"s{i}") for i in range(n - 1)] + [StateDef(f"s{n - 1}", outcome="success")]
    return states, [TransitionDef(f"step{i}", f"s{i}", f"s{i + 1}") for i in range(n - 1)]


def chain_toml(n: int) -> str:
    states = "".join(f"[states.s{i}]\n" for i in range(n - 1))
    states += f'[states.s{n - 1}]\noutcome = "success"\n'
    steps = "".join(
        f'[[transitions]]\ntrigger = "step{i}"\nsource = "s{i}"\ndest = "s{i + 1}"\n'
        for i in range(n - 1)
    )
    return f'name = "chain"\ninitial = "s0"\n{states}{steps}'


def peak_mib(build: Any) -> float:
    tracemalloc.start()
    try:
        build()
    except InvalidLifecycle:
        pass
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak / MIB


# -- sizes (items 9 and 13) --------------------------------------------------------------------


def test_a_definition_over_the_limit_is_refused_before_any_graph_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_search(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("searched the graph of a definition that is refused anyway")

    monkeypatch.setattr("tasklife.lifecycle.definition.reachable", no_search)
    monkeypatch.setattr("tasklife.lifecycle.table.shortest_paths", no_search)
    states, steps = chain_parts(MAX_STATES + 1)
    assert check_definition("s0", states, steps) == [
        f"{MAX_STATES + 1} states: a lifecycle has at most {MAX_STATES} "
        "(event logs store a state as a one-byte code)"
    ]
    with pytest.raises(InvalidLifecycle, match=f"at most {MAX_STATES}"):
        Lifecycle("chain", "s0", states, steps)


def test_compiling_the_largest_chain_and_refusing_a_huge_one_take_little_memory() -> None:
    """A chain is the worst case of the all-pairs path table (O(n^3) slots): at the limit it
    stays small, and a definition 40 times the limit is refused in bounded memory."""
    states, steps = chain_parts(MAX_STATES)
    assert peak_mib(lambda: Lifecycle("chain", "s0", states, steps)) < 16
    huge_states, huge_steps = chain_parts(40 * MAX_STATES)
    assert peak_mib(lambda: Lifecycle("huge", "s0", huge_states, huge_steps)) < 2


def test_check_refuses_a_file_of_more_than_128_states(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ok, big = tmp_path / "ok.toml", tmp_path / "big.toml"
    ok.write_text(chain_toml(MAX_STATES))
    big.write_text(chain_toml(MAX_STATES + 1))
    assert main(["check", str(ok)]) == 0
    assert main(["check", str(big)]) == 1
    out = capsys.readouterr().out
    assert f"{big}: {MAX_STATES + 1} states: a lifecycle has at most {MAX_STATES}" in out
    assert "sound" not in out.splitlines()[-1]


def test_reachability_checks_are_linear_and_agree_on_a_long_chain() -> None:
    states, steps = chain_parts(MAX_STATES)
    assert check_definition("s0", states, steps) == []
    assert check_definition("s0", states, steps[:-1]) == [
        f"state 's{MAX_STATES - 1}' is not reachable from the initial state 's0'",
        *(f"state 's{i}' cannot reach a final state" for i in range(MAX_STATES - 1)),
    ]


# -- nesting and extends chains (item 9) ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("deep.json", "[" * 50_000 + "]" * 50_000),
        ("deep.toml", "initial = " + "[" * 50_000 + "]" * 50_000),
        ("deep-table.toml", "a = " + "{b = " * 5_000 + "1" + "}" * 5_000),
        ("deep-object.json", '{"a": ' * 50_000 + "1" + "}" * 50_000),
    ],
)
def test_deeply_nested_files_are_unreadable_not_a_recursion_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str
) -> None:
    f = tmp_path / name
    f.write_text(text)
    with pytest.raises(UnreadableLifecycle, match="nested too deeply"):
        load_lifecycle(f)
    assert main(["check", str(f)]) == 2
    err = capsys.readouterr().err
    assert err == f"{f}: nested too deeply to be a lifecycle\n"


def test_nested_values_that_do_parse_are_shown_short(tmp_path: Path) -> None:
    f = tmp_path / "values.json"
    f.write_text(
        '{"initial": ' + "[" * 500 + "]" * 500 + ', "description": ' + "[" * 500 + "]" * 500 + "}"
    )
    with pytest.raises(InvalidLifecycle) as err:
        load_lifecycle(f)
    assert err.value.problems == ("description must be a string, got [[[[...]]]]",)


def test_an_extends_chain_200_files_deep_loads(tmp_path: Path) -> None:
    (tmp_path / "c0.toml").write_text(chain_toml(3).replace('"chain"', '"c0"'))
    for i in range(1, 201):
        (tmp_path / f"c{i}.toml").write_text(
            f'name = "c{i}"\nextends = "c{i - 1}.toml"\n'
            f'[[transitions]]\ntrigger = "skip{i}"\nsource = "s0"\ndest = "s2"\n'
        )
    lc = load_lifecycle(tmp_path / "c200.toml")
    assert lc.name == "c200" and len(lc.triggers) == 2 + 200
    assert lc.dest("skip200", "s0") == "s2"


def test_a_long_extends_cycle_is_refused_naming_the_files(tmp_path: Path) -> None:
    for i in range(50):
        (tmp_path / f"c{i}.toml").write_text(f'extends = "c{(i + 1) % 50}.toml"\n')
    with pytest.raises(InvalidLifecycle, match=r"extends cycle: .*c0\.toml -> .*c1\.toml"):
        load_lifecycle(tmp_path / "c0.toml")


# -- problems of an extended file are that file's (item 17) -----------------------------------


def test_a_problem_of_an_extended_file_names_it_and_shows_its_values_short(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = tmp_path / "base.toml"
    base.write_text(
        'name = "base"\ninitial = "a"\n[states.a]\n[states.b]\noutcome = "success"\n'
        f'colour = "{"x" * 5000}"\n'
        '[[transitions]]\ntrigger = "go"\nsource = "a"\ndest = "b"\n'
    )
    top = tmp_path / "top.toml"
    top.write_text('extends = "base.toml"\n')
    with pytest.raises(InvalidLifecycle) as err:
        load_lifecycle(top)
    assert err.value.name == "top"
    assert err.value.problems == (f"extends {base}: state 'b': unknown key 'colour'",)
    base.write_text(base.read_text().replace("colour", "description = 1\n#"))
    with pytest.raises(InvalidLifecycle) as err:
        load_lifecycle(top)
    assert err.value.problems == (
        f"extends {base}: state 'b': description must be a string, got 1",
    )
    base.write_text("initial = ")
    with pytest.raises(InvalidLifecycle, match=f"extends: {base}: not valid TOML"):
        load_lifecycle(top)
    base.write_text(
        'name = "base"\ninitial = "a"\n[states.a]\ndescription = "' + "y" * 5000 + '"\n'
        '[states.b]\noutcome = "sucess"\n[[transitions]]\ntrigger = "go"\nsource = "a"\ndest = "b"\n'
    )
    assert main(["check", str(top)]) == 1
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith(f"{top}: extends {base}: state 'b': outcome 'sucess' is not one of")
    assert len(line) < 300  # no value of the file pasted whole
    base.write_text(base.read_text().replace("sucess", "success"))
    middle = tmp_path / "middle.toml"
    middle.write_text(f'extends = "base.toml"\ndescription = {["z" * 3000]}\n'.replace("'", '"'))
    top.write_text('extends = "middle.toml"\n')
    with pytest.raises(InvalidLifecycle) as err:
        load_lifecycle(top)
    (problem,) = err.value.problems
    assert problem.startswith(f"extends {middle}: description must be a string, got ['zzz")
    assert len(problem) < 200


# -- names that would inject text into diagrams or paths (item 11) ----------------------------


@pytest.mark.parametrize(
    "states",
    [
        [StateDef("a\n"), StateDef("b", outcome="success")],
        [StateDef("a"), StateDef("b\n%%{init: {}}%%", outcome="success")],
    ],
)
def test_state_names_ending_in_a_newline_are_refused(states: list[StateDef]) -> None:
    trans = [TransitionDef("go", states[0].name, states[1].name)]
    problems = check_definition(states[0].name, states, trans)
    assert any("is not a valid name" in p for p in problems), problems


def test_trigger_names_ending_in_a_newline_are_refused() -> None:
    states = [StateDef("a"), StateDef("b", outcome="success")]
    problems = check_definition("a", states, [TransitionDef("go\n", "a", "b")])
    assert problems[0] == "trigger name 'go\\n' is not a valid identifier"


@pytest.mark.parametrize(
    "name", ["ci\n%%{init: {'theme': 'dark'}}%%", "../../etc/x", ".hidden", "a/b", "x" * 101]
)
def test_lifecycle_names_that_could_inject_or_escape_are_refused(name: str) -> None:
    with pytest.raises(InvalidLifecycle, match=r"lifecycle name .* must be 1-100 characters"):
        Lifecycle.from_dictionary({**COPY_TASK.to_dictionary(), "name": name})


def test_ordinary_names_are_fine() -> None:
    for name in ("ci-job", "copy-task-6.8", "my flow", "Déploiement v2"):
        assert Lifecycle.from_dictionary({**COPY_TASK.to_dictionary(), "name": name}).name == name


# -- the error rule of each state (item 23) ----------------------------------------------------


def test_copy_task_requires_an_error_in_failure_allows_one_in_warning_forbids_it_elsewhere() -> (
    None
):
    for lc in (COPY_TASK, COPY_TASK_6_8):
        assert lc.states_with_error("required") == {"kFailure"}
        assert lc.states_with_error("allowed") == {"kWarning"}
        assert lc.states_with_error("forbidden") == set(lc.state_names) - {"kFailure", "kWarning"}
    text = (Path(__file__).parents[2] / "src/tasklife/lifecycles/copy-task.toml").read_text()
    assert 'error = "allowed"' in text and "kWarning allows one" in text  # the reason, written


def test_the_error_rule_defaults_by_outcome_and_round_trips() -> None:
    assert [StateDef("x", outcome=o).error_rule for o in ("failure", "warning", None)] == [
        "required",
        "forbidden",
        "forbidden",
    ]
    data = COPY_TASK.to_dictionary()
    assert data["states"]["kWarning"]["error"] == "allowed"
    assert "error" not in data["states"]["kRunning"]
    assert Lifecycle.from_dictionary(data) == COPY_TASK


def test_a_bad_error_rule_and_a_required_error_on_entry_are_refused() -> None:
    data = COPY_TASK.to_dictionary()
    data["states"]["kRunning"]["error"] = "sometimes"
    with pytest.raises(InvalidLifecycle) as err:
        Lifecycle.from_dictionary(data)
    assert err.value.problems == (
        f"state 'kRunning': error 'sometimes' is not one of {', '.join(ERROR_RULES)}",
    )
    data = COPY_TASK.to_dictionary()
    data["states"]["kAccepted"]["error"] = "required"
    with pytest.raises(InvalidLifecycle, match="initial state 'kAccepted': a record starts"):
        Lifecycle.from_dictionary(data)
    data["states"]["kAccepted"]["error"] = 3
    with pytest.raises(InvalidLifecycle, match="error must be a string, got 3"):
        Lifecycle.from_dictionary(data)
