"""Lifecycle diagrams: Mermaid and DOT text from the lifecycle table, SVG and PNG via Graphviz.

Theory of operation
-------------------
Everything is drawn from a :class:`~tasklife.lifecycle.Lifecycle` value, never from a kept copy
of the graph. :func:`_plan` turns the table into nodes (one per state, classed by
``state(name).klass``) and edges (one per ``(source, dest)`` pair, the triggers that share a
pair merged into one label), optionally styled by an :class:`~tasklife.overlay.Overlay`. Two
emitters write the plan as text, in table order, so the text is byte-identical on every run:

* Mermaid ``stateDiagram-v2`` (renders on GitHub): ``[*] --> initial``, ``final --> [*]``,
  one ``classDef`` per state class;
* DOT: left to right like a timeline, an initial dot, final states as double circles, states
  filled by class, edges labelled with triggers, a legend of the classes drawn.

SVG and PNG come from laying the DOT out with a Graphviz executable (:func:`find_engine`):
``graphviz-pure`` (``pip install 'tasklife[graphviz]'``; a self-contained port that writes the
same bytes on every platform, so the committed diagrams are checked byte for byte) is
preferred, the system ``dot`` is used when asked for or when it is the only one there.

>>> print(render_lifecycle("copy-task", "mermaid").splitlines()[1])
stateDiagram-v2
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sysconfig
from collections.abc import Iterable
from html import escape
from pathlib import Path
from typing import Final, Literal, overload

import attrs

from tasklife.errors import DiagramError, GraphvizNotFound
from tasklife.lifecycle import Lifecycle, LifecycleSpec, builtin_lifecycles, get_lifecycle
from tasklife.overlay import EdgeRole, Overlay, StateRole

__all__ = [
    "FORMATS",
    "PNG_DPI",
    "Engine",
    "Format",
    "find_engine",
    "format_for",
    "render_lifecycle",
    "to_dot",
    "to_mermaid",
    "write_all",
    "write_diagram",
]

Format = Literal["mermaid", "dot", "svg", "png"]
Engine = Literal["auto", "pure", "system"]
FORMATS: Final[dict[str, str]] = {"mermaid": ".mmd", "dot": ".dot", "svg": ".svg", "png": ".png"}
"""Each format and the file suffix it is written with."""
_SUFFIXES: Final = {**{v: k for k, v in FORMATS.items()}, ".mermaid": "mermaid", ".gv": "dot"}
_EXECUTABLES: Final = {"pure": "graphviz-pure", "system": "dot"}
PNG_DPI: Final = 110
"""PNG resolution: the copy-task diagram comes out about 1350 px wide, sharp at README width."""

# (fill, stroke) per state class (every one of PHASES and OUTCOMES); the order is the legend's.
_PALETTE: Final = {
    "queued": ("#eceff1", "#607d8b"),
    "active": ("#d3e6fa", "#1e6fc2"),
    "held": ("#fff1bf", "#a67c00"),
    "canceling": ("#ecdff7", "#7b3fa6"),
    "success": ("#d2efd2", "#2e7d32"),
    "warning": ("#ffe1b3", "#d96800"),
    "failure": ("#f9d0d0", "#c62828"),
    "missed": ("#f7d6e8", "#ad1457"),
    "canceled": ("#e2e2e2", "#555555"),
    "unknown": ("#ffffff", "#9e9e9e"),
}
_ILLEGAL: Final = "#d50000"
_EDGE: Final = {  # role -> (colour, style, default width)
    None: ("#455a64", "solid", 1.2),
    "taken": ("#0d47a1", "solid", 2.6),
    "inferred": ("#5c8bd6", "dashed", 1.6),
    "untaken": ("#c5cbd0", "solid", 1.0),
    "illegal": (_ILLEGAL, "dashed", 2.0),
}
_FONT: Final = "Arial"


@attrs.frozen
class _Node:
    name: str
    klass: str
    final: bool
    tooltip: str
    note: str = ""
    role: StateRole | None = None


@attrs.frozen
class _Edge:
    src: str
    dst: str
    label: str
    note: str = ""
    role: EdgeRole | None = None
    weight: float | None = None


def _plan(lifecycle: Lifecycle, overlay: Overlay | None) -> tuple[list[_Node], list[_Edge]]:
    """Nodes in state order and edges in transition order, with the overlay's marks."""
    ov = overlay or Overlay("")
    nodes = [
        _Node(
            s.name,
            s.klass,
            s.is_final,
            s.description or s.name,
            ov.state_notes.get(s.name, ""),
            ov.state_roles.get(s.name),
        )
        for s in lifecycle.states
    ]
    triggers: dict[tuple[str, str], list[str]] = {}
    for t in lifecycle.transitions:
        for src in t.source:
            triggers.setdefault((src, t.dest), []).append(t.trigger)
    pairs = list(triggers) + [e for e in ov.edge_roles if e not in triggers]
    edges = [
        _Edge(
            src,
            dst,
            " / ".join(triggers.get((src, dst), ())),
            ov.edge_notes.get((src, dst), ""),
            ov.edge_roles.get((src, dst)),
            ov.edge_weights.get((src, dst)),
        )
        for src, dst in pairs
    ]
    for name in dict.fromkeys(n for e in edges for n in (e.src, e.dst)):
        if not lifecycle.has_state(name):
            nodes.append(_Node(name, "unknown", False, f"not a state of {lifecycle.name}"))
    return nodes, edges


# -- Mermaid ------------------------------------------------------------------------------------

_MERMAID_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def to_mermaid(lifecycle: Lifecycle, overlay: Overlay | None = None) -> str:
    """The lifecycle as a Mermaid ``stateDiagram-v2`` (deterministic text).

    >>> from tasklife.lifecycle import COPY_TASK
    >>> "[*] --> kAccepted" in to_mermaid(COPY_TASK)
    True
    """
    nodes, edges = _plan(lifecycle, overlay)
    ids = {n.name: n.name if _MERMAID_ID.match(n.name) else f"s{i}" for i, n in enumerate(nodes)}
    title = lifecycle.name + (f": {overlay.title}" if overlay and overlay.title else "")
    out = [f"%% {title} (generated by tasklife from the lifecycle table)", "stateDiagram-v2"]
    out.append("    direction LR")
    for klass in dict.fromkeys(n.klass for n in nodes):
        fill, stroke = _PALETTE[klass]
        out.append(f"    classDef {klass} fill:{fill},stroke:{stroke},color:#000")
    if overlay is not None:
        out.append("    classDef current stroke:#000,stroke-width:4px")
        out.append("    classDef unreached fill:#fafafa,stroke:#c8c8c8,color:#9e9e9e")
    for n in nodes:
        if ids[n.name] != n.name:
            out.append(f'    state "{n.name}" as {ids[n.name]}')
        if n.note:
            out.append(f"    {ids[n.name]} : {n.note}")
    out.append(f"    [*] --> {ids[lifecycle.initial]}")
    for e in edges:
        label = ("illegal" if e.role == "illegal" else e.label) or "not in lifecycle"
        label += f" - {e.note}" if e.note else ""
        out.append(f"    {ids[e.src]} --> {ids[e.dst]} : {label}")
    out += [f"    {ids[n.name]} --> [*]" for n in nodes if n.final]
    for n in nodes:
        out.append(f"    class {ids[n.name]} {n.klass}")
        if n.role in ("current", "unreached"):
            out.append(f"    class {ids[n.name]} {n.role}")
    return "\n".join(out) + "\n"


# -- DOT ----------------------------------------------------------------------------------------


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _html(main: str, note: str, size: int = 10, pad: int = 0) -> str:
    """An HTML-like label: ``main``, then ``note`` smaller; ``pad`` keeps thick lines off it."""
    small = f'<BR/><FONT POINT-SIZE="{size}">{escape(note)}</FONT>' if note else ""
    if pad:
        cell = f'<TABLE BORDER="0" CELLBORDER="0" CELLPADDING="{pad}"><TR><TD>'
        return f"<{cell}{escape(main)}{small}</TD></TR></TABLE>>"
    return f"<{escape(main)}{small}>"


def _dot_node(n: _Node) -> str:
    fill, stroke = _PALETTE[n.klass]
    font, width, style = "#000000", 1.4, "filled" if n.final else "rounded,filled"
    if n.role == "unreached":
        fill, stroke, font = "#fafafa", "#c8c8c8", "#9e9e9e"
    elif n.role == "current":
        stroke, width = "#000000", 3.2
    elif n.role == "visited":
        width = 2.4
    elif n.role == "inferred":
        style += ",dashed"
    shape = "doublecircle margin=0.04" if n.final else "box"
    return (
        f"  {_q(n.name)} [label={_html(n.name, n.note)} shape={shape} style={_q(style)} "
        f'fillcolor="{fill}" color="{stroke}" fontcolor="{font}" penwidth={width} '
        f"tooltip={_q(n.tooltip)}]"
    )


def _dot_edge(e: _Edge) -> str:
    colour, style, width = _EDGE[e.role]
    if e.weight is not None:
        width = round(1.0 + 4.0 * e.weight, 2)
    pad = round(width) if width >= 2 else 0
    label = ("illegal" if e.role == "illegal" else e.label) or "not in lifecycle"
    font = colour if e.role else "#263238"
    return (
        f'  {_q(e.src)} -> {_q(e.dst)} [label={_html(label, e.note, 9, pad)} color="{colour}" '
        f'fontcolor="{font}" style={style} penwidth={width}]'
    )


def _legend(nodes: Iterable[_Node], overlay: Overlay | None, roles: set[str]) -> str:
    """An HTML-like table node: a swatch per state class drawn, then the overlay's marks."""
    klasses = {n.klass for n in nodes}
    rows = [
        _legend_row(f'BORDER="1" BGCOLOR="{fill}" COLOR="{stroke}"', klass)
        for klass, (fill, stroke) in _PALETTE.items()
        if klass in klasses
    ]
    marks = [
        ("current", 'COLOR="#000000" STYLE="rounded" BORDER="2"', "current state"),
        ("taken", 'BORDER="1" BGCOLOR="#0d47a1" COLOR="#0d47a1"', "transition taken"),
        (
            "inferred",
            'BORDER="1" BGCOLOR="#5c8bd6" COLOR="#5c8bd6" STYLE="dashed"',
            "passed between polls",
        ),
        ("untaken", 'BORDER="1" BGCOLOR="#fafafa" COLOR="#c8c8c8"', "never reached / taken"),
        ("illegal", f'BORDER="1" BGCOLOR="{_ILLEGAL}" COLOR="{_ILLEGAL}"', "illegal transition"),
    ]
    rows += [_legend_row(cell, text) for role, cell, text in marks if role in roles]
    if overlay and overlay.edge_weights:
        rows.append(_legend_row('BORDER="0"', "edge width: share of tasks"))
    head = (
        f'<TR><TD></TD><TD ALIGN="LEFT"><B>{"legend" if overlay else "state class"}</B></TD></TR>'
    )
    table = '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="2" CELLPADDING="1">'
    return f"  legend [shape=plain fontsize=11 label=<{table}{head}{''.join(rows)}</TABLE>>]"


def _legend_row(swatch: str, text: str) -> str:
    return (
        f'<TR><TD {swatch} WIDTH="18" HEIGHT="14" FIXEDSIZE="TRUE"> </TD>'
        f'<TD ALIGN="LEFT">{text}</TD></TR>'
    )


def to_dot(lifecycle: Lifecycle, overlay: Overlay | None = None) -> str:
    """The lifecycle as Graphviz DOT text (deterministic; lay it out with ``dot -Kdot``).

    >>> from tasklife.lifecycle import COPY_TASK
    >>> '"kSuccess" [label=<kSuccess> shape=doublecircle' in to_dot(COPY_TASK)
    True
    """
    nodes, edges = _plan(lifecycle, overlay)
    title = lifecycle.name + (f": {overlay.title}" if overlay and overlay.title else "")
    roles = {str(n.role) for n in nodes if n.role} | {str(e.role) for e in edges if e.role}
    out = [
        f"digraph {_q(lifecycle.name)} {{",
        f"  graph [rankdir=LR fontname={_q(_FONT)} fontsize=14 label={_q(title)} labelloc=t "
        "labeljust=l nodesep=0.3 ranksep=0.55 pad=0.15 bgcolor=white]",
        f'  node [fontname={_q(_FONT)} fontsize=13 margin="0.12,0.06"]',
        f"  edge [fontname={_q(_FONT)} fontsize=11 arrowsize=0.7]",
        '  "[*]" [label="" shape=circle style=filled fillcolor=black width=0.16 fixedsize=true]',
        *(_dot_node(n) for n in nodes),
        f'  "[*]" -> {_q(lifecycle.initial)} [color="#455a64"]',
        *(_dot_edge(e) for e in edges),
        "  {rank=sink " + " ".join(_q(n.name) for n in nodes if n.final) + "}",
        _legend(nodes, overlay, roles),
        "}",
    ]
    return "\n".join(out) + "\n"


# -- layout with Graphviz ------------------------------------------------------------------------


def _search_path() -> str:
    """Where executables are looked up: PATH, then this Python's scripts directory."""
    return os.pathsep.join(
        p for p in (os.environ.get("PATH", ""), sysconfig.get_path("scripts")) if p
    )


def find_engine(engine: Engine = "auto") -> str:
    """The Graphviz executable for ``engine``: ``pure`` (graphviz-pure), ``system`` (dot), or
    ``auto`` (graphviz-pure, else dot). Raises :class:`GraphvizNotFound` when missing.

    >>> find_engine("pure").endswith("graphviz-pure")
    True
    """
    if engine not in ("auto", "pure", "system"):
        raise DiagramError(f"engine: {engine!r} is not one of auto, pure, system")
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
        proc = subprocess.run(args, input=dot.encode(), capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DiagramError(f"{exe} could not lay out the diagram as {fmt}: {exc}") from None
    if proc.returncode != 0 or not proc.stdout:
        why = proc.stderr.decode(errors="replace").strip() or f"exit status {proc.returncode}"
        raise DiagramError(f"{exe} could not lay out the diagram as {fmt}: {why}")
    return proc.stdout


# -- public API ---------------------------------------------------------------------------------


@overload
def render_lifecycle(
    lifecycle: LifecycleSpec,
    format: Literal["mermaid", "dot", "svg"] = ...,
    *,
    overlay: Overlay | None = ...,
    engine: Engine = ...,
) -> str: ...
@overload
def render_lifecycle(
    lifecycle: LifecycleSpec,
    format: Literal["png"],
    *,
    overlay: Overlay | None = ...,
    engine: Engine = ...,
) -> bytes: ...
@overload
def render_lifecycle(
    lifecycle: LifecycleSpec,
    format: Format,
    *,
    overlay: Overlay | None = ...,
    engine: Engine = ...,
) -> str | bytes: ...
def render_lifecycle(
    lifecycle: LifecycleSpec,
    format: Format = "mermaid",
    *,
    overlay: Overlay | None = None,
    engine: Engine = "auto",
) -> str | bytes:
    """Draw a lifecycle (a value, built-in name or file): text for mermaid/dot/svg, bytes for png.

    >>> svg = render_lifecycle("copy-task", "svg", engine="pure")
    >>> svg.startswith("<?xml") and "kAccepted" in svg
    True
    """
    lc = get_lifecycle(lifecycle)
    if format == "mermaid":
        return to_mermaid(lc, overlay)
    if format == "dot":
        return to_dot(lc, overlay)
    if format == "svg":
        return _layout(to_dot(lc, overlay), "svg", engine).decode()
    if format == "png":
        return _layout(to_dot(lc, overlay), "png", engine)
    raise DiagramError(f"format: {format!r} is not one of {', '.join(FORMATS)}")


def format_for(path: str | os.PathLike[str]) -> Format:
    """The format a file name asks for by its suffix.

    >>> format_for("diagrams/copy-task.mmd")
    'mermaid'
    """
    fmt = _SUFFIXES.get(Path(path).suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(_SUFFIXES))
        raise DiagramError(f"{os.fspath(path)}: cannot tell the format from the suffix ({known})")
    return fmt  # type: ignore[return-value]


def write_diagram(
    path: str | os.PathLike[str],
    *,
    lifecycle: LifecycleSpec = "copy-task",
    format: Format | None = None,
    overlay: Overlay | None = None,
    engine: Engine = "auto",
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
    lifecycles: Iterable[str | os.PathLike[str] | Lifecycle] | None = None,
    *,
    engine: Engine = "auto",
) -> list[Path]:
    """Write every format of each lifecycle (default: the built-ins) as ``<name>.<suffix>``.

    This is what regenerates the committed ``diagrams/``: ``tasklife diagram --all -o diagrams``.
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for spec in builtin_lifecycles() if lifecycles is None else lifecycles:
        lc = get_lifecycle(spec)
        for fmt, suffix in FORMATS.items():
            written.append(
                write_diagram(
                    folder / f"{lc.name}{suffix}",
                    lifecycle=lc,
                    format=fmt,  # type: ignore[arg-type]
                    engine=engine,
                )
            )
    return written
