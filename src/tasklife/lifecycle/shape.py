"""The TOML/JSON shape of a lifecycle: a table of ``name``, ``description``, ``initial``,
``states`` (a table of state tables) and ``transitions`` (a list of tables), read into parts
and written back.

Reading checks the shape only (unknown keys, wrong types), naming the key at fault; whether
the parts make a sound lifecycle is :func:`~tasklife.lifecycle.definition.check_definition`'s
question. A file that ``extends`` another lifecycle is read on top of that lifecycle's parts
(resolving the name or file is :mod:`tasklife.lifecycle.loading`'s job): its states are
added, and a transition whose trigger and destination already exist adds its sources.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import attrs

from tasklife.errors import InvalidLifecycle, shown
from tasklife.lifecycle.definition import NO_LIVENESS, LivenessDef, StateDef, TransitionDef

__all__ = ["Parts", "parse_dictionary", "to_dictionary"]

_TOP_KEYS: Final = (
    *("name", "description", "initial", "extends"),
    *("states", "transitions", "liveness"),
)
_LIVENESS_KEYS: Final = ("lost", "deadline", "retry")
_STATE_KEYS: Final = ("outcome", "phase", "v2", "code", "description", "error")
_STRING_STATE_KEYS: Final = ("outcome", "phase", "v2", "description", "error")
_TRANSITION_KEYS: Final = ("trigger", "source", "dest")


@attrs.frozen
class Parts:
    """A lifecycle's definition as read, not yet checked (``initial`` may be anything)."""

    name: str
    initial: Any
    states: Sequence[StateDef]
    transitions: Sequence[TransitionDef]
    description: str = ""
    liveness: LivenessDef = NO_LIVENESS


def to_dictionary(
    name: str,
    description: str,
    initial: str,
    states: Sequence[StateDef],
    transitions: Sequence[TransitionDef],
    liveness: LivenessDef = NO_LIVENESS,
) -> dict[str, Any]:
    """The definition in the file shape (unset state fields left out).

    >>> to_dictionary("a", "", "x", [StateDef("x", outcome="success")], [])["states"]
    {'x': {'outcome': 'success'}}
    """
    data: dict[str, Any] = {
        "name": name,
        "description": description,
        "initial": initial,
        "states": {
            s.name: {
                k: v for k, v in attrs.asdict(s).items() if k != "name" and v not in (None, "")
            }
            for s in states
        },
        "transitions": [
            {"trigger": t.trigger, "source": list(t.source), "dest": t.dest} for t in transitions
        ],
    }
    if liveness != NO_LIVENESS:  # a lifecycle without one keeps its file shape
        data["liveness"] = {
            k: v
            for k, v in (("lost", liveness.lost), ("deadline", liveness.deadline),
                         ("retry", dict(liveness.retry)))
            if v
        }  # fmt: skip
    return data


def parse_dictionary(data: Mapping[str, Any], origin: str, base: Parts | None = None) -> Parts:
    """The parts of a lifecycle in the file shape, on top of ``base`` (the parts of the
    lifecycle it ``extends``, already resolved). Shape errors raise
    :class:`~tasklife.errors.InvalidLifecycle` naming the key.

    >>> parse_dictionary({"extends": "copy-task"}, "x.toml")
    Traceback (most recent call last):
    tasklife.errors.InvalidLifecycle: lifecycle 'x' is not sound:
      extends: only a lifecycle file can extend another (read it with load_lifecycle)
    """
    if not isinstance(data, Mapping):
        stem = Path(origin).stem
        problem = f"{origin}: a lifecycle is a table/object, got {shown(data)}"
        raise InvalidLifecycle(stem, [problem])
    name = data.get("name") or Path(origin).stem
    problems = [f"unknown key {shown(k)}" for k in data if k not in _TOP_KEYS]
    for key in ("name", "description"):
        if key in data and not isinstance(data[key], str):
            problems.append(f"{key} must be a string, got {shown(data[key])}")
    if not isinstance(name, str):
        name = Path(origin).stem
    if "extends" in data and base is None:
        problems.append(
            "extends: only a lifecycle file can extend another (read it with load_lifecycle)"
        )
    states = list(base.states) if base else []
    states += _parse_states(data.get("states", {}), problems)
    transitions = list(base.transitions) if base else []
    for new in _parse_transitions(data.get("transitions", []), problems):
        for j, old in enumerate(transitions):  # same trigger and dest: add the sources
            if base is not None and (old.trigger, old.dest) == (new.trigger, new.dest):
                transitions[j] = TransitionDef(old.trigger, old.source + new.source, old.dest)
                break
        else:
            transitions.append(new)
    if problems:
        raise InvalidLifecycle(name, problems)
    liveness = _parse_liveness(data.get("liveness"), base, problems)
    if problems:
        raise InvalidLifecycle(name, problems)
    initial = data.get("initial", base.initial if base else None)
    description = data.get("description", base.description if base else "")
    return Parts(name, initial, states, transitions, description, liveness)


def _parse_liveness(raw: Any, base: Parts | None, problems: list[str]) -> LivenessDef:
    """The ``[liveness]`` table on top of the extended lifecycle's (its keys replace)."""
    old = base.liveness if base else NO_LIVENESS
    if raw is None:
        return old
    if not isinstance(raw, Mapping):
        problems.append(f"'liveness' must be a table, got {shown(raw)}")
        return old
    problems += [f"liveness: unknown key {shown(k)}" for k in raw if k not in _LIVENESS_KEYS]
    for key in ("lost", "deadline"):
        if key in raw and not isinstance(raw[key], str):
            problems.append(f"liveness.{key} must be a trigger name, got {shown(raw[key])}")
    retry = raw.get("retry", dict(old.retry))
    if not isinstance(retry, Mapping):
        problems.append(f"liveness.retry must be a table of state = count, got {shown(retry)}")
        retry = {}
    return LivenessDef(raw.get("lost", old.lost), raw.get("deadline", old.deadline), retry)


def _parse_states(raw: Any, problems: list[str]) -> list[StateDef]:
    if not isinstance(raw, Mapping):
        problems.append(f"'states' must be a table of state names, got {shown(raw)}")
        return []
    states = []
    for name, fields in raw.items():
        if fields is None:
            fields = {}
        if not isinstance(fields, Mapping):
            problems.append(f"state {shown(name)}: must be a table, got {shown(fields)}")
            continue
        problems += [
            f"state {shown(name)}: unknown key {shown(k)}" for k in fields if k not in _STATE_KEYS
        ]
        for key in _STRING_STATE_KEYS:
            if key in fields and not isinstance(fields[key], str):
                got = shown(fields[key])
                problems.append(f"state {shown(name)}: {key} must be a string, got {got}")
        code = fields.get("code")
        if code is not None and (not isinstance(code, int) or isinstance(code, bool)):
            problems.append(f"state {shown(name)}: code must be an integer, got {shown(code)}")
        states.append(StateDef(name, **{k: v for k, v in fields.items() if k in _STATE_KEYS}))
    return states


def _parse_transitions(raw: Any, problems: list[str]) -> list[TransitionDef]:
    if not isinstance(raw, list):
        problems.append(f"'transitions' must be a list, got {shown(raw)}")
        return []
    transitions = []
    for i, fields in enumerate(raw):
        where = f"transitions[{i}]"
        if not isinstance(fields, Mapping):
            problems.append(f"{where}: must be a table, got {shown(fields)}")
            continue
        problems += [
            f"{where}: unknown key {shown(k)}" for k in fields if k not in _TRANSITION_KEYS
        ]
        missing = [k for k in _TRANSITION_KEYS if k not in fields]
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
            continue
        src = fields["source"]
        if not (
            isinstance(src, str) or (isinstance(src, list) and all(isinstance(x, str) for x in src))
        ):
            got = shown(src)
            problems.append(f"{where}: source must be a state name or a list of them, got {got}")
            continue
        transitions.append(TransitionDef(fields["trigger"], src, fields["dest"]))
    return transitions
