"""The registry of diagram formats: each a name, the file suffixes it is written with, and
its renderer ``render(lifecycle, overlay, engine) -> str | bytes``.

A new format is one module with a renderer and one :func:`register` call here. A format's
module is imported when it is first drawn (``import tasklife`` stays light).

>>> format_for("diagrams/copy-task.mmd"), [f.suffix for f in FORMATS.values()]
('mermaid', ['.mmd', '.dot', '.svg', '.png'])
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from tasklife.errors import DiagramError

if TYPE_CHECKING:
    from tasklife.diagrams.overlay import Overlay
    from tasklife.lifecycle import Lifecycle

__all__ = ["FORMATS", "DiagramFormat", "Renderer", "format_for", "format_named", "register"]

Renderer = Callable[["Lifecycle", "Overlay | None", str], str | bytes]
"""``render(lifecycle, overlay, engine)``: the diagram as text, or bytes for a binary format;
``engine`` names the Graphviz layout engine for the formats that need one."""


@attrs.frozen
class DiagramFormat:
    """One diagram format (see the module docstring)."""

    name: str
    suffixes: tuple[str, ...]
    """The file suffixes that ask for it; the first is the one it is written with."""
    render: Renderer
    binary: bool = False
    """Whether it is bytes (not for a terminal), not text."""

    @property
    def suffix(self) -> str:
        return self.suffixes[0]


FORMATS: dict[str, DiagramFormat] = {}
"""The registered formats by name, in the order ``write_all`` writes them."""


def register(fmt: DiagramFormat) -> DiagramFormat:
    """Add ``fmt`` to :data:`FORMATS`."""
    FORMATS[fmt.name] = fmt
    return fmt


def format_named(name: str) -> DiagramFormat:
    """The registered format called ``name``."""
    if name not in FORMATS:
        raise DiagramError(f"format: {name!r} is not one of {', '.join(FORMATS)}")
    return FORMATS[name]


def format_for(path: str | os.PathLike[str]) -> str:
    """The format a file name asks for by its suffix."""
    suffix = Path(path).suffix.lower()
    for fmt in FORMATS.values():
        if suffix in fmt.suffixes:
            return fmt.name
    known = ", ".join(sorted(s for f in FORMATS.values() for s in f.suffixes))
    raise DiagramError(f"{os.fspath(path)}: cannot tell the format from the suffix ({known})")


def _mermaid(lifecycle: Lifecycle, overlay: Overlay | None, engine: str) -> str:
    from tasklife.diagrams import mermaid

    return mermaid.render(lifecycle, overlay, engine)


def _dot(lifecycle: Lifecycle, overlay: Overlay | None, engine: str) -> str:
    from tasklife.diagrams import dot

    return dot.render(lifecycle, overlay, engine)


def _svg(lifecycle: Lifecycle, overlay: Overlay | None, engine: str) -> str:
    from tasklife.diagrams import graphviz

    return graphviz.render_svg(lifecycle, overlay, graphviz.checked_engine(engine))


def _png(lifecycle: Lifecycle, overlay: Overlay | None, engine: str) -> bytes:
    from tasklife.diagrams import graphviz

    return graphviz.render_png(lifecycle, overlay, graphviz.checked_engine(engine))


register(DiagramFormat("mermaid", (".mmd", ".mermaid"), _mermaid))
register(DiagramFormat("dot", (".dot", ".gv"), _dot))
register(DiagramFormat("svg", (".svg",), _svg))
register(DiagramFormat("png", (".png",), _png, binary=True))
