"""Lifecycle diagrams: Mermaid and DOT text from the lifecycle table, SVG and PNG via Graphviz.

Theory of operation
-------------------
Everything is drawn from a :class:`~tasklife.lifecycle.Lifecycle` value, never from a kept copy
of the graph. :func:`~tasklife.diagrams.plan.plan` turns the table into nodes and edges,
optionally marked by an :class:`~tasklife.diagrams.overlay.Overlay` (what one task, or many,
did); each format of the registry (:mod:`~tasklife.diagrams.formats`) writes the plan:

* :mod:`~tasklife.diagrams.mermaid`: Mermaid ``stateDiagram-v2`` text (renders on GitHub);
* :mod:`~tasklife.diagrams.dot`: Graphviz DOT text;
* :mod:`~tasklife.diagrams.graphviz`: SVG and PNG, the DOT laid out by graphviz-pure or the
  system ``dot``.

Text comes out in table order, byte-identical on every run. :mod:`~tasklife.diagrams.flow`
counts what many tasks of an event log did, for :func:`~tasklife.diagrams.overlay.flow_overlay`.

>>> print(render_lifecycle("copy-task", "mermaid").splitlines()[1])
stateDiagram-v2
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Literal, overload

from tasklife.diagrams.formats import FORMATS, format_for, format_named
from tasklife.diagrams.overlay import Overlay
from tasklife.errors import DiagramError
from tasklife.lifecycle import LifecycleSpec, builtin_lifecycles, get_lifecycle

__all__ = ["FORMATS", "format_for", "render_lifecycle", "write_all", "write_diagram"]


@overload
def render_lifecycle(
    lifecycle: LifecycleSpec,
    format: Literal["mermaid", "dot", "svg"] = ...,
    *,
    overlay: Overlay | None = ...,
    engine: str = ...,
) -> str: ...
@overload
def render_lifecycle(
    lifecycle: LifecycleSpec,
    format: Literal["png"],
    *,
    overlay: Overlay | None = ...,
    engine: str = ...,
) -> bytes: ...
@overload
def render_lifecycle(
    lifecycle: LifecycleSpec,
    format: str,
    *,
    overlay: Overlay | None = ...,
    engine: str = ...,
) -> str | bytes: ...
def render_lifecycle(
    lifecycle: LifecycleSpec,
    format: str = "mermaid",
    *,
    overlay: Overlay | None = None,
    engine: str = "auto",
) -> str | bytes:
    """Draw a lifecycle (a value, built-in name or file) in a format of
    :data:`~tasklife.diagrams.formats.FORMATS`: text for mermaid/dot/svg, bytes for png.
    ``engine`` picks the Graphviz layout engine for SVG/PNG: ``pure``, ``system`` or ``auto``.

    >>> svg = render_lifecycle("copy-task", "svg", engine="pure")
    >>> svg.startswith("<?xml") and "kAccepted" in svg
    True
    """
    fmt = format_named(format)
    return fmt.render(get_lifecycle(lifecycle), overlay, engine)


def write_diagram(
    path: str | os.PathLike[str],
    *,
    lifecycle: LifecycleSpec = "copy-task",
    format: str | None = None,
    overlay: Overlay | None = None,
    engine: str = "auto",
) -> Path:
    """Render to ``path`` (format from the suffix unless given); returns the path.

    >>> import tempfile, pathlib
    >>> out = write_diagram(pathlib.Path(tempfile.mkdtemp()) / "copy-task.dot")
    >>> out.read_text().startswith('digraph "copy-task"')
    True
    """
    out = Path(path)
    data = render_lifecycle(lifecycle, format or format_for(out), overlay=overlay, engine=engine)
    part = out.with_name(f".{out.name}.part")  # a failed write leaves the old file whole
    try:
        part.write_bytes(data.encode() if isinstance(data, str) else data)
        part.replace(out)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise DiagramError(f"{out}: cannot write: {exc.strerror or exc}") from None
    return out


def write_all(
    directory: str | os.PathLike[str],
    lifecycles: Iterable[LifecycleSpec] | None = None,
    *,
    engine: str = "auto",
) -> list[Path]:
    """Write every format of each lifecycle (default: the built-ins) as ``<name>.<suffix>``.

    This is what regenerates the committed ``diagrams/``: ``tasklife diagram --all -o diagrams``.

    >>> import tempfile
    >>> [p.name for p in write_all(tempfile.mkdtemp(), ["copy-task"], engine="pure")]
    ['copy-task.mmd', 'copy-task.dot', 'copy-task.svg', 'copy-task.png']
    """
    folder = Path(directory)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # an existing file, a file on the way, no permission
        raise DiagramError(
            f"{folder}: cannot write diagrams there: {exc.strerror or exc}"
        ) from None
    written = []
    for spec in builtin_lifecycles() if lifecycles is None else lifecycles:
        lc = get_lifecycle(spec)
        for fmt in FORMATS.values():
            out = folder / f"{lc.name}{fmt.suffix}"
            written.append(write_diagram(out, lifecycle=lc, format=fmt.name, engine=engine))
    return written
