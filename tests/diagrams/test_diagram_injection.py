"""Text from the input cannot inject into a diagram (item 11): a task id, file name or
unknown status holding a newline stays on its line in Mermaid, and a backslash in a tooltip or
title is shown as written by both Graphviz engines (which expand ``\\N`` and ``\\G`` there)."""

from __future__ import annotations

import re

import pytest

from tasklife import COPY_TASK, Lifecycle
from tasklife.diagrams.dot import to_dot
from tasklife.diagrams.graphviz import render_svg
from tasklife.diagrams.mermaid import to_mermaid
from tasklife.diagrams.overlay import Overlay

INJECT = "\n%%{init: {'theme': 'dark'}}%%\nclick kRunning href \"javascript:alert(1)\""


def test_mermaid_keeps_input_text_on_its_own_line() -> None:
    overlay = Overlay(
        f"task t1{INJECT}",
        {"kRunning": "current"},
        {"kRunning": f"note{INJECT}"},
        {("kRunning", f"kBogus{INJECT}"): "illegal"},
        {("kRunning", f"kBogus{INJECT}"): f"seen{INJECT}"},
    )
    text = to_mermaid(COPY_TASK, overlay)
    lines = text.splitlines()
    assert not any(line.lstrip().startswith(("%%{", "click")) for line in lines)
    assert lines[0].startswith("%% copy-task: task t1\\n%%{init")
    assert (
        len(lines)
        == len(to_mermaid(COPY_TASK, Overlay("x", {"kRunning": "current"})).splitlines()) + 5
    )
    assert 'state "kBogus\\n%%{init: {' in text and "#quot;javascript" in text


@pytest.mark.parametrize("engine", ["pure", "system"])
def test_backslashes_in_tooltips_and_titles_are_shown_as_written(engine: str) -> None:
    data = COPY_TASK.to_dictionary()
    data["states"]["kRunning"]["description"] = r"copies C:\Node\Go \N \G \n end"
    lc = Lifecycle.from_dictionary(data)
    svg = render_svg(lc, Overlay(r"task a\Gb"), engine)  # type: ignore[arg-type]
    tooltips = re.findall(r'xlink:title="(copies[^"]*)"', svg)
    assert tooltips == [r"copies C:\Node\Go \N \G \n end"]
    assert r"task a\Gb" in svg
    assert r"\\N" in to_dot(lc)  # DOT text: escaped once for escString, once for quoting
