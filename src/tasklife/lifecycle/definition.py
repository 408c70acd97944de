"""A lifecycle's definition: its states and transitions as data, and the checks they must pass.

A definition is sound when it has exactly one initial state, at least one final state, every
state reachable from the initial one, every state that is not final able to reach a final
one, no exit from a final state, one destination per trigger and source, no unknown or
duplicate names, and at most :data:`MAX_STATES` states. :func:`check_definition` lists every
problem, each naming the state or trigger at fault; a :class:`~tasklife.lifecycle.Lifecycle`
is only built from a sound definition.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import attrs

from tasklife.lifecycle.graph import shortest_paths

__all__ = [
    "MAX_RETRIES",
    "MAX_STATES",
    "NO_LIVENESS",
    "OUTCOMES",
    "PHASES",
    "VOCABULARIES",
    "LivenessDef",
    "StateDef",
    "TransitionDef",
    "check_definition",
    "check_liveness",
]

OUTCOMES: Final = ("success", "warning", "failure", "canceled", "missed")
"""Outcome classes of final states."""
PHASES: Final = ("queued", "active", "held", "canceling")
"""Classes of states that are not final."""
VOCABULARIES: Final = ("v1", "v2", "code")
"""Names a state may go by: its own (v1 wire) name, its v2 REST name, its numeric code."""
MAX_STATES: Final = 128
"""The most states a lifecycle may have: event tables store a state as a one-byte code
(``numpy.int8``, see :mod:`tasklife.eventlog.table`), with -1 left for "not a state"."""

MAX_RETRIES: Final = 1_000
"""The most retries a final state may allow (a bound that catches a typo, not a policy)."""

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_TRIGGER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@attrs.frozen
class StateDef:
    """One state of a lifecycle.

    >>> StateDef("done", outcome="success").klass
    'success'
    """

    name: str
    outcome: str | None = None
    """Outcome class when the state is final (one of :data:`OUTCOMES`), else None."""
    phase: str | None = None
    """Class of a state that is not final (one of :data:`PHASES`); None means ``active``."""
    v2: str | None = None
    code: int | None = None
    description: str = ""

    @property
    def is_final(self) -> bool:
        return self.outcome is not None

    @property
    def klass(self) -> str:
        """The outcome class of a final state, else its phase."""
        return self.outcome or self.phase or "active"


def _as_sources(source: str | Iterable[str]) -> tuple[str, ...]:
    return (source,) if isinstance(source, str) else tuple(source)


@attrs.frozen
class TransitionDef:
    """A trigger moving each of ``source`` to ``dest``.

    >>> TransitionDef("start", ("queued",), "running").source
    ('queued',)
    """

    trigger: str
    source: tuple[str, ...] = attrs.field(converter=_as_sources)
    dest: str


def _as_retry(retry: Any) -> tuple[tuple[str, int], ...]:
    items = retry.items() if hasattr(retry, "items") else retry
    return tuple(sorted((str(k), v) for k, v in items))


@attrs.frozen
class LivenessDef:
    """What a durable store does when a task is not looked after (the ``[liveness]`` table).

    ``lost``: the trigger ``reap`` fires at a task whose worker's lease expired; ``deadline``:
    the trigger ``reap`` fires at a task still in the initial state after its deadline;
    ``retry``: the final states a task may be retried from, each with how many times.

    >>> LivenessDef(lost="fail", retry={"kFailure": 3}).retries("kFailure")
    3
    """

    lost: str | None = None
    deadline: str | None = None
    retry: tuple[tuple[str, int], ...] = attrs.field(default=(), converter=_as_retry)

    def retries(self, state: str) -> int:
        """How many times a task may be retried from ``state`` (0: never)."""
        return dict(self.retry).get(state, 0)


NO_LIVENESS: Final = LivenessDef()
"""A lifecycle that says nothing of liveness: ``reap`` and ``retry`` leave its tasks alone."""


def check_liveness(
    liveness: LivenessDef,
    initial: Any,
    states: Sequence[StateDef],
    table: Mapping[tuple[str, str], str],
) -> list[str]:
    """One message per problem of a ``[liveness]`` table: a ``lost`` trigger must exist and
    lead to a final or held state; the ``deadline`` trigger must be legal from the initial
    state and lead to a final one; ``retry`` names final states with a count in 1..
    :data:`MAX_RETRIES`.

    >>> check_liveness(LivenessDef(deadline="go"), "a", [StateDef("a")], {})
    ["liveness.deadline: trigger 'go' is not legal from the initial state 'a'"]
    """
    by_name = {s.name: s for s in states}
    problems: list[str] = []
    if liveness.lost is not None:
        dests = {d for (t, _), d in table.items() if t == liveness.lost}
        if not dests:
            problems.append(f"liveness.lost: unknown trigger {liveness.lost!r}")
        elif any(not (by_name[d].is_final or by_name[d].klass == "held") for d in dests):
            problems.append(
                f"liveness.lost: trigger {liveness.lost!r} must lead to a final or held state"
            )
    if liveness.deadline is not None:
        dest = table.get((liveness.deadline, initial))
        if dest is None:
            problems.append(
                f"liveness.deadline: trigger {liveness.deadline!r} is not legal from the "
                f"initial state {initial!r}"
            )
        elif not by_name[dest].is_final:
            problems.append(f"liveness.deadline: trigger {liveness.deadline!r} must end the task")
    for state, count in liveness.retry:
        if state not in by_name or not by_name[state].is_final:
            problems.append(f"liveness.retry: {state!r} is not a final state")
        if not isinstance(count, int) or isinstance(count, bool) or not 0 < count <= MAX_RETRIES:
            problems.append(
                f"liveness.retry.{state}: a retry count is an integer from 1 to {MAX_RETRIES}, "
                f"got {count!r}"
            )
    return problems


def check_definition(
    initial: Any, states: Sequence[StateDef], transitions: Sequence[TransitionDef]
) -> list[str]:
    """Return one message per problem of a lifecycle definition (empty when sound).

    >>> for problem in check_definition(
    ...     "a", [StateDef("a"), StateDef("b", outcome="success")], [TransitionDef("go", "a", "c")]
    ... ):
    ...     print(problem)
    transition 'go': unknown dest state 'c'
    state 'b' is not reachable from the initial state 'a'
    state 'a' cannot reach a final state
    """
    names, problems = _check_states(states)
    if not isinstance(initial, str):
        problems.append(f"there must be exactly one initial state (got {initial!r})")
    elif initial not in names:
        problems.append(f"unknown initial state {initial!r}")
    if not any(s.outcome for s in states):
        problems.append("no final state: give at least one state an outcome")
    moves, transition_problems = _check_transitions(names, transitions)
    problems += transition_problems
    if isinstance(initial, str) and initial in names:
        reached = shortest_paths(moves, initial)
        problems += [
            f"state {n!r} is not reachable from the initial state {initial!r}"
            for n in names
            if n not in reached
        ]
    final = {n for n, s in names.items() if s.is_final}
    if final:
        problems += [
            f"state {n!r} cannot reach a final state"
            for n, s in names.items()
            if not s.is_final and not final.intersection(shortest_paths(moves, n))
        ]
    return problems


def _check_states(states: Sequence[StateDef]) -> tuple[dict[str, StateDef], list[str]]:
    """The states by name, and the problems of their names, classes and aliases."""
    problems: list[str] = []
    names: dict[str, StateDef] = {}
    for s in states:
        if not isinstance(s.name, str) or not _NAME.match(s.name):
            problems.append(f"state name {s.name!r} is not a valid name")
            continue
        if s.name in names:
            problems.append(f"duplicate state {s.name!r}")
        names[s.name] = s
        if s.outcome is not None and s.outcome not in OUTCOMES:
            problems.append(
                f"state {s.name!r}: outcome {s.outcome!r} is not one of {', '.join(OUTCOMES)}"
            )
        if s.phase is not None and s.phase not in PHASES:
            problems.append(
                f"state {s.name!r}: phase {s.phase!r} is not one of {', '.join(PHASES)}"
            )
        if s.outcome is not None and s.phase is not None:
            problems.append(f"state {s.name!r}: a final state has no phase")
    if len(names) > MAX_STATES:
        problems.append(
            f"{len(names)} states: a lifecycle has at most {MAX_STATES} "
            "(event logs store a state as a one-byte code)"
        )
    state_names = {s.name for s in states if isinstance(s.name, str)}
    for vocab in ("v2", "code"):
        seen: dict[object, str] = {}
        for s in states:
            alias = getattr(s, vocab)
            if alias is None:
                continue
            if alias in seen:
                problems.append(
                    f"duplicate {vocab} name {alias!r} (states {seen[alias]!r} and {s.name!r})"
                )
            elif vocab == "v2" and alias != s.name and alias in state_names:
                problems.append(
                    f"duplicate name {alias!r}: the v2 name of state {s.name!r} is a state's name"
                )
            seen[alias] = s.name
    return names, problems


def _check_transitions(
    names: dict[str, StateDef], transitions: Sequence[TransitionDef]
) -> tuple[dict[str, list[tuple[str, str]]], list[str]]:
    """The legal moves out of each state, and the problems of the transitions."""
    problems: list[str] = []
    moves: dict[str, list[tuple[str, str]]] = {n: [] for n in names}
    seen_edge: dict[tuple[str, str], str] = {}
    for t in transitions:
        if not isinstance(t.trigger, str) or not _TRIGGER.match(t.trigger):
            problems.append(f"trigger name {t.trigger!r} is not a valid identifier")
            continue
        if not t.source:
            problems.append(f"transition {t.trigger!r}: no source state")
        if not isinstance(t.dest, str):
            problems.append(
                f"transition {t.trigger!r}: dest must be one state name, got {t.dest!r}"
            )
            continue
        if t.dest not in names:
            problems.append(f"transition {t.trigger!r}: unknown dest state {t.dest!r}")
        for src in t.source:
            if not isinstance(src, str) or src not in names:
                problems.append(f"transition {t.trigger!r}: unknown source state {src!r}")
                continue
            if names[src].is_final:
                problems.append(
                    f"final state {src!r} has an exit: trigger {t.trigger!r} -> {t.dest!r}"
                )
            previous = seen_edge.get((t.trigger, src))
            if previous is not None:
                if previous == t.dest:
                    problems.append(
                        f"duplicate transition {t.trigger!r} from {src!r} to {t.dest!r}"
                    )
                else:
                    problems.append(
                        f"trigger {t.trigger!r} has two destinations from {src!r}: "
                        f"{previous!r} and {t.dest!r}"
                    )
                continue
            seen_edge[(t.trigger, src)] = t.dest
            if t.dest in names:
                moves[src].append((t.trigger, t.dest))
    return moves, problems
