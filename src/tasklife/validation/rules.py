"""The rules every judge applies, read from the lifecycle table and written once.

* :func:`accept_status`: which state a status value names, in the accepted vocabulary;
* :func:`transition_verdict`: the verdict on one change of status (its kind, or legal, and
  the trigger path that explains it);
* :func:`state_rules`: the states that are final, that need a start time, that require or
  forbid an error: what the snapshot rules of :data:`~tasklife.validation.kinds.KINDS`
  compare with.

:func:`~tasklife.validation.validate` applies them to one history; the vectorised judge of
event logs (:mod:`tasklife.eventlog.kernel`) tabulates them for every state or pair of states.
"""

from __future__ import annotations

from functools import cache
from typing import Final

import attrs

from tasklife.lifecycle import Lifecycle

__all__ = [
    "FINE",
    "GAP",
    "KIND_BASE",
    "MODES",
    "VOCABULARY_CHOICES",
    "StateRules",
    "accept_status",
    "check_mode",
    "check_vocabulary",
    "pair_verdicts",
    "state_rules",
    "transition_verdict",
]

MODES: Final = ("strict", "polling")
"""strict: each change of status is one transition; polling: the destination is reachable."""
VOCABULARY_CHOICES: Final = ("auto", "v1", "v2", "code")
"""Which names of states are accepted: any (``auto``), or those of one vocabulary."""


def check_mode(mode: str) -> None:
    """Refuse a mode that is not one of :data:`MODES`."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")


def check_vocabulary(vocabulary: str) -> None:
    """Refuse a vocabulary that is not one of :data:`VOCABULARY_CHOICES`."""
    if vocabulary not in VOCABULARY_CHOICES:
        raise ValueError(
            f"vocabulary must be one of {', '.join(VOCABULARY_CHOICES)}, got {vocabulary!r}"
        )


@attrs.frozen
class StateRules:
    """What one lifecycle implies for snapshots, computed once per lifecycle."""

    final: frozenset[str]
    needs_start: frozenset[str]
    """States reachable from the initial state only through an active-phase state."""
    error_required: frozenset[str]
    """States whose error rule is ``required`` (copy-task: kFailure)."""
    error_forbidden: frozenset[str]
    """States whose error rule is ``forbidden`` (copy-task: all but kFailure and kWarning)."""


@cache
def state_rules(lifecycle: Lifecycle) -> StateRules:
    """The snapshot rules of ``lifecycle``.

    >>> from tasklife.lifecycle import COPY_TASK
    >>> sorted(state_rules(COPY_TASK).needs_start)
    ['kRunning', 'kSuccess', 'kWarning']
    """
    return StateRules(
        final=lifecycle.final_states,
        needs_start=lifecycle.ran_states,
        error_required=lifecycle.states_with_error("required"),
        error_forbidden=lifecycle.states_with_error("forbidden"),
    )


def accept_status(
    lifecycle: Lifecycle, raw: object, vocabulary: str
) -> tuple[str | None, str | None]:
    """``(state, reason)``: the state ``raw`` names, or None and why it is not accepted.

    >>> from tasklife.lifecycle import COPY_TASK
    >>> accept_status(COPY_TASK, "Running", "v1")
    (None, "'Running' is a v2 name; the vocabulary is v1")
    """
    state = lifecycle.canonical(raw)
    if state is None:
        return None, f"unknown status {raw!r}: {lifecycle.unknown_status_reason(raw)}"
    found = lifecycle.vocabulary(raw)
    if vocabulary != "auto" and found != vocabulary:
        return None, f"{raw!r} is a {found} name; the vocabulary is {vocabulary}"
    return state, None


def transition_verdict(
    lifecycle: Lifecycle, source: str, dest: str, mode: str
) -> tuple[str | None, tuple[str, ...] | None]:
    """``(kind, path)`` for a change of status ``source`` -> ``dest`` (two different
    states): kind None when legal; ``path`` the shortest trigger path between them.

    >>> from tasklife.lifecycle import COPY_TASK
    >>> transition_verdict(COPY_TASK, "kAccepted", "kSuccess", "polling")
    (None, ('start', 'succeed'))
    >>> transition_verdict(COPY_TASK, "kAccepted", "kSuccess", "strict")
    ('illegal-transition', ('start', 'succeed'))
    """
    if lifecycle.is_final(source):
        return "after-final", None
    path = lifecycle.path(source, dest)
    if path is not None and (len(path) == 1 or mode == "polling"):
        return None, path
    return "illegal-transition", path


FINE: Final = 0
"""A pair that is the same status again or one transition."""
GAP: Final = 1
"""A pair polling mode explains by a path of several transitions."""
KIND_BASE: Final = 2
"""A pair that is a violation is coded ``KIND_BASE +`` its kind's index in ``KINDS``."""


@cache
def pair_verdicts(lifecycle: Lifecycle, mode: str) -> tuple[tuple[int, ...], ...]:
    """The verdict on every pair of state indices ``[source][dest]``: :data:`FINE`,
    :data:`GAP`, or :data:`KIND_BASE` + the index in ``KINDS`` of its violation kind; read
    from :func:`transition_verdict`, so every judge tabulates the one rule.

    >>> from tasklife.lifecycle import COPY_TASK
    >>> i = COPY_TASK.index
    >>> pair_verdicts(COPY_TASK, "polling")[i["kAccepted"]][i["kSuccess"]] == GAP
    True
    """
    from tasklife.validation.kinds import KIND_NAMES

    names = lifecycle.state_names
    table = []
    for source in names:
        row = []
        for dest in names:
            code = FINE  # the same status again: a re-observation
            if source != dest:
                kind, path = transition_verdict(lifecycle, source, dest, mode)
                code = GAP if len(path or ()) > 1 else FINE
                if kind is not None:
                    code = KIND_BASE + KIND_NAMES.index(kind)
            row.append(code)
        table.append(tuple(row))
    return tuple(table)
