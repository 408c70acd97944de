"""The compiled lifecycle table: a :class:`Lifecycle` value and the lookups it answers.

Building a :class:`Lifecycle` checks its definition
(:func:`~tasklife.lifecycle.definition.check_definition`) and refuses one with problems, then
compiles the table once into lookups that every consumer shares instead of re-deriving:

* ``dest(trigger, source)`` and ``triggers_from(state)``: what the shared ``transitions``
  machine in :mod:`tasklife.tracking` is built from and what its fast path reads;
* ``trigger_between(a, b)`` and ``path(a, b)`` (one breadth-first search per state, see
  :mod:`tasklife.lifecycle.graph`): what validation judges changes of status with (strict:
  one trigger; polling: any path, which explains the gap);
* ``states``/``transitions`` with their classes: what :mod:`tasklife.diagrams` draws;
* vocabularies (``v1`` wire names, ``v2`` REST names, numeric ``code``): what lets input in
  any of them be read and output keep the vocabulary it came in.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from tasklife.errors import InvalidLifecycle
from tasklife.lifecycle.definition import (
    NO_LIVENESS,
    LivenessDef,
    StateDef,
    TransitionDef,
    check_definition,
    check_liveness,
    check_name,
)
from tasklife.lifecycle.graph import shortest_paths
from tasklife.lifecycle.shape import parse_dictionary, to_dictionary

__all__ = ["Lifecycle", "register_well_known"]


def _as_states(states: Iterable[StateDef]) -> tuple[StateDef, ...]:
    return tuple(states)


def _as_transitions(transitions: Iterable[TransitionDef]) -> tuple[TransitionDef, ...]:
    return tuple(transitions)


_WELL_KNOWN: list[Lifecycle] = []
"""The lifecycles an unknown-status message may point to: the built-ins, which
:mod:`tasklife.lifecycle.loading` registers as it builds them (it imports this module, so
this module cannot ask it)."""


def register_well_known(lifecycle: Lifecycle) -> None:
    """Let unknown-status messages of other lifecycles name ``lifecycle`` when it knows a
    status they do not."""
    if all(known is not lifecycle for known in _WELL_KNOWN):
        _WELL_KNOWN.append(lifecycle)


@attrs.define(frozen=True, eq=False, repr=False)
class Lifecycle:
    """A checked, compiled lifecycle table. A value: equal definitions are one lifecycle.

    Two lifecycles compare and hash equal when their definitions (name, initial state, states,
    transitions, description) are equal, so a file loaded twice, or a table built twice, keys
    the same machine, listeners and record classes. They pickle by their definition (a
    built-in comes back as the built-in itself).

    >>> ci = Lifecycle(
    ...     name="ci-job",
    ...     initial="queued",
    ...     states=[StateDef("queued", phase="queued"), StateDef("running"),
    ...             StateDef("passed", outcome="success"), StateDef("failed", outcome="failure")],
    ...     transitions=[TransitionDef("start", "queued", "running"),
    ...                  TransitionDef("pass_", "running", "passed"),
    ...                  TransitionDef("fail", ["queued", "running"], "failed")],
    ... )
    >>> ci.triggers_from("running")
    ('pass_', 'fail')
    >>> ci.is_final("passed")
    True
    """

    name: str
    initial: str
    states: tuple[StateDef, ...] = attrs.field(converter=_as_states)
    transitions: tuple[TransitionDef, ...] = attrs.field(converter=_as_transitions)
    description: str = ""
    liveness: LivenessDef = NO_LIVENESS
    """What a durable store does about lost workers, deadlines and retries."""

    state_names: tuple[str, ...] = attrs.field(init=False)
    """State names in definition order (the order of :attr:`index`)."""
    index: Mapping[str, int] = attrs.field(init=False)
    triggers: tuple[str, ...] = attrs.field(init=False)
    """Trigger names in definition order."""
    final_states: frozenset[str] = attrs.field(init=False)
    ran_states: frozenset[str] = attrs.field(init=False)
    """States a task reaches only by running: active states and all that lie behind them
    (copy-task: kRunning, kSuccess, kWarning). A task in one has a start time."""
    _by_name: Mapping[str, StateDef] = attrs.field(init=False)
    _dest: Mapping[tuple[str, str], str] = attrs.field(init=False)
    _from: Mapping[str, tuple[str, ...]] = attrs.field(init=False)
    _between: Mapping[tuple[str, str], str] = attrs.field(init=False)
    _paths: Mapping[tuple[str, str], tuple[str, ...]] = attrs.field(init=False)
    _names: Mapping[str, tuple[str, str]] = attrs.field(init=False)
    _codes: Mapping[int, tuple[str, str]] = attrs.field(init=False)
    _hash: int = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        problems = check_name(self.name) + check_definition(
            self.initial, self.states, self.transitions
        )
        if problems:
            raise InvalidLifecycle(self.name, problems)
        put = object.__setattr__
        put(self, "_hash", hash(self._definition()))
        names = tuple(s.name for s in self.states)
        put(self, "state_names", names)
        put(self, "index", {n: i for i, n in enumerate(names)})
        put(self, "_by_name", {s.name: s for s in self.states})
        put(self, "final_states", frozenset(s.name for s in self.states if s.is_final))
        put(self, "triggers", tuple(dict.fromkeys(t.trigger for t in self.transitions)))
        dest: dict[tuple[str, str], str] = {}
        out: dict[str, list[str]] = {n: [] for n in names}
        between: dict[tuple[str, str], str] = {}
        for t in self.transitions:
            for src in t.source:
                dest[(t.trigger, src)] = t.dest
                out[src].append(t.trigger)
                between.setdefault((src, t.dest), t.trigger)
        put(self, "_dest", dest)
        problems = check_liveness(self.liveness, self.initial, self.states, dest)
        if problems:
            raise InvalidLifecycle(self.name, problems)
        put(self, "_from", {n: tuple(dict.fromkeys(ts)) for n, ts in out.items()})
        put(self, "_between", between)
        # the moves out of each state in trigger order: a path's ties go to the earlier trigger
        moves = {s: [(t, dest[(t, s)]) for t in self.triggers if (t, s) in dest] for s in names}
        put(self, "_paths", {(a, b): p for a in names for b, p in shortest_paths(moves, a).items()})
        before_running = shortest_paths(moves, self.initial, avoid=self.states_of("active"))
        put(self, "ran_states", frozenset(names) - before_running.keys())
        self._compile_vocabularies()

    def _compile_vocabularies(self) -> None:
        spoken: dict[str, tuple[str, str]] = {}
        codes: dict[int, tuple[str, str]] = {}
        for s in self.states:
            spoken[s.name] = (s.name, "v1")
            if s.v2 is not None:
                spoken.setdefault(s.v2, (s.name, "v2"))
            if s.code is not None:
                codes[s.code] = (s.name, "code")
        object.__setattr__(self, "_names", spoken)
        object.__setattr__(self, "_codes", codes)

    def __repr__(self) -> str:
        return (
            f"<Lifecycle {self.name!r}: {len(self.states)} states, {len(self.triggers)} triggers>"
        )

    # -- a value: compared, hashed and pickled by its definition ----------------------------

    def _definition(self) -> tuple[Any, ...]:
        return (
            self.name,
            self.initial,
            self.states,
            self.transitions,
            self.description,
            self.liveness,
        )

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Lifecycle):
            return NotImplemented
        return self._hash == other._hash and self._definition() == other._definition()

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[Any, ...]:
        return (_from_definition, self._definition())

    # -- the table, compiled ------------------------------------------------------------------

    def state(self, name: str) -> StateDef:
        """The :class:`StateDef` of ``name`` (KeyError when unknown)."""
        return self._by_name[name]

    def has_state(self, name: object) -> bool:
        return isinstance(name, str) and name in self._by_name

    def states_of(self, klass: str) -> frozenset[str]:
        """The states of one class (a phase or an outcome).

        >>> from tasklife.lifecycle import COPY_TASK
        >>> sorted(COPY_TASK.states_of("active")), sorted(COPY_TASK.states_of("failure"))
        (['kRunning'], ['kFailure'])
        """
        return frozenset(s.name for s in self.states if s.klass == klass)

    def is_final(self, name: str) -> bool:
        return name in self.final_states

    def states_with_error(self, rule: str) -> frozenset[str]:
        """The states whose error rule is ``rule`` (``required``, ``allowed``, ``forbidden``).

        >>> from tasklife.lifecycle import COPY_TASK
        >>> sorted(COPY_TASK.states_with_error("required")), COPY_TASK.states_with_error("allowed")
        (['kFailure'], frozenset({'kWarning'}))
        """
        return frozenset(s.name for s in self.states if s.error_rule == rule)

    def dest(self, trigger: str, source: str) -> str | None:
        """Where ``trigger`` leads from ``source``, or None when it is not legal there."""
        return self._dest.get((trigger, source))

    @property
    def table(self) -> Mapping[tuple[str, str], str]:
        """Every legal move as ``{(trigger, source): dest}`` (read-only; do not mutate)."""
        return self._dest

    def triggers_from(self, state: str) -> tuple[str, ...]:
        """The triggers legal from ``state``, in definition order (empty for a final state)."""
        return self._from.get(state, ())

    def trigger_between(self, source: str, dest: str) -> str | None:
        """The trigger of the direct transition ``source`` -> ``dest``, if there is one."""
        return self._between.get((source, dest))

    def path(self, source: str, dest: str) -> tuple[str, ...] | None:
        """The shortest trigger sequence from ``source`` to ``dest`` (None when unreachable;
        ``()`` from a state to itself).

        >>> from tasklife.lifecycle import COPY_TASK
        >>> COPY_TASK.path("kAccepted", "kCanceled")
        ('cancel', 'confirm_cancel')
        """
        return self._paths.get((source, dest))

    # -- vocabularies ------------------------------------------------------------------------

    def _alias(self, value: object) -> tuple[str, str] | None:
        if isinstance(value, str):
            return self._names.get(value)
        if type(value) is int:
            return self._codes.get(value)
        return None

    def canonical(self, value: object) -> str | None:
        """The state a v1, v2 or numeric-code name stands for, or None when unknown.

        >>> from tasklife.lifecycle import COPY_TASK
        >>> COPY_TASK.canonical("SucceededWithWarning"), COPY_TASK.canonical(4)
        ('kWarning', 'kSuccess')
        """
        hit = self._alias(value)
        return hit[0] if hit else None

    def vocabulary(self, value: object) -> str | None:
        """Which vocabulary (``v1``, ``v2``, ``code``) ``value`` is from, or None when unknown."""
        hit = self._alias(value)
        return hit[1] if hit else None

    def translate(self, state: str, vocabulary: str) -> str | int:
        """The name of ``state`` in ``vocabulary`` (falls back to its own name).

        >>> from tasklife.lifecycle import COPY_TASK
        >>> COPY_TASK.translate("kWarning", "v2")
        'SucceededWithWarning'
        """
        s = self._by_name[state]
        if vocabulary == "v2" and s.v2 is not None:
            return s.v2
        if vocabulary == "code" and s.code is not None:
            return s.code
        return s.name

    def unknown_status_reason(self, value: object) -> str:
        """Why ``value`` is not a status here, naming a built-in lifecycle that knows it."""
        reason = f"not a status of lifecycle {self.name!r}"
        own = self.canonical(value)
        if own is not None:
            return f"{reason} here: {value!r} is the {self.vocabulary(value)} name of {own!r}"
        other = self.builtin_knowing(value)
        if other is not None:
            return f"{reason}; it is one of {other.name!r} (pass lifecycle={other.name!r})"
        return f"{reason} (expected one of {', '.join(self.state_names)})"

    def builtin_knowing(self, value: object) -> Lifecycle | None:
        """Another built-in lifecycle with a state ``value`` names (copy-task-6.8 for
        ``kFinalizing`` asked of copy-task), or None.

        >>> from tasklife.lifecycle import COPY_TASK
        >>> COPY_TASK.builtin_knowing("Finalizing").name
        'copy-task-6.8'
        """
        for other in _WELL_KNOWN:
            if other is not self and other.canonical(value) is not None:
                return other
        return None

    # -- as data -----------------------------------------------------------------------------

    def to_dictionary(self) -> dict[str, Any]:
        """The definition in the TOML/JSON file shape (:meth:`from_dictionary` reads it back)."""
        return to_dictionary(
            self.name, self.description, self.initial, self.states, self.transitions, self.liveness
        )

    @classmethod
    def from_dictionary(cls, data: Mapping[str, Any], *, origin: str = "<dictionary>") -> Lifecycle:
        """Build from the TOML/JSON file shape, complete in itself (what :meth:`to_dictionary`
        writes). ``extends`` belongs to files: :func:`~tasklife.lifecycle.load_lifecycle`
        resolves it.

        >>> from tasklife.lifecycle import COPY_TASK
        >>> Lifecycle.from_dictionary(COPY_TASK.to_dictionary()).path("kAccepted", "kSuccess")
        ('start', 'succeed')
        """
        parts = parse_dictionary(data, origin)
        return cls(
            parts.name,
            parts.initial,
            parts.states,
            parts.transitions,
            parts.description,
            parts.liveness,
        )


_unpickled: weakref.WeakValueDictionary[tuple[Any, ...], Lifecycle] = weakref.WeakValueDictionary()
"""Lifecycles rebuilt by unpickling, by definition: each record of a batch sent to a worker
carries its lifecycle, which is checked and compiled once per process, not once per record."""


def _from_definition(*definition: Any) -> Lifecycle:
    """The lifecycle of ``definition``: a built-in when it is one, else built once per process."""
    for known in _WELL_KNOWN:
        if known._definition() == definition:
            return known
    lifecycle = _unpickled.get(definition)
    if lifecycle is None:
        lifecycle = _unpickled.setdefault(definition, Lifecycle(*definition))
    return lifecycle
