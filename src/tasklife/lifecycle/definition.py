"""A lifecycle's definition: its states and transitions as data, and the checks they must pass.

A definition is sound when it has exactly one initial state, at least one final state, every
state reachable from the initial one, every state that is not final able to reach a final
one, no exit from a final state, one destination per trigger and source, no unknown or
duplicate names, an error rule (:data:`ERROR_RULES`) per state with none required on entry
into the initial state, and at most :data:`MAX_STATES` states. :func:`check_definition` lists
every problem, each naming the state or trigger at fault; a
:class:`~tasklife.lifecycle.Lifecycle` is only built from a sound definition, with a name
:func:`check_name` accepts.

The checks cost O(states + transitions): a definition with more than :data:`MAX_STATES`
states is refused before any graph is searched, so a huge file is refused at once, in
bounded memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import attrs

from tasklife.errors import shown
from tasklife.lifecycle.graph import Moves, reachable

__all__ = [
    "ERROR_RULES",
    "MAX_NAME_CHARS",
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
    "check_name",
]

OUTCOMES: Final = ("success", "warning", "failure", "canceled", "missed")
"""Outcome classes of final states."""
PHASES: Final = ("queued", "active", "held", "canceling")
"""Classes of states that are not final."""
VOCABULARIES: Final = ("v1", "v2", "code")
"""Names a state may go by: its own (v1 wire) name, its v2 REST name, its numeric code."""
ERROR_RULES: Final = ("required", "allowed", "forbidden")
"""Whether a record in a state carries an error message: it must (a move into the state needs
one), it may, or it must not. Unset, a state of outcome ``failure`` requires one and every
other state forbids one."""
MAX_STATES: Final = 128
"""The most states a lifecycle may have: event tables store a state as a one-byte code
(``numpy.int8``, see :mod:`tasklife.eventlog.table`), with -1 left for "not a state". It also
bounds compiling: the table of shortest paths between every two states holds at most
128 x 128 paths."""
MAX_NAME_CHARS: Final = 100
"""The longest lifecycle name: it titles diagrams and names their files."""

MAX_RETRIES: Final = 1_000
"""The most retries a final state may allow (a bound that catches a typo, not a policy)."""

# Names are matched whole (fullmatch: ``$`` would also match before a final newline).
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_TRIGGER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LIFECYCLE_NAME = re.compile(r"[^\x00-\x1f\x7f-\x9f/\\.][^\x00-\x1f\x7f-\x9f/\\]*")
"""A lifecycle name: no control characters, no path separators, not starting with a dot (it
names diagram files: ``tasklife diagram --all -o DIR`` writes ``DIR/<name>.svg``)."""


def check_name(name: object) -> list[str]:
    """The problems of a lifecycle's name (empty when usable).

    >>> check_name("ci-job"), check_name("ci\\n%%{init}%%")[0][:31]
    ([], "lifecycle name 'ci\\\\n%%{init}%%'")
    """
    if isinstance(name, str) and len(name) <= MAX_NAME_CHARS and _LIFECYCLE_NAME.fullmatch(name):
        return []
    return [
        f"lifecycle name {shown(name)} must be 1-{MAX_NAME_CHARS} characters, without control "
        "characters, path separators or a leading dot"
    ]


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
    error: str | None = None
    """One of :data:`ERROR_RULES`; None: ``required`` for outcome ``failure``, else
    ``forbidden`` (read the rule in force from :attr:`error_rule`)."""

    @property
    def is_final(self) -> bool:
        return self.outcome is not None

    @property
    def error_rule(self) -> str:
        """Whether a record in this state has an error: ``required``, ``allowed`` or
        ``forbidden`` (the default follows the outcome: required only for ``failure``).

        >>> StateDef("failed", outcome="failure").error_rule, StateDef("run").error_rule
        ('required', 'forbidden')
        """
        if self.error is not None:
            return self.error
        return "required" if self.outcome == "failure" else "forbidden"

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
    if len(states) > MAX_STATES:  # before anything else: a huge definition costs nothing more
        return [
            f"{len(states)} states: a lifecycle has at most {MAX_STATES} "
            "(event logs store a state as a one-byte code)"
        ]
    names, problems = _check_states(states)
    if not isinstance(initial, str):
        problems.append(f"there must be exactly one initial state (got {shown(initial)})")
    elif initial not in names:
        problems.append(f"unknown initial state {shown(initial)}")
    elif names[initial].error_rule == "required":
        problems.append(f"initial state {shown(initial)}: a record starts there without an error")
    if not any(s.outcome for s in states):
        problems.append("no final state: give at least one state an outcome")
    moves, transition_problems = _check_transitions(names, transitions)
    problems += transition_problems
    return problems + _check_reach(initial, names, moves)


def _check_reach(initial: Any, names: dict[str, StateDef], moves: Moves) -> list[str]:
    """Unreachable states, and states with no way to a final one: one pass each way."""
    problems = []
    if isinstance(initial, str) and initial in names:
        reached = reachable(moves, [initial])
        problems += [
            f"state {shown(n)} is not reachable from the initial state {shown(initial)}"
            for n in names
            if n not in reached
        ]
    final = [n for n, s in names.items() if s.is_final]
    if final:
        back: dict[str, list[tuple[str, str]]] = {n: [] for n in names}
        for src, out in moves.items():
            for trigger, dest in out:
                back[dest].append((trigger, src))
        ends = reachable(back, final)
        problems += [f"state {shown(n)} cannot reach a final state" for n in names if n not in ends]
    return problems


def _check_states(states: Sequence[StateDef]) -> tuple[dict[str, StateDef], list[str]]:
    """The states by name, and the problems of their names, classes and aliases."""
    problems: list[str] = []
    names: dict[str, StateDef] = {}
    for s in states:
        if not isinstance(s.name, str) or not _NAME.fullmatch(s.name):
            problems.append(f"state name {shown(s.name)} is not a valid name")
            continue
        if s.name in names:
            problems.append(f"duplicate state {shown(s.name)}")
        names[s.name] = s
        if s.outcome is not None and s.outcome not in OUTCOMES:
            problems.append(
                f"state {shown(s.name)}: outcome {shown(s.outcome)} is not one of "
                f"{', '.join(OUTCOMES)}"
            )
        if s.phase is not None and s.phase not in PHASES:
            problems.append(
                f"state {shown(s.name)}: phase {shown(s.phase)} is not one of {', '.join(PHASES)}"
            )
        if s.outcome is not None and s.phase is not None:
            problems.append(f"state {shown(s.name)}: a final state has no phase")
        if s.error is not None and s.error not in ERROR_RULES:
            problems.append(
                f"state {shown(s.name)}: error {shown(s.error)} is not one of "
                f"{', '.join(ERROR_RULES)}"
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
                    f"duplicate {vocab} name {shown(alias)} (states {shown(seen[alias])} "
                    f"and {shown(s.name)})"
                )
            elif vocab == "v2" and alias != s.name and alias in state_names:
                problems.append(
                    f"duplicate name {shown(alias)}: the v2 name of state {shown(s.name)} "
                    "is a state's name"
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
        if not isinstance(t.trigger, str) or not _TRIGGER.fullmatch(t.trigger):
            problems.append(f"trigger name {shown(t.trigger)} is not a valid identifier")
            continue
        if not t.source:
            problems.append(f"transition {shown(t.trigger)}: no source state")
        if not isinstance(t.dest, str):
            problems.append(
                f"transition {shown(t.trigger)}: dest must be one state name, got {shown(t.dest)}"
            )
            continue
        if t.dest not in names:
            problems.append(f"transition {shown(t.trigger)}: unknown dest state {shown(t.dest)}")
        for src in t.source:
            if not isinstance(src, str) or src not in names:
                problems.append(f"transition {shown(t.trigger)}: unknown source state {shown(src)}")
                continue
            if names[src].is_final:
                problems.append(
                    f"final state {shown(src)} has an exit: trigger {shown(t.trigger)} -> "
                    f"{shown(t.dest)}"
                )
            previous = seen_edge.get((t.trigger, src))
            if previous is not None:
                if previous == t.dest:
                    problems.append(
                        f"duplicate transition {shown(t.trigger)} from {shown(src)} to "
                        f"{shown(t.dest)}"
                    )
                else:
                    problems.append(
                        f"trigger {shown(t.trigger)} has two destinations from {shown(src)}: "
                        f"{shown(previous)} and {shown(t.dest)}"
                    )
                continue
            seen_edge[(t.trigger, src)] = t.dest
            if t.dest in names:
                moves[src].append((t.trigger, t.dest))
    return moves, problems
