"""The one graph search of a lifecycle: breadth-first, by triggers, in table order.

Every question about getting from one state to another is answered by
:func:`shortest_paths`: the shortest trigger path between two states
(:meth:`~tasklife.lifecycle.Lifecycle.path`, what polling mode explains gaps with), and which
states lie behind the active ones (:attr:`~tasklife.lifecycle.Lifecycle.ran_states`).
:func:`reachable` answers only *whether* (the definition checks, which run before a
definition's size is known to be sound): one pass, O(states + moves), no paths built.

>>> moves = {"a": [("go", "b"), ("skip", "c")], "b": [("go", "c")], "c": []}
>>> shortest_paths(moves, "a")
{'a': (), 'b': ('go',), 'c': ('skip',)}
>>> shortest_paths(moves, "a", avoid={"b"})
{'a': (), 'c': ('skip',)}
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Mapping, Sequence

__all__ = ["Moves", "reachable", "shortest_paths"]

Moves = Mapping[str, Sequence[tuple[str, str]]]
"""For each state, its ``(trigger, destination)`` pairs, in the order that breaks ties."""


def shortest_paths(
    moves: Moves, start: str, avoid: Collection[str] = ()
) -> dict[str, tuple[str, ...]]:
    """The shortest trigger path from ``start`` to every state it reaches without entering
    ``avoid`` (``start`` itself maps to ``()``; nothing when ``start`` is avoided).

    Breadth-first, so no path is longer than another to the same state; among equally short
    ones, the earlier pair in ``moves`` wins, step by step from the start.
    """
    if start in avoid:
        return {}
    paths: dict[str, tuple[str, ...]] = {start: ()}
    queue = deque([start])
    while queue:
        here = queue.popleft()
        for trigger, there in moves.get(here, ()):
            if there not in paths and there not in avoid:
                paths[there] = (*paths[here], trigger)
                queue.append(there)
    return paths


def reachable(moves: Moves, starts: Collection[str]) -> set[str]:
    """Every state some path of ``moves`` leads to from any of ``starts`` (starts included).

    >>> sorted(reachable({"a": [("go", "b")], "b": [], "c": [("go", "a")]}, ["a"]))
    ['a', 'b']
    """
    seen = set(starts)
    todo = list(seen)
    while todo:
        for _, there in moves.get(todo.pop(), ()):
            if there not in seen:
                seen.add(there)
                todo.append(there)
    return seen
