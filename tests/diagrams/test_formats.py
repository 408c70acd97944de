"""The diagram-format registry: a new format is one renderer and one registration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tasklife.cli import main
from tasklife.diagrams import FORMATS, render_lifecycle, write_all, write_diagram
from tasklife.diagrams.formats import DiagramFormat, format_for
from tasklife.errors import DiagramError


def _render_json(lifecycle: Any, overlay: Any, engine: str) -> str:
    return json.dumps(lifecycle.to_dictionary(), sort_keys=True)


def test_a_registered_format_is_drawn_by_every_entry_point(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(FORMATS, "json", DiagramFormat("json", (".json",), _render_json))
    assert json.loads(render_lifecycle("copy-task", "json"))["initial"] == "kAccepted"
    assert format_for("x.json") == "json"
    assert write_diagram(tmp_path / "a.json").read_text().startswith('{"description"')
    assert (tmp_path / "copy-task.json").name in {
        p.name for p in write_all(tmp_path, ["copy-task"], engine="pure")
    }
    assert main(["diagram", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "copy-task"


def test_an_unregistered_format_is_a_typed_error() -> None:
    with pytest.raises(DiagramError, match="'json' is not one of mermaid, dot, svg, png"):
        render_lifecycle("copy-task", "json")
