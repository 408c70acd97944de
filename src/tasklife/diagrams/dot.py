"""Graphviz DOT text: left to right like a timeline, an initial dot, final states as double
circles, states filled by class, edges labelled with triggers, a legend of the classes drawn.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Final

from tasklife.diagrams.overlay import Overlay
from tasklife.diagrams.plan import EDGE_STYLES, ILLEGAL, PALETTE, Edge, Node, one_line, plan
from tasklife.lifecycle import Lifecycle

__all__ = ["render", "to_dot"]

_FONT: Final = "Arial"


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _q_esc(text: str) -> str:
    """A quoted tooltip, on one line: Graphviz (both engines) reads a tooltip's backslashes
    twice, the second time expanding ``\\N``, ``\\G``, ``\\n``, so they are doubled for that
    before the quoting doubles them again (a label needs only the quoting)."""
    return _q(one_line(text).replace("\\", "\\\\"))


def _html(main: str, note: str, size: int = 10, pad: int = 0) -> str:
    """An HTML-like label: ``main``, then ``note`` smaller; ``pad`` keeps thick lines off it."""
    small = f'<BR/><FONT POINT-SIZE="{size}">{escape(note)}</FONT>' if note else ""
    if pad:
        cell = f'<TABLE BORDER="0" CELLBORDER="0" CELLPADDING="{pad}"><TR><TD>'
        return f"<{cell}{escape(main)}{small}</TD></TR></TABLE>>"
    return f"<{escape(main)}{small}>"


def _dot_node(n: Node) -> str:
    fill, stroke = PALETTE[n.klass]
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
        f"tooltip={_q_esc(n.tooltip)}]"
    )


def _dot_edge(e: Edge) -> str:
    colour, style, width = EDGE_STYLES[e.role]
    if e.weight is not None:
        width = round(1.0 + 4.0 * e.weight, 2)
    pad = round(width) if width >= 2 else 0
    label = ("illegal" if e.role == "illegal" else e.label) or "not in lifecycle"
    font = colour if e.role else "#263238"
    return (
        f'  {_q(e.src)} -> {_q(e.dst)} [label={_html(label, e.note, 9, pad)} color="{colour}" '
        f'fontcolor="{font}" style={style} penwidth={width}]'
    )


def _legend(nodes: Iterable[Node], overlay: Overlay | None, roles: set[str]) -> str:
    """An HTML-like table node: a swatch per state class drawn, then the overlay's marks."""
    klasses = {n.klass for n in nodes}
    rows = [
        _legend_row(f'BORDER="1" BGCOLOR="{fill}" COLOR="{stroke}"', klass)
        for klass, (fill, stroke) in PALETTE.items()
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
        ("illegal", f'BORDER="1" BGCOLOR="{ILLEGAL}" COLOR="{ILLEGAL}"', "illegal transition"),
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
    nodes, edges = plan(lifecycle, overlay)
    title = one_line(lifecycle.name + (f": {overlay.title}" if overlay and overlay.title else ""))
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


def render(lifecycle: Lifecycle, overlay: Overlay | None, engine: str) -> str:
    """The DOT diagram format's renderer (no layout engine needed)."""
    return to_dot(lifecycle, overlay)
