"""The plan every diagram is drawn from: nodes and edges read off the lifecycle table, with
an overlay's marks, and the colours of state classes and edge roles.

:func:`plan` gives one node per state, classed by ``state(name).klass``, and one edge per
``(source, dest)`` pair, the triggers that share a pair merged into one label, in table
order, so every format writes the same text on every run.

>>> from tasklife.lifecycle import COPY_TASK
>>> nodes, edges = plan(COPY_TASK, None)
>>> nodes[0].name, edges[0].label
('kAccepted', 'start')
"""

from __future__ import annotations

import unicodedata
from typing import Final

import attrs

from tasklife.diagrams.overlay import EdgeRole, Overlay, StateRole
from tasklife.lifecycle import Lifecycle

__all__ = ["EDGE_STYLES", "ILLEGAL", "PALETTE", "Edge", "Node", "one_line", "plan"]

_BREAKING: Final = frozenset({"Cc", "Cf", "Zl", "Zp"})
"""Unicode categories a diagram never writes raw: controls (a newline ends a Mermaid
statement, so a task id or file name holding one could inject a line such as
``%%{init: ...}%%``), formats (bidi overrides) and line/paragraph separators."""


def one_line(text: str) -> str:
    """``text`` with every control, format or line-breaking character written as its escape
    (``\\n``, ``\\x1b``): one line of a diagram, whatever the input held.

    >>> one_line("t1\\n%%{init: {}}%%")
    't1\\\\n%%{init: {}}%%'
    """
    if text.isascii() and text.isprintable():
        return text
    return "".join(repr(c)[1:-1] if unicodedata.category(c) in _BREAKING else c for c in text)


# (fill, stroke) per state class (every one of PHASES and OUTCOMES); the order is the legend's.
PALETTE: Final = {
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
ILLEGAL: Final = "#d50000"
EDGE_STYLES: Final = {  # role -> (colour, style, default width)
    None: ("#455a64", "solid", 1.2),
    "taken": ("#0d47a1", "solid", 2.6),
    "inferred": ("#5c8bd6", "dashed", 1.6),
    "untaken": ("#c5cbd0", "solid", 1.0),
    "illegal": (ILLEGAL, "dashed", 2.0),
}


@attrs.frozen
class Node:
    """A state to draw (or a name an overlay speaks of that is no state: class ``unknown``)."""

    name: str
    klass: str
    final: bool
    tooltip: str
    note: str = ""
    role: StateRole | None = None


@attrs.frozen
class Edge:
    """A ``(source, dest)`` pair to draw, labelled with its triggers."""

    src: str
    dst: str
    label: str
    note: str = ""
    role: EdgeRole | None = None
    weight: float | None = None


def plan(lifecycle: Lifecycle, overlay: Overlay | None) -> tuple[list[Node], list[Edge]]:
    """Nodes in state order and edges in transition order, with the overlay's marks."""
    ov = overlay or Overlay("")
    nodes = [
        Node(
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
        Edge(
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
            nodes.append(Node(name, "unknown", False, f"not a state of {lifecycle.name}"))
    return nodes, edges
