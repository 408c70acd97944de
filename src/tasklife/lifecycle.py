"""Lifecycles as data: the one table everything else is derived from.

Theory of operation
-------------------
A lifecycle is a value: named states, one initial state, final states classed by outcome
(success, warning, failure, canceled, missed), other states classed by phase (queued, active,
held, canceling), and triggers that each move a set of source states to one destination. It
is built in Python (:class:`Lifecycle`) or read from TOML/JSON (:func:`load_lifecycle`); the
copy-task lifecycle itself is such a file, ``lifecycles/copy-task.toml``, kept once.

Building a lifecycle checks it (:func:`check_definition`) and refuses one with problems, then
compiles the table into lookups that every consumer shares instead of re-deriving:

* ``dest(trigger, source)`` and ``triggers_from(state)``: what the shared ``transitions``
  machine in :mod:`tasklife.tracking` is built from and what its fast path reads;
* ``trigger_between(a, b)``, ``path(a, b)`` and the numpy ``adjacency``/``reachability``
  matrices: what :mod:`tasklife.validation` judges histories with (strict = adjacency,
  polling = reachability, and ``path`` explains a gap);
* ``states``/``transitions`` with their classes: what :mod:`tasklife.diagrams` draws;
* vocabularies (``v1`` wire names, ``v2`` REST names, numeric ``code``): what lets input in
  any of them be read and output keep the vocabulary it came in.

Rules that do not fit the table: a final state has no exits, and a status that is the same
as the previous one is a re-observation, not a transition.

>>> from tasklife import get_lifecycle
>>> copy = get_lifecycle("copy-task")
>>> copy.dest("start", "kAccepted")
'kRunning'
>>> copy.path("kAccepted", "kSuccess")
('start', 'succeed')
>>> copy.canonical("SucceededWithWarning")
'kWarning'
"""

from __future__ import annotations

import json
import os
import re
import tomllib
import weakref
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from importlib import resources
from pathlib import Path
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from tasklife.errors import InvalidLifecycle, UnknownLifecycle

__all__ = [
    "COPY_TASK",
    "COPY_TASK_6_8",
    "OUTCOMES",
    "PHASES",
    "VOCABULARIES",
    "Lifecycle",
    "StateDef",
    "TransitionDef",
    "builtin_lifecycles",
    "check_definition",
    "get_lifecycle",
    "load_lifecycle",
]

OUTCOMES: Final = ("success", "warning", "failure", "canceled", "missed")
"""Outcome classes of final states."""
PHASES: Final = ("queued", "active", "held", "canceling")
"""Classes of states that are not final."""
VOCABULARIES: Final = ("v1", "v2", "code")
"""Names a state may go by: its own (v1 wire) name, its v2 REST name, its numeric code."""

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_TRIGGER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@attrs.frozen
class StateDef:
    """One state of a lifecycle.

    >>> StateDef("done", terminal="success").klass
    'success'
    """

    name: str
    terminal: str | None = None
    """Outcome class when the state is final (one of :data:`OUTCOMES`), else None."""
    phase: str | None = None
    """Class of a state that is not final (one of :data:`PHASES`); None means ``active``."""
    v2: str | None = None
    code: int | None = None
    description: str = ""

    @property
    def is_terminal(self) -> bool:
        return self.terminal is not None

    @property
    def klass(self) -> str:
        """The outcome class of a final state, else its phase."""
        return self.terminal or self.phase or "active"


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


def check_definition(
    initial: Any, states: Sequence[StateDef], transitions: Sequence[TransitionDef]
) -> list[str]:
    """Return one message per problem of a lifecycle definition (empty when sound).

    >>> for problem in check_definition(
    ...     "a", [StateDef("a"), StateDef("b", terminal="success")], [TransitionDef("go", "a", "c")]
    ... ):
    ...     print(problem)
    transition 'go': unknown dest state 'c'
    state 'b' is not reachable from the initial state 'a'
    state 'a' cannot reach a final state
    """
    problems: list[str] = []
    names: dict[str, StateDef] = {}
    for s in states:
        if not isinstance(s.name, str) or not _NAME.match(s.name):
            problems.append(f"state name {s.name!r} is not a valid name")
            continue
        if s.name in names:
            problems.append(f"duplicate state {s.name!r}")
        names[s.name] = s
        if s.terminal is not None and s.terminal not in OUTCOMES:
            problems.append(
                f"state {s.name!r}: terminal outcome {s.terminal!r} "
                f"is not one of {', '.join(OUTCOMES)}"
            )
        if s.phase is not None and s.phase not in PHASES:
            problems.append(
                f"state {s.name!r}: phase {s.phase!r} is not one of {', '.join(PHASES)}"
            )
        if s.terminal is not None and s.phase is not None:
            problems.append(f"state {s.name!r}: a final state has no phase")
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
    if not isinstance(initial, str):
        problems.append(f"there must be exactly one initial state (got {initial!r})")
    elif initial not in names:
        problems.append(f"unknown initial state {initial!r}")
    if not any(s.terminal for s in states):
        problems.append("no final state: give at least one state a terminal outcome")

    edges: dict[str, set[str]] = {n: set() for n in names}
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
            if names[src].is_terminal:
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
                edges[src].add(t.dest)
    if isinstance(initial, str) and initial in names:
        reached = _reach(edges, initial) | {initial}
        problems += [
            f"state {n!r} is not reachable from the initial state {initial!r}"
            for n in names
            if n not in reached
        ]
    terminal = {n for n, s in names.items() if s.is_terminal}
    if terminal:
        problems += [
            f"state {n!r} cannot reach a final state"
            for n, s in names.items()
            if not s.is_terminal and not (_reach(edges, n) & terminal)
        ]
    return problems


def _reach_avoiding(edges: Mapping[str, Iterable[str]], start: str, avoid: set[str]) -> set[str]:
    """States reachable from ``start`` (itself included unless avoided) never entering ``avoid``."""
    seen = {start} - avoid
    todo = list(seen)
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in avoid and nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _reach(edges: Mapping[str, Iterable[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(edges.get(start, ()))
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(edges.get(n, ()))
    return seen


def _as_states(states: Iterable[StateDef]) -> tuple[StateDef, ...]:
    return tuple(states)


def _as_transitions(transitions: Iterable[TransitionDef]) -> tuple[TransitionDef, ...]:
    return tuple(transitions)


@attrs.define(frozen=True, eq=False, repr=False)
class Lifecycle:
    """A checked, compiled lifecycle table. A value: equal definitions are one lifecycle.

    Two lifecycles compare and hash equal when their definitions (name, initial state, states,
    transitions, description) are equal, so a file loaded twice, or a table built twice, keys
    the same machine, listeners and record classes.

    >>> ci = Lifecycle(
    ...     name="ci-job",
    ...     initial="queued",
    ...     states=[StateDef("queued", phase="queued"), StateDef("running"),
    ...             StateDef("passed", terminal="success"), StateDef("failed", terminal="failure")],
    ...     transitions=[TransitionDef("start", "queued", "running"),
    ...                  TransitionDef("pass_", "running", "passed"),
    ...                  TransitionDef("fail", ["queued", "running"], "failed")],
    ... )
    >>> ci.triggers_from("running")
    ('pass_', 'fail')
    >>> ci.is_terminal("passed")
    True
    """

    name: str
    initial: str
    states: tuple[StateDef, ...] = attrs.field(converter=_as_states)
    transitions: tuple[TransitionDef, ...] = attrs.field(converter=_as_transitions)
    description: str = ""

    state_names: tuple[str, ...] = attrs.field(init=False)
    """State names in definition order (the order of :attr:`index` and the matrices)."""
    index: Mapping[str, int] = attrs.field(init=False)
    triggers: tuple[str, ...] = attrs.field(init=False)
    """Trigger names in definition order."""
    terminal_states: frozenset[str] = attrs.field(init=False)
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
        problems = check_definition(self.initial, self.states, self.transitions)
        if problems:
            raise InvalidLifecycle(self.name, problems)
        put = object.__setattr__
        put(self, "_hash", hash(self._definition()))
        names = tuple(s.name for s in self.states)
        put(self, "state_names", names)
        put(self, "index", {n: i for i, n in enumerate(names)})
        put(self, "_by_name", {s.name: s for s in self.states})
        put(self, "terminal_states", frozenset(s.name for s in self.states if s.is_terminal))
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
        put(self, "_from", {n: tuple(dict.fromkeys(ts)) for n, ts in out.items()})
        put(self, "_between", between)
        put(self, "_paths", self._shortest_paths(dest))
        edges = {n: [dest[t, n] for t in self._from[n]] for n in names}
        active = set(self.states_of("active"))
        before_running = _reach_avoiding(edges, self.initial, active)
        put(self, "ran_states", frozenset(names) - before_running)
        spoken: dict[str, tuple[str, str]] = {}
        codes: dict[int, tuple[str, str]] = {}
        for s in self.states:
            spoken[s.name] = (s.name, "v1")
            if s.v2 is not None:
                spoken.setdefault(s.v2, (s.name, "v2"))
            if s.code is not None:
                codes[s.code] = (s.name, "code")
        put(self, "_names", spoken)
        put(self, "_codes", codes)

    def _shortest_paths(
        self, dest: Mapping[tuple[str, str], str]
    ) -> dict[tuple[str, str], tuple[str, ...]]:
        """Breadth-first search from every state; ties go to the earlier-defined trigger."""
        # triggers leaving each state, in table order (the tie-break)
        ordered = {s: [t for t in self.triggers if (t, s) in dest] for s in self.state_names}
        paths: dict[tuple[str, str], tuple[str, ...]] = {}
        for start in self.state_names:
            queue: deque[tuple[str, tuple[str, ...]]] = deque([(start, ())])
            seen = {start}
            paths[(start, start)] = ()
            while queue:
                here, path = queue.popleft()
                for trig in ordered[here]:
                    nxt = dest[(trig, here)]
                    if nxt not in seen:
                        seen.add(nxt)
                        paths[(start, nxt)] = (*path, trig)
                        queue.append((nxt, (*path, trig)))
        return paths

    def __repr__(self) -> str:
        return (
            f"<Lifecycle {self.name!r}: {len(self.states)} states, {len(self.triggers)} triggers>"
        )

    # -- a value: compared, hashed and pickled by its definition ----------------------------

    def _definition(self) -> tuple[Any, ...]:
        return (self.name, self.initial, self.states, self.transitions, self.description)

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Lifecycle):
            return NotImplemented
        return self._hash == other._hash and self._definition() == other._definition()

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[Any, ...]:
        if self == _builtins.get(self.name):
            return (get_lifecycle, (self.name,))
        return (_from_definition, self._definition())

    # -- the table, compiled ------------------------------------------------------------------

    def state(self, name: str) -> StateDef:
        """The :class:`StateDef` of ``name`` (KeyError when unknown)."""
        return self._by_name[name]

    def has_state(self, name: object) -> bool:
        return isinstance(name, str) and name in self._by_name

    def states_of(self, klass: str) -> frozenset[str]:
        """The states of one class (a phase or an outcome).

        >>> sorted(COPY_TASK.states_of("active")), sorted(COPY_TASK.states_of("failure"))
        (['kRunning'], ['kFailure'])
        """
        return frozenset(s.name for s in self.states if s.klass == klass)

    def is_terminal(self, name: str) -> bool:
        return name in self.terminal_states

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
        """The shortest trigger sequence from ``source`` to ``dest`` (None when unreachable).

        >>> COPY_TASK.path("kAccepted", "kCanceled")
        ('cancel', 'confirm_cancel')
        """
        return self._paths.get((source, dest))

    def adjacency(self) -> npt.NDArray[np.bool_]:
        """``A[i, j]`` is True when one trigger leads from state i to state j (index order)."""
        n = len(self.state_names)
        a = np.zeros((n, n), dtype=np.bool_)
        for src, dst in self._between:
            a[self.index[src], self.index[dst]] = True
        return a

    def reachability(self) -> npt.NDArray[np.bool_]:
        """``R[i, j]`` is True when one or more triggers lead from state i to state j."""
        a = self.adjacency()
        r = a.copy()
        for _ in range(len(self.state_names)):  # transitive closure by squaring
            nxt = r | ((r.astype(np.uint8) @ r.astype(np.uint8)) > 0)
            if (nxt == r).all():
                break
            r = nxt
        return r

    # -- vocabularies ------------------------------------------------------------------------

    def _alias(self, value: object) -> tuple[str, str] | None:
        if isinstance(value, str):
            return self._names.get(value)
        if type(value) is int:
            return self._codes.get(value)
        return None

    def canonical(self, value: object) -> str | None:
        """The state a v1, v2 or numeric-code name stands for, or None when unknown."""
        hit = self._alias(value)
        return hit[0] if hit else None

    def vocabulary(self, value: object) -> str | None:
        """Which vocabulary (``v1``, ``v2``, ``code``) ``value`` is from, or None when unknown."""
        hit = self._alias(value)
        return hit[1] if hit else None

    def translate(self, state: str, vocabulary: str) -> str | int:
        """The name of ``state`` in ``vocabulary`` (falls back to its own name).

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
        for other in builtin_lifecycles():
            if other is not self and other.canonical(value) is not None:
                return f"{reason}; it is one of {other.name!r} (pass lifecycle={other.name!r})"
        return f"{reason} (expected one of {', '.join(self.state_names)})"

    # -- as data -----------------------------------------------------------------------------

    def to_mapping(self) -> dict[str, Any]:
        """The definition in the TOML/JSON file shape (:func:`load_lifecycle` reads it back)."""
        states: dict[str, Any] = {}
        for s in self.states:
            d = {k: v for k, v in attrs.asdict(s).items() if k != "name" and v not in (None, "")}
            states[s.name] = d
        return {
            "name": self.name,
            "description": self.description,
            "initial": self.initial,
            "states": states,
            "transitions": [
                {"trigger": t.trigger, "source": list(t.source), "dest": t.dest}
                for t in self.transitions
            ],
        }

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, origin: str = "<mapping>") -> Lifecycle:
        """Build from the TOML/JSON file shape; ``extends`` names a base lifecycle to add to."""
        states, transitions, initial, name, description = _parse(data, origin)
        return cls(name, initial, states, transitions, description)


_STATE_KEYS = {"terminal", "phase", "v2", "code", "description"}
_TOP_KEYS = {"name", "description", "initial", "extends", "states", "transitions"}


def _parse(
    data: Mapping[str, Any], origin: str
) -> tuple[list[StateDef], list[TransitionDef], Any, str, str]:
    """Turn the file shape into parts; shape errors raise InvalidLifecycle naming the key."""
    if not isinstance(data, Mapping):
        stem = Path(origin).stem
        raise InvalidLifecycle(stem, [f"{origin}: a lifecycle is a table/object, got {data!r}"])
    name = str(data.get("name") or Path(origin).stem)
    problems = [f"unknown key {k!r}" for k in data if k not in _TOP_KEYS]
    states: list[StateDef] = []
    transitions: list[TransitionDef] = []
    initial: Any = data.get("initial")
    base_description = ""
    if "extends" in data:
        base = _base_of(name, data["extends"], origin)
        states = list(base.states)
        transitions = list(base.transitions)
        initial = data.get("initial", base.initial)
        base_description = base.description
    raw_states = data.get("states", {})
    if not isinstance(raw_states, Mapping):
        problems.append(f"'states' must be a table of state names, got {raw_states!r}")
        raw_states = {}
    for sname, sdata in raw_states.items():
        if sdata is None:
            sdata = {}
        if not isinstance(sdata, Mapping):
            problems.append(f"state {sname!r}: must be a table, got {sdata!r}")
            continue
        problems += [f"state {sname!r}: unknown key {k!r}" for k in sdata if k not in _STATE_KEYS]
        for key, typ in (("terminal", str), ("phase", str), ("v2", str), ("description", str)):
            if key in sdata and not isinstance(sdata[key], typ):
                problems.append(f"state {sname!r}: {key} must be a string, got {sdata[key]!r}")
        code = sdata.get("code")
        if code is not None and (not isinstance(code, int) or isinstance(code, bool)):
            problems.append(f"state {sname!r}: code must be an integer, got {code!r}")
        states.append(StateDef(sname, **{k: v for k, v in sdata.items() if k in _STATE_KEYS}))
    raw_transitions = data.get("transitions", [])
    if not isinstance(raw_transitions, list):
        problems.append(f"'transitions' must be a list, got {raw_transitions!r}")
        raw_transitions = []
    for i, tdata in enumerate(raw_transitions):
        where = f"transitions[{i}]"
        if not isinstance(tdata, Mapping):
            problems.append(f"{where}: must be a table, got {tdata!r}")
            continue
        problems += [
            f"{where}: unknown key {k!r}" for k in tdata if k not in {"trigger", "source", "dest"}
        ]
        missing = [k for k in ("trigger", "source", "dest") if k not in tdata]
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
            continue
        src = tdata["source"]
        if not (
            isinstance(src, str) or (isinstance(src, list) and all(isinstance(x, str) for x in src))
        ):
            problems.append(f"{where}: source must be a state name or a list of them, got {src!r}")
            continue
        new = TransitionDef(tdata["trigger"], src, tdata["dest"])
        for j, old in enumerate(transitions):  # same trigger and dest: add the sources
            if (old.trigger, old.dest) == (new.trigger, new.dest) and "extends" in data:
                transitions[j] = TransitionDef(old.trigger, old.source + new.source, old.dest)
                break
        else:
            transitions.append(new)
    if problems:
        raise InvalidLifecycle(name, problems)
    description = str(data.get("description", base_description))
    return states, transitions, initial, name, description


_extending: ContextVar[tuple[str, ...]] = ContextVar("_extending", default=())
"""The files/names this thread or task is loading, to refuse an ``extends`` cycle."""


def _base_of(name: str, extends: object, origin: str) -> Lifecycle:
    if not isinstance(extends, str) or not extends:
        raise InvalidLifecycle(name, [f"extends must be a lifecycle name or file, got {extends!r}"])
    key = (
        str((Path(origin).parent / extends).resolve())
        if extends.endswith((".toml", ".json"))
        else extends
    )
    loading = _extending.get()
    if key in loading:
        raise InvalidLifecycle(name, [f"extends cycle: {' -> '.join([*loading, key])}"])
    token = _extending.set((*loading, key))
    try:
        return get_lifecycle(extends, relative_to=Path(origin).parent)
    finally:
        _extending.reset(token)


def _read_file(path: Path) -> dict[str, Any]:
    name = path.stem
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidLifecycle(name, [f"{path}: cannot read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise InvalidLifecycle(
            name, [f"{path}: not UTF-8 text: {exc.reason} at byte {exc.start}"]
        ) from None
    try:
        if path.suffix == ".json":
            return json.loads(text, object_pairs_hook=_no_duplicate_keys(name))  # type: ignore[no-any-return]
        return tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        if isinstance(exc, InvalidLifecycle):
            raise
        raise InvalidLifecycle(
            name, [f"{path}: not valid {path.suffix[1:].upper()}: {exc}"]
        ) from None


def _no_duplicate_keys(name: str) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in pairs:
            if k in out:
                raise InvalidLifecycle(name, [f"duplicate name {k!r}"])
            out[k] = v
        return out

    return hook


def load_lifecycle(path: str | os.PathLike[str]) -> Lifecycle:
    """Read and check a lifecycle from a ``.toml`` or ``.json`` file.

    >>> load_lifecycle("nope.toml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    tasklife.errors.InvalidLifecycle: lifecycle 'nope' is not sound:
      nope.toml: cannot read: ...
    """
    p = Path(path)
    return Lifecycle.from_mapping(_read_file(p), origin=str(p))


_BUILTIN_FILES: Final = {"copy-task": "copy-task.toml", "copy-task-6.8": "copy-task-6.8.toml"}
_builtins: dict[str, Lifecycle] = {}
_unpickled: weakref.WeakValueDictionary[tuple[Any, ...], Lifecycle] = weakref.WeakValueDictionary()
"""Lifecycles rebuilt by unpickling, by definition: each record of a batch sent to a worker
carries its lifecycle, which is checked and compiled once per process, not once per record."""


def _from_definition(*definition: Any) -> Lifecycle:
    lifecycle = _unpickled.get(definition)
    if lifecycle is None:
        lifecycle = _unpickled.setdefault(definition, Lifecycle(*definition))
    return lifecycle


def builtin_lifecycles() -> tuple[Lifecycle, ...]:
    """The lifecycles that ship with tasklife (``copy-task`` first)."""
    return tuple(get_lifecycle(n) for n in _BUILTIN_FILES)


def get_lifecycle(
    spec: str | os.PathLike[str] | Lifecycle, *, relative_to: Path | None = None
) -> Lifecycle:
    """Resolve a lifecycle given as a value, a built-in name or a ``.toml``/``.json`` path.

    >>> get_lifecycle("copy-task-6.8").has_state("kFinalizing")
    True
    """
    if isinstance(spec, Lifecycle):
        return spec
    if isinstance(spec, str) and spec in _BUILTIN_FILES:
        if spec not in _builtins:
            res = resources.files("tasklife") / "lifecycles" / _BUILTIN_FILES[spec]
            data = tomllib.loads(res.read_text(encoding="utf-8"))
            _builtins[spec] = Lifecycle.from_mapping(data, origin=_BUILTIN_FILES[spec])
        return _builtins[spec]
    path = Path(spec)
    if relative_to is not None and not path.is_absolute():
        path = relative_to / path
    if path.suffix in (".toml", ".json") and path.is_file():
        return load_lifecycle(path)
    raise UnknownLifecycle(str(spec), list(_BUILTIN_FILES))


COPY_TASK: Final = get_lifecycle("copy-task")
"""The copy-task lifecycle of ``CopySnapshotTaskStatus`` (the nine statuses; the default)."""
COPY_TASK_6_8: Final = get_lifecycle("copy-task-6.8")
"""``copy-task`` plus ``kFinalizing`` (cluster 6.8.1, SDK 1.16)."""
