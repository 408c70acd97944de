"""Diagrams drawn from the lifecycle table: Mermaid, DOT, real Graphviz SVG/PNG, overlays, CLI."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import zlib
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasklife.cli import main
from tasklife.diagrams import (
    FORMATS,
    format_for,
    graphviz,
    plan,
    render_lifecycle,
    write_all,
    write_diagram,
)
from tasklife.diagrams.dot import to_dot
from tasklife.diagrams.graphviz import find_engine
from tasklife.diagrams.mermaid import to_mermaid
from tasklife.diagrams.overlay import flow_overlay, task_overlay
from tasklife.errors import DiagramError, GraphvizNotFound, InvalidRecord, UnknownLifecycle
from tasklife.lifecycle import (
    COPY_TASK,
    COPY_TASK_6_8,
    OUTCOMES,
    PHASES,
    Lifecycle,
    StateDef,
    TransitionDef,
)
from tasklife.tracking import JournalEntry, Task

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "diagrams"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG_SIGNATURE)
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def png_decoded_matches_header(data: bytes) -> bool:
    """Inflate the IDAT chunks: a real decode must give one filter byte plus a row per line."""
    width, height = png_size(data)
    depth, colour = data[24], data[25]
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    row = (width * channels * depth + 7) // 8
    return len(zlib.decompress(idat)) == height * (1 + row)


def layout_json(dot: str) -> dict[str, dict[str, object]]:
    """Lay out with graphviz-pure as JSON: node name -> attributes (with ``pos``)."""
    out = subprocess.run(
        [find_engine("pure"), "-Kdot", "-Tjson"],
        input=dot.encode(),
        capture_output=True,
        check=True,
    )
    graph = json.loads(out.stdout)
    return {o["name"]: o for o in graph["objects"]}


def x_of(nodes: dict[str, dict[str, object]], name: str) -> float:
    return float(str(nodes[name]["pos"]).split(",")[0])


# -- Mermaid and DOT text ----------------------------------------------------------------------


def test_mermaid_copy_task_shows_every_state_transition_and_class() -> None:
    text = to_mermaid(COPY_TASK)
    lines = text.splitlines()
    assert lines[1] == "stateDiagram-v2"
    assert "    direction LR" in lines
    assert "    [*] --> kAccepted" in lines
    for final in ("kSuccess", "kWarning", "kFailure", "kCanceled", "kMissed"):
        assert f"    {final} --> [*]" in lines
    assert "    kAccepted --> kRunning : start" in lines
    assert "    kCanceling --> kCanceled : confirm_cancel" in lines
    pairs = {(s, t.dest) for t in COPY_TASK.transitions for s in t.source}
    edges = [ln for ln in lines if " --> " in ln and "[*]" not in ln]
    assert len(edges) == len(pairs) == 14
    for klass in ("queued", "active", "held", "canceling", "success", "warning", "failure"):
        assert any(ln.startswith(f"    classDef {klass} fill:#") for ln in lines)
    assert "    class kOnHold held" in lines
    assert "    class kMissed missed" in lines


def test_every_state_class_has_a_colour() -> None:
    assert set(plan.PALETTE) == {*PHASES, *OUTCOMES, "unknown"}
    fills = [fill for fill, _ in plan.PALETTE.values()]
    assert len(set(fills)) == len(fills)


def test_dot_copy_task_marks_initial_final_and_classes() -> None:
    text = to_dot(COPY_TASK)
    assert text.startswith('digraph "copy-task" {\n  graph [rankdir=LR')
    assert '"[*]" -> "kAccepted"' in text
    for state in COPY_TASK.states:
        line = next(ln for ln in text.splitlines() if ln.startswith(f'  "{state.name}" ['))
        assert ("shape=doublecircle" in line) == state.is_final
        fill, _ = plan.PALETTE[state.klass]
        assert f'fillcolor="{fill}"' in line
    assert '"kRunning" -> "kSuccess" [label=<succeed>' in text
    assert "legend [shape=plain" in text and ">held<" in text


def test_text_is_byte_identical_across_processes() -> None:
    code = (
        "from tasklife.diagrams.dot import to_dot; from tasklife.diagrams.mermaid import to_mermaid;"
        "from tasklife.lifecycle import COPY_TASK_6_8 as L;"
        "import sys; sys.stdout.write(to_mermaid(L) + to_dot(L))"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2", "random")
    }
    assert outs == {(to_mermaid(COPY_TASK_6_8) + to_dot(COPY_TASK_6_8)).encode()}


def _tiny(names: tuple[str, str, str] = ("idle", "busy", "done")) -> Lifecycle:
    a, b, c = names
    return Lifecycle(
        name="tiny",
        initial=a,
        states=[StateDef(a, phase="queued"), StateDef(b), StateDef(c, outcome="success")],
        transitions=[
            TransitionDef("go", a, b),
            TransitionDef("rush", a, b),
            TransitionDef("finish", [a, b], c),
        ],
    )


def test_parallel_triggers_share_one_labelled_edge() -> None:
    lc = _tiny()
    assert "    idle --> busy : go / rush" in to_mermaid(lc).splitlines()
    dot = to_dot(lc)
    assert dot.count('"idle" -> "busy"') == 1
    assert "label=<go / rush>" in dot


def test_names_that_need_quoting_render() -> None:
    lc = _tiny(("in-queue", "run.1", "done"))
    mermaid = to_mermaid(lc)
    assert '    state "in-queue" as s0' in mermaid
    assert "    [*] --> s0" in mermaid and "    s0 --> s1 : go / rush" in mermaid
    svg = render_lifecycle(lc, "svg", engine="pure")
    assert isinstance(svg, str)
    assert "<title>in&#45;queue</title>" in svg and "<title>run.1</title>" in svg


def test_legend_lists_only_the_classes_drawn() -> None:
    dot = to_dot(_tiny())
    assert ">queued<" in dot and ">active<" in dot and ">success<" in dot
    assert ">failure<" not in dot and ">held<" not in dot


# -- real Graphviz layout ----------------------------------------------------------------------


def test_layout_reads_left_to_right_as_a_timeline() -> None:
    nodes = layout_json(to_dot(COPY_TASK))
    assert x_of(nodes, "[*]") < x_of(nodes, "kAccepted") < x_of(nodes, "kRunning")
    finals = [x_of(nodes, s) for s in COPY_TASK.final_states]
    assert len(set(finals)) == 1  # one column of outcomes, right of everything else
    assert all(finals[0] > x_of(nodes, s) for s in ("kRunning", "kOnHold", "kCanceling"))
    assert {nodes[s]["shape"] for s in COPY_TASK.final_states} == {"doublecircle"}


def test_svg_with_graphviz_pure_has_every_state_and_the_legend() -> None:
    svg = render_lifecycle(COPY_TASK, "svg", engine="pure")
    assert isinstance(svg, str)
    assert svg.startswith('<?xml version="1.0"') and "(graphviz-pure)" in svg
    for state in COPY_TASK.state_names:
        assert f"<title>{state}</title>" in svg
    for trigger in COPY_TASK.triggers:
        assert f">{trigger}</text>" in svg
    assert ">state class</text>" in svg and ">canceled</text>" in svg
    assert svg == render_lifecycle(COPY_TASK, "svg", engine="pure")


def test_png_with_graphviz_pure_is_a_real_deterministic_image() -> None:
    png = render_lifecycle(COPY_TASK, "png", engine="pure")
    assert isinstance(png, bytes)
    width, height = png_size(png)
    assert 800 <= width <= 1800 and 500 <= height <= 1400
    assert png_decoded_matches_header(png)
    assert png == render_lifecycle(COPY_TASK, "png", engine="pure")


def test_system_dot_when_present_else_a_clear_error() -> None:
    if os.environ.get("CI"):  # .ci/run installs the system Graphviz: test it for real there
        assert shutil.which("dot"), "CI must have the system Graphviz (see .ci/run)"
    if shutil.which("dot"):
        svg = render_lifecycle(COPY_TASK, "svg", engine="system")
        assert isinstance(svg, str) and "<title>kAccepted</title>" in svg
        assert "(graphviz-pure)" not in svg and ">state class</text>" in svg
        assert png_decoded_matches_header(
            bytes(render_lifecycle(COPY_TASK, "png", engine="system"))
        )
    else:
        with pytest.raises(GraphvizNotFound, match="apt-get install graphviz"):
            render_lifecycle(COPY_TASK, "svg", engine="system")


def test_no_engine_on_an_empty_path_says_how_to_install_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(graphviz, "_search_path", lambda: str(tmp_path))
    for engine in ("auto", "pure", "system"):
        with pytest.raises(GraphvizNotFound) as info:
            render_lifecycle(COPY_TASK, "png", engine=engine)
        assert "pip install 'tasklife[graphviz]'" in str(info.value)
        assert "apt-get install graphviz" in str(info.value)
        assert info.value.engine == engine
    assert render_lifecycle(COPY_TASK, "mermaid").startswith("%% copy-task")  # text needs none
    assert main(["diagram", "--format", "svg"]) == 2


def test_auto_prefers_graphviz_pure_and_falls_back_to_dot(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pure = find_engine("pure")
    assert find_engine("auto") == pure
    (tmp_path / "dot").symlink_to(pure)  # a dot-compatible executable, alone on the path
    monkeypatch.setattr(graphviz, "_search_path", lambda: str(tmp_path))
    assert find_engine("auto") == str(tmp_path / "dot") == find_engine("system")
    with pytest.raises(GraphvizNotFound, match="graphviz-pure not found"):
        find_engine("pure")
    svg = render_lifecycle(COPY_TASK, "svg")
    assert isinstance(svg, str) and "<title>kMissed</title>" in svg


def test_layout_failure_is_a_typed_error() -> None:
    with pytest.raises(DiagramError, match="could not lay out the diagram as svg"):
        graphviz._layout("digraph { a -> ", "svg", "pure")


def test_bad_format_engine_and_suffix_are_typed_errors(tmp_path: Path) -> None:
    with pytest.raises(DiagramError, match="'jpeg' is not one of mermaid, dot, svg, png"):
        render_lifecycle(COPY_TASK, "jpeg")
    with pytest.raises(DiagramError, match="engine: 'fast'"):
        find_engine("fast")  # type: ignore[arg-type]
    with pytest.raises(DiagramError, match=r"copy-task\.txt: cannot tell the format"):
        write_diagram(tmp_path / "copy-task.txt")
    with pytest.raises(UnknownLifecycle):
        render_lifecycle("no-such-lifecycle")
    assert not list(tmp_path.iterdir())


def test_unwritable_output_is_a_typed_error_and_leaves_the_old_file(tmp_path: Path) -> None:
    with pytest.raises(DiagramError, match=r"no-dir/c\.mmd: cannot write: No such file"):
        write_diagram(tmp_path / "no-dir" / "c.mmd")
    (tmp_path / "taken.svg").mkdir()
    with pytest.raises(DiagramError, match="cannot write"):
        write_diagram(tmp_path / "taken.svg", engine="pure")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.svg"]


def test_write_diagram_takes_the_format_from_the_suffix(tmp_path: Path) -> None:
    assert format_for("x.MMD") == "mermaid" and format_for("x.gv") == "dot"
    for suffix in (".mmd", ".dot", ".svg", ".png"):
        out = write_diagram(tmp_path / f"t{suffix}", lifecycle=COPY_TASK_6_8, engine="pure")
        data = out.read_bytes()
        expected = render_lifecycle(COPY_TASK_6_8, format_for(out), engine="pure")
        assert data == (expected.encode() if isinstance(expected, str) else expected)
    assert b"kFinalizing" in (tmp_path / "t.svg").read_bytes()


# -- the committed diagrams --------------------------------------------------------------------


def test_committed_diagrams_are_what_the_code_renders_now() -> None:
    expected = {
        f"{lc}{suffix}"
        for lc in ("copy-task", "copy-task-6.8")
        for suffix in (f.suffix for f in FORMATS.values())
    }
    assert {p.name for p in COMMITTED.iterdir()} >= expected
    for name in sorted(expected):
        lifecycle = name.rsplit(".", 1)[0]
        fmt = format_for(name)
        now = render_lifecycle(lifecycle, fmt, engine="pure")
        now_bytes = now.encode() if isinstance(now, str) else now
        assert (COMMITTED / name).read_bytes() == now_bytes, (
            f"diagrams/{name} is stale: regenerate with `tasklife diagram --all -o diagrams`"
        )


def test_write_all_writes_every_format_of_every_builtin(tmp_path: Path) -> None:
    paths = write_all(tmp_path, engine="pure")
    assert sorted(p.name for p in paths) == sorted(p.name for p in tmp_path.iterdir())
    assert len(paths) == 8
    assert (tmp_path / "copy-task.dot").read_text() == to_dot(COPY_TASK)


# -- overlays ----------------------------------------------------------------------------------

SEC = 1_000_000


def test_task_overlay_from_a_status_history_with_times() -> None:
    history: list[tuple[str | int, int]] = [
        ("kAccepted", 0),
        ("Running", 2 * SEC),
        ("kOnHold", 65 * SEC),
        ("kOnHold", 70 * SEC),
        (1, 400 * SEC),
        ("kSuccess", 500 * SEC),
    ]
    o = task_overlay(history)
    assert o.state_roles["kSuccess"] == "current"
    assert o.state_roles["kRunning"] == o.state_roles["kOnHold"] == "visited"
    assert o.state_roles["kFailure"] == "unreached"
    assert o.state_notes == {
        "kAccepted": "2.0 s",
        "kRunning": "2 min 43 s",
        "kOnHold": "5 min 35 s",
    }
    assert o.edge_roles[("kAccepted", "kRunning")] == "taken"
    assert o.edge_notes[("kRunning", "kOnHold")] == "#2"
    assert o.edge_notes[("kOnHold", "kRunning")] == "#3"
    assert o.edge_roles[("kRunning", "kWarning")] == "untaken"
    dot = to_dot(COPY_TASK, o)
    assert '"kSuccess" [label=<kSuccess> shape=doublecircle' in dot
    assert 'color="#000000"' in next(ln for ln in dot.splitlines() if ln.startswith('  "kSuccess"'))
    assert 'kRunning<BR/><FONT POINT-SIZE="10">2 min 43 s</FONT>' in dot
    mermaid = to_mermaid(COPY_TASK, o)
    assert "    kRunning : 2 min 43 s" in mermaid and "    class kSuccess current" in mermaid
    assert "    kAccepted --> kRunning : start - #1" in mermaid


def test_task_overlay_from_a_real_journal() -> None:
    clock = iter(range(0, 100 * SEC, 5 * SEC)).__next__
    task = Task(clock=clock, journal=[])
    task.start()
    task.hold()
    task.resume()
    assert task.journal is not None and all(isinstance(e, JournalEntry) for e in task.journal)
    o = task_overlay(task.journal, now_usecs=30 * SEC)
    assert o.state_roles["kRunning"] == "current"
    assert o.state_notes["kOnHold"] == "5.0 s"
    assert o.state_notes["kRunning"].endswith("so far")
    assert "kAccepted" not in o.state_notes  # entered before the journal began
    svg = render_lifecycle(COPY_TASK, "svg", overlay=o, engine="pure")
    assert isinstance(svg, str) and ">current state</text>" in svg


def test_task_overlay_strict_flags_every_jump_as_illegal() -> None:
    o = task_overlay(["kAccepted", "kSuccess", "kRunning"])
    assert o.edge_roles[("kAccepted", "kSuccess")] == "illegal"
    assert o.edge_roles[("kSuccess", "kRunning")] == "illegal"
    assert o.edge_roles[("kAccepted", "kRunning")] == "untaken"
    assert o.state_roles["kRunning"] == "current"


def test_task_overlay_polling_infers_gaps_and_flags_illegal_jumps() -> None:
    o = task_overlay(["kAccepted", "kSuccess", "kRunning"], mode="polling")
    assert o.edge_roles[("kAccepted", "kRunning")] == "inferred"
    assert o.edge_roles[("kRunning", "kSuccess")] == "inferred"
    assert o.edge_roles[("kSuccess", "kRunning")] == "illegal"
    assert o.state_roles["kRunning"] == "current"
    dot = to_dot(COPY_TASK, o)
    illegal = next(ln for ln in dot.splitlines() if ln.startswith('  "kSuccess" -> "kRunning"'))
    assert 'color="#d50000"' in illegal and "style=dashed" in illegal and "illegal" in illegal
    assert "    kSuccess --> kRunning : illegal - #2" in to_mermaid(COPY_TASK, o)


@pytest.mark.parametrize(
    ("history", "where"),
    [
        ([], "history"),
        (["kAccepted", "kBogus"], "history[1]"),
        ([("kAccepted", 10), ("kRunning", 5)], "history[1].at_usecs"),
        ([("kAccepted", "soon")], "history[0].at_usecs"),
        (
            [
                JournalEntry("start", "kAccepted", "kRunning", 1),
                JournalEntry("succeed", "kOnHold", "kSuccess", 2),
            ],
            "journal[1].source",
        ),
    ],
)
def test_bad_histories_name_the_entry(history: list[object], where: str) -> None:
    with pytest.raises(InvalidRecord) as info:
        task_overlay(history)  # type: ignore[arg-type]
    assert info.value.path == where


def test_unknown_status_names_the_lifecycle_that_knows_it() -> None:
    with pytest.raises(InvalidRecord, match=r"copy-task-6\.8"):
        task_overlay(["kAccepted", "kFinalizing"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=8), max_size=12))
def test_random_walk_overlay_marks_exactly_the_walk(choices: list[int]) -> None:
    state, walk = COPY_TASK.initial, [COPY_TASK.initial]
    for c in choices:
        triggers = COPY_TASK.triggers_from(state)
        if not triggers:
            break
        state = COPY_TASK.dest(triggers[c % len(triggers)], state) or state
        walk.append(state)
    o = task_overlay(walk)
    taken = {e for e, r in o.edge_roles.items() if r == "taken"}
    assert taken == set(pairwise(walk))
    assert o.state_roles[walk[-1]] == "current"
    assert {s for s, r in o.state_roles.items() if r != "unreached"} == set(walk)
    assert to_dot(COPY_TASK, o) == to_dot(COPY_TASK, task_overlay(walk))


def _flow() -> SimpleNamespace:
    return SimpleNamespace(
        tasks=4,
        state_tasks={"kAccepted": 4, "kRunning": 3, "kSuccess": 2, "kMissed": 1},
        edge_tasks={
            ("kAccepted", "kRunning"): 3,
            ("kRunning", "kSuccess"): 2,
            ("kAccepted", "kMissed"): 1,
            ("kSuccess", "kRunning"): 1,
        },
        illegal=frozenset({("kSuccess", "kRunning")}),
    )


def test_flow_overlay_counts_tasks_and_shares_and_draws_illegal_edges() -> None:
    o = flow_overlay(_flow())
    assert o.title == "4 tasks"
    assert o.state_notes["kRunning"] == "3 tasks, 75%"
    assert o.state_roles["kOnHold"] == "unreached"
    assert o.edge_notes[("kAccepted", "kMissed")] == "1 task, 25%"
    assert o.edge_roles[("kRunning", "kWarning")] == "untaken"
    assert o.edge_roles[("kSuccess", "kRunning")] == "illegal"
    assert o.edge_weights[("kAccepted", "kRunning")] == 0.75
    dot = to_dot(COPY_TASK, o)
    start = next(ln for ln in dot.splitlines() if ln.startswith('  "kAccepted" -> "kRunning"'))
    assert "penwidth=4.0" in start and "3 tasks, 75%" in start
    assert ">edge width: share of tasks<" in dot
    svg = render_lifecycle(COPY_TASK, "svg", overlay=o, engine="pure")
    assert isinstance(svg, str) and ">illegal</text>" in svg and ">1 task, 25%</text>" in svg


# -- command line ------------------------------------------------------------------------------


def test_cli_prints_mermaid_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagram"]) == 0
    assert capsys.readouterr().out == to_mermaid(COPY_TASK)
    assert main(["diagram", "--format", "dot", "--lifecycle", "copy-task-6.8"]) == 0
    assert capsys.readouterr().out == to_dot(COPY_TASK_6_8)


def test_cli_writes_files_by_suffix_and_all_formats(tmp_path: Path) -> None:
    assert main(["diagram", "-o", str(tmp_path / "c.svg"), "--engine", "pure"]) == 0
    assert (tmp_path / "c.svg").read_text() == render_lifecycle(COPY_TASK, "svg", engine="pure")
    assert main(["diagram", "--all", "-o", str(tmp_path / "all"), "-l", "copy-task"]) == 0
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == sorted(
        f"copy-task{f.suffix}" for f in FORMATS.values()
    )


def test_cli_png_to_a_pipe_but_not_to_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tasklife", "diagram", "--format", "png"],
        capture_output=True,
        check=True,
    ).stdout
    assert out == render_lifecycle(COPY_TASK, "png")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["diagram", "--format", "png"]) == 2
    assert "PNG is binary: give -o FILE.png" in capsys.readouterr().err


def test_cli_unusable_input_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["diagram", "--lifecycle", "nope"]) == 2
    assert capsys.readouterr().err.startswith("tasklife diagram: error: unknown lifecycle 'nope'")
    assert main(["diagram", "-o", str(tmp_path / "x.jpg")]) == 2
    assert "cannot tell the format" in capsys.readouterr().err
    assert main(["diagram", "--all"]) == 2
    assert "--all needs -o DIR" in capsys.readouterr().err


def _write_log(path: Path, bad_line: bool = False) -> Path:
    histories = {
        "t1": ["kAccepted", "kRunning", "kSuccess"],
        "t2": ["kAccepted", "kRunning", "kOnHold", "kRunning", "kWarning"],
        "t3": ["kAccepted", "kMissed"],
        "t4": ["Accepted", "Succeeded"],  # v2 names; a jump the table does not have
    }
    lines = [
        json.dumps({"taskId": task, "status": status, "atUsecs": 10 * i + n})
        for n, (task, statuses) in enumerate(histories.items())
        for i, status in enumerate(statuses)
    ]
    if bad_line:
        lines.insert(2, '{"taskId": "t9", "status": "kRunning", "atUsecs": "soon"}')
    path.write_text("\n".join(lines) + "\n")
    return path


def test_cli_log_overlay_counts_tasks_from_a_real_event_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = _write_log(tmp_path / "events.jsonl")
    assert main(["diagram", "--format", "dot", "--log", str(log)]) == 0
    dot = capsys.readouterr().out
    assert 'label="copy-task: 4 tasks from events.jsonl"' in dot
    assert 'kAccepted<BR/><FONT POINT-SIZE="10">4 tasks, 100%</FONT>' in dot
    start = next(ln for ln in dot.splitlines() if ln.startswith('  "kAccepted" -> "kRunning"'))
    assert "2 tasks, 50%" in start and "penwidth=3.0" in start
    jump = next(ln for ln in dot.splitlines() if ln.startswith('  "kAccepted" -> "kSuccess"'))
    assert 'color="#d50000"' in jump and "style=dashed" in jump and "1 task, 25%" in jump
    resume = next(ln for ln in dot.splitlines() if ln.startswith('  "kOnHold" -> "kRunning"'))
    assert "1 task, 25%" in resume
    out = tmp_path / "flow.png"
    assert main(["diagram", "--log", str(log), "-o", str(out), "--engine", "pure"]) == 0
    assert png_decoded_matches_header(out.read_bytes())


def test_cli_log_with_bad_lines_draws_the_rest_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = _write_log(tmp_path / "events.jsonl", bad_line=True)
    out = tmp_path / "flow.svg"
    assert main(["diagram", "--log", str(log), "-o", str(out), "--engine", "pure"]) == 1
    err = capsys.readouterr().err
    assert f"{log}:3: left out:" in err
    svg = out.read_text()
    assert "4 tasks from events.jsonl (1 line left out)" in svg
    assert main(["diagram", "--log", str(tmp_path / "missing.jsonl")]) == 2
    assert "missing.jsonl: cannot read" in capsys.readouterr().err


def test_cli_task_from_a_log_draws_its_path_with_times(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = _write_log(tmp_path / "events.jsonl")
    assert main(["diagram", "-f", "mermaid", "--log", str(log), "--task", "t2"]) == 0
    mermaid = capsys.readouterr().out
    assert mermaid.startswith("%% copy-task: task t2 in events.jsonl")
    assert "    kRunning --> kOnHold : hold - #2" in mermaid
    assert "    kOnHold --> kRunning : resume - #3" in mermaid
    assert "    kRunning : 20 us" in mermaid  # two visits of 10 us each
    assert "    class kWarning current" in mermaid
    assert main(["diagram", "-f", "dot", "--log", str(log), "--task", "t4"]) == 0
    strict = capsys.readouterr().out
    assert 'color="#d50000"' in next(
        ln for ln in strict.splitlines() if ln.startswith('  "kAccepted" -> "kSuccess"')
    )
    args = ["diagram", "-f", "dot", "--log", str(log), "--task", "t4", "--mode", "polling"]
    assert main(args) == 0
    polling = capsys.readouterr().out
    assert '"kAccepted" -> "kSuccess"' not in polling
    assert 'start<BR/><FONT POINT-SIZE="9">#1 gap</FONT>' in polling
    assert main(["diagram", "--log", str(log), "--task", "t9"]) == 2
    assert "no events of task 't9'" in capsys.readouterr().err
    assert main(["diagram", "--task", "t1"]) == 2
    assert "--task needs --log" in capsys.readouterr().err


def test_cli_flow_polling_mode_draws_gaps_not_illegal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = _write_log(tmp_path / "events.jsonl")
    assert main(["diagram", "-f", "dot", "--log", str(log), "--mode", "polling"]) == 0
    jump = next(
        ln
        for ln in capsys.readouterr().out.splitlines()
        if ln.startswith('  "kAccepted" -> "kSuccess"')
    )
    assert "style=dashed" in jump and 'color="#5c8bd6"' in jump and "1 task, 25%" in jump


@pytest.mark.parametrize(
    ("usecs", "text"),
    [(5, "5 us"), (2_000, "2 ms"), (59_999_999, "59.9 s"), (60 * SEC, "1 min"),
     (3_605 * SEC, "1 h"), (3_725 * SEC, "1 h 2 min"), (183 * 3600 * SEC, "7 d 15 h")],
)  # fmt: skip
def test_time_spent_reads_in_two_units_at_most(usecs: int, text: str) -> None:
    o = task_overlay([("kAccepted", 0), ("kRunning", usecs)])
    assert o.state_notes["kAccepted"] == text


def test_shares_never_round_to_all_or_nothing() -> None:
    flow = SimpleNamespace(
        tasks=1000,
        state_tasks={"kAccepted": 1000, "kRunning": 999, "kMissed": 1},
        edge_tasks={("kAccepted", "kRunning"): 999, ("kAccepted", "kMissed"): 1},
        illegal=frozenset(),
    )
    o = flow_overlay(flow)
    assert o.state_notes["kAccepted"] == "1000 tasks, 100%"
    assert o.state_notes["kRunning"] == "999 tasks, >99%"
    assert o.state_notes["kMissed"] == "1 task, <1%"
    assert o.state_notes["kSuccess"] == "0 tasks, 0%"


def test_overlays_take_the_lifecycle_by_name_or_file() -> None:
    """task_overlay and flow_overlay resolve lifecycle= like every other entry point."""
    o = task_overlay(["kRunning", "kFinalizing"], lifecycle="copy-task-6.8")
    assert o.state_roles["kFinalizing"] == "current"
    ci = Path(__file__).resolve().parents[2] / "examples" / "ci-job.toml"
    flow = SimpleNamespace(
        tasks=1,
        state_tasks={"queued": 1, "running": 1},
        edge_tasks={("queued", "running"): 1},
        illegal=frozenset(),
    )
    assert flow_overlay(flow, lifecycle=ci).edge_roles[("queued", "running")] == "taken"
