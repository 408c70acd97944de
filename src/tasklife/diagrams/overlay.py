"""Overlays: what one task, or many, really did, drawn over the lifecycle diagram.

Theory of operation
-------------------
An :class:`Overlay` is plain data keyed by the lifecycle's own state names and ``(source,
dest)`` edges: a role and a note for each state and edge it speaks about, and a title. The
formats of :mod:`tasklife.diagrams` draw the lifecycle table and then style what the overlay
names; an edge the overlay names that is not in the table is drawn too (illegal, in red).

* :func:`task_overlay` reads one task's journal (``JournalEntry`` list) or status history
  (statuses, or ``(status, at_usecs)`` pairs, in any vocabulary of the lifecycle): the path
  taken is highlighted, the last state is the current one, and each visited state is annotated
  with the time spent there. A jump between polls that the lifecycle allows in several steps
  is drawn along its shortest path as *inferred*; a jump it cannot make is *illegal*.
* :func:`flow_overlay` reads the aggregate of many tasks (an
  :class:`~tasklife.diagrams.flow.ObservedFlow`): each state with how many tasks reached it,
  each edge with how many tasks took it and their share of all tasks, illegal transitions in
  red.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from itertools import pairwise
from typing import Literal, Protocol

import attrs

from tasklife.errors import InvalidRecord
from tasklife.lifecycle import Lifecycle, LifecycleSpec, get_lifecycle
from tasklife.tracking import JournalEntry
from tasklife.validation.history import Mode

__all__ = [
    "EdgeRole",
    "FlowLike",
    "Mode",
    "Overlay",
    "StateRole",
    "flow_overlay",
    "task_overlay",
]

StateRole = Literal["visited", "inferred", "current", "unreached"]
"""How an overlay marks a state: reached, passed through between polls, last, never reached."""
EdgeRole = Literal["taken", "inferred", "untaken", "illegal"]
"""How an overlay marks an edge: taken, passed between polls, never taken, not in the table."""

Edge = tuple[str, str]


@attrs.frozen
class Overlay:
    """Roles and notes to draw over a lifecycle diagram (see :func:`task_overlay`).

    >>> Overlay("one task", {"kRunning": "current"}, {"kRunning": "2 s so far"}).title
    'one task'
    """

    title: str
    state_roles: Mapping[str, StateRole] = attrs.field(factory=dict)
    state_notes: Mapping[str, str] = attrs.field(factory=dict)
    edge_roles: Mapping[Edge, EdgeRole] = attrs.field(factory=dict)
    edge_notes: Mapping[Edge, str] = attrs.field(factory=dict)
    edge_weights: Mapping[Edge, float] = attrs.field(factory=dict)
    """Share in [0, 1] that sets an edge's thickness; edges not named here use role defaults."""


class FlowLike(Protocol):
    """What :func:`flow_overlay` reads (an :class:`~tasklife.diagrams.flow.ObservedFlow`)."""

    @property
    def tasks(self) -> int: ...
    @property
    def state_tasks(self) -> Mapping[str, int]: ...
    @property
    def edge_tasks(self) -> Mapping[Edge, int]: ...
    @property
    def illegal(self) -> AbstractSet[Edge]: ...


HistoryItem = str | int | tuple[str | int, int | None]


def task_overlay(
    history: Sequence[JournalEntry] | Sequence[HistoryItem],
    *,
    lifecycle: LifecycleSpec = "copy-task",
    now_usecs: int | None = None,
    mode: Mode = "strict",
    title: str = "one task",
) -> Overlay:
    """The path one task took, from its journal or its status history.

    ``now_usecs`` gives the time spent so far in the current (non-final) state. ``mode`` is
    validation's: in ``strict`` mode a change of status that is not one transition is illegal;
    in ``polling`` mode one the lifecycle can make in several steps is a gap, drawn along its
    shortest path (its steps noted ``#n gap``).

    >>> o = task_overlay([("kAccepted", 0), ("Running", 2_000_000), ("kSuccess", 62_000_000)])
    >>> o.state_notes["kRunning"], o.state_roles["kSuccess"]
    ('1 min', 'current')
    >>> o.edge_notes[("kAccepted", "kRunning")]
    '#1'
    >>> task_overlay(["kAccepted", "kSuccess"], mode="polling").edge_notes[("kRunning", "kSuccess")]
    '#1 gap'
    """
    lifecycle = get_lifecycle(lifecycle)
    visits = _visits(history, lifecycle)
    roles: dict[str, StateRole] = {}
    spent: dict[str, int] = {}
    edges: dict[Edge, EdgeRole] = {}
    steps: dict[Edge, list[str]] = {}
    for step, ((state, at), (nxt, nxt_at)) in enumerate(pairwise(visits), 1):
        roles[state] = "visited"
        if at is not None and nxt_at is not None:
            spent[state] = spent.get(state, 0) + nxt_at - at
        hops = _hops(lifecycle, state, nxt) if mode == "polling" else [(state, nxt)]
        for hop in hops:
            steps.setdefault(hop, []).append(f"#{step}" if len(hops) == 1 else f"#{step} gap")
            if hop[1] != nxt:
                roles.setdefault(hop[1], "inferred")
        role: EdgeRole = "taken" if len(hops) == 1 else "inferred"
        for hop in hops:
            if lifecycle.trigger_between(*hop) is None:
                edges[hop] = "illegal"
            elif edges.get(hop) != "taken":
                edges[hop] = role
    last, last_at = visits[-1]
    roles[last] = "current"
    notes = {s: _duration(us) for s, us in spent.items()}
    if now_usecs is not None and last_at is not None and not lifecycle.is_final(last):
        notes[last] = f"{_duration(spent.get(last, 0) + now_usecs - last_at)} so far"
    for s in lifecycle.state_names:
        roles.setdefault(s, "unreached")
    for t in lifecycle.transitions:
        for src in t.source:
            edges.setdefault((src, t.dest), "untaken")
    edge_notes = {e: ", ".join(n) for e, n in steps.items()}
    return Overlay(title, roles, notes, edges, edge_notes)


def _hops(lifecycle: Lifecycle, source: str, dest: str) -> list[Edge]:
    """The edges from ``source`` to ``dest``: one when direct, the shortest path between
    polls when the lifecycle needs several steps, the (illegal) jump itself when it has none.
    """
    triggers = lifecycle.path(source, dest)
    if not triggers:
        return [(source, dest)]
    hops = []
    for trigger in triggers:
        there = lifecycle.dest(trigger, source)
        assert there is not None
        hops.append((source, there))
        source = there
    return hops


def _visits(
    history: Sequence[JournalEntry] | Sequence[HistoryItem], lifecycle: Lifecycle
) -> list[tuple[str, int | None]]:
    """(state, entered at) for each change of state; re-observations are dropped."""
    if not history:
        raise InvalidRecord("history", history, "is empty: give at least one status")
    if all(isinstance(h, JournalEntry) for h in history):
        journal: Sequence[JournalEntry] = history  # type: ignore[assignment]
        out: list[tuple[str, int | None]] = [(journal[0].source, None)]
        for i, entry in enumerate(journal):
            if entry.source != out[-1][0]:
                raise InvalidRecord(
                    f"journal[{i}].source", entry.source, f"does not follow {out[-1][0]!r}"
                )
            out.append((entry.dest, entry.at_usecs))
        return out
    out = []
    for i, item in enumerate(history):
        value, at = item if isinstance(item, tuple) else (item, None)
        state = lifecycle.canonical(value)
        if state is None:
            raise InvalidRecord(f"history[{i}]", value, lifecycle.unknown_status_reason(value))
        if at is not None and (not isinstance(at, int) or isinstance(at, bool)):
            raise InvalidRecord(f"history[{i}].at_usecs", at, "must be an integer or None")
        previous = [t for _, t in out if t is not None]
        if at is not None and previous and at < previous[-1]:
            raise InvalidRecord(f"history[{i}].at_usecs", at, "is earlier than the entry before")
        if not out or out[-1][0] != state:
            out.append((state, at))
    return out


def flow_overlay(
    flow: FlowLike,
    *,
    lifecycle: LifecycleSpec = "copy-task",
    mode: Mode = "strict",
    title: str = "",
) -> Overlay:
    """How many tasks reached each state and took each transition (share of all tasks).

    In ``polling`` mode an observed change the lifecycle can make in several steps is drawn as
    a gap (dashed blue), not as illegal.

    >>> from types import SimpleNamespace as NS
    >>> f = NS(tasks=4, state_tasks={"kAccepted": 4, "kRunning": 3, "kSuccess": 3},
    ...        edge_tasks={("kAccepted", "kRunning"): 3, ("kRunning", "kSuccess"): 3},
    ...        illegal=frozenset())
    >>> flow_overlay(f).edge_notes[("kAccepted", "kRunning")]
    '3 tasks, 75%'
    """
    lifecycle = get_lifecycle(lifecycle)
    total = max(flow.tasks, 1)
    roles: dict[str, StateRole] = {}
    notes: dict[str, str] = {}
    for state in lifecycle.state_names:
        n = flow.state_tasks.get(state, 0)
        roles[state] = "visited" if n else "unreached"
        notes[state] = _count(n, total)
    edge_roles: dict[Edge, EdgeRole] = {}
    edge_notes: dict[Edge, str] = {}
    weights: dict[Edge, float] = {}
    table = {(s, t.dest) for t in lifecycle.transitions for s in t.source}
    for edge in sorted(table | set(flow.edge_tasks), key=lambda e: _edge_order(lifecycle, e)):
        n = flow.edge_tasks.get(edge, 0)
        if edge in flow.illegal and not (mode == "polling" and lifecycle.path(*edge)):
            edge_roles[edge] = "illegal"
        elif edge in table:
            edge_roles[edge] = "taken" if n else "untaken"
        else:
            edge_roles[edge] = "inferred"
        if n:
            edge_notes[edge] = _count(n, total)
            weights[edge] = n / total
    heading = title or f"{flow.tasks} task{'s' if flow.tasks != 1 else ''}"
    return Overlay(heading, roles, notes, edge_roles, edge_notes, weights)


def _edge_order(lifecycle: Lifecycle, edge: Edge) -> tuple[int, int, str, str]:
    """Order edges by the lifecycle's state order, unknown states last and by name."""
    far = len(lifecycle.state_names)
    src, dst = edge
    return (lifecycle.index.get(src, far), lifecycle.index.get(dst, far), src, dst)


def _count(n: int, total: int) -> str:
    share = 100 * n / total
    pct = "<1%" if 0 < share < 1 else ">99%" if 99 < share < 100 else f"{share:.0f}%"
    return f"{n} task{'s' if n != 1 else ''}, {pct}"


_UNITS = (("d", 86_400_000_000), ("h", 3_600_000_000), ("min", 60_000_000), ("s", 1_000_000))


def _duration(usecs: int) -> str:
    """A duration, short: ``'850 ms'``, ``'12.5 s'``, ``'4 min 5 s'``, ``'2 h'``."""
    if usecs < 1000:
        return f"{usecs} us"
    if usecs < 1_000_000:
        return f"{usecs / 1000:.0f} ms"
    if usecs < 60_000_000:
        return f"{usecs // 100_000 / 10:.1f} s"
    parts: list[tuple[int, str]] = []
    rest = usecs
    for unit, size in _UNITS:
        if rest >= size or parts:
            parts.append((rest // size, unit))
            rest %= size
        if len(parts) == 2:
            break
    return " ".join(f"{n} {u}" for n, u in parts if n or u == parts[0][1])
