"""SVG and PNG: the DOT text laid out by a Graphviz executable.

``graphviz-pure`` (``pip install 'tasklife[graphviz]'``; a self-contained port that writes the
same bytes on every platform, so the committed diagrams are checked byte for byte) is
preferred; the system ``dot`` is used when asked for or when it is the only one there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
from typing import Final, Literal, cast

from tasklife.diagrams.dot import to_dot
from tasklife.diagrams.overlay import Overlay
from tasklife.errors import DiagramError, GraphvizNotFound
from tasklife.lifecycle import Lifecycle

__all__ = [
    "ENGINES",
    "PNG_DPI",
    "Engine",
    "checked_engine",
    "find_engine",
    "render_png",
    "render_svg",
]

Engine = Literal["auto", "pure", "system"]
ENGINES: Final = ("auto", "pure", "system")
_EXECUTABLES: Final = {"pure": "graphviz-pure", "system": "dot"}
PNG_DPI: Final = 110
"""PNG resolution: the copy-task diagram comes out about 1350 px wide, sharp at README width."""
LAYOUT_TIMEOUT_SECONDS: Final = 120
"""A layout of a lifecycle takes well under a second; a hung executable is given up on."""


def _search_path() -> str:
    """Where executables are looked up: PATH, then this Python's scripts directory."""
    return os.pathsep.join(
        p for p in (os.environ.get("PATH", ""), sysconfig.get_path("scripts")) if p
    )


def checked_engine(engine: str) -> Engine:
    """``engine`` when it is one of :data:`ENGINES`, else :class:`DiagramError`."""
    if engine not in ENGINES:
        raise DiagramError(f"engine: {engine!r} is not one of {', '.join(ENGINES)}")
    return cast(Engine, engine)


def find_engine(engine: Engine = "auto") -> str:
    """The Graphviz executable for ``engine``: ``pure`` (graphviz-pure), ``system`` (dot), or
    ``auto`` (graphviz-pure, else dot). Raises :class:`GraphvizNotFound` when missing.

    >>> find_engine("pure").endswith("graphviz-pure")
    True
    """
    checked_engine(engine)
    searched = _search_path()
    wanted = [
        _EXECUTABLES[kind] for kind in (("pure", "system") if engine == "auto" else (engine,))
    ]
    for executable in wanted:
        exe = shutil.which(executable, path=searched)
        if exe:
            return exe
    raise GraphvizNotFound(engine, wanted, searched)


def _layout(dot: str, fmt: str, engine: Engine) -> bytes:
    exe = find_engine(engine)
    args = [exe, "-Kdot", f"-T{fmt}", *([f"-Gdpi={PNG_DPI}"] if fmt == "png" else [])]
    try:
        proc = subprocess.run(
            args, input=dot.encode(), capture_output=True, timeout=LAYOUT_TIMEOUT_SECONDS
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DiagramError(f"{exe} could not lay out the diagram as {fmt}: {exc}") from None
    if proc.returncode != 0 or not proc.stdout:
        why = proc.stderr.decode(errors="replace").strip() or f"exit status {proc.returncode}"
        raise DiagramError(f"{exe} could not lay out the diagram as {fmt}: {why}")
    return proc.stdout


def render_svg(lifecycle: Lifecycle, overlay: Overlay | None, engine: Engine) -> str:
    """The SVG diagram format's renderer."""
    return _layout(to_dot(lifecycle, overlay), "svg", engine).decode()


def render_png(lifecycle: Lifecycle, overlay: Overlay | None, engine: Engine) -> bytes:
    """The PNG diagram format's renderer."""
    return _layout(to_dot(lifecycle, overlay), "png", engine)
