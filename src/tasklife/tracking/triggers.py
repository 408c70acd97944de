"""Trigger methods derived from a lifecycle table, and typed ones checked against it.

A record class bound to a lifecycle gets one method per trigger of its table (``finalize()``
for ``copy-task-6.8``), made here with the table's sources and destinations as docstring and
an ``error`` argument exactly when the trigger can lead to a state whose error rule is not
``forbidden`` (the table's ``error`` column: ``warn(error=...)`` in copy-task); inherited trigger
methods that are not triggers of the lifecycle are hidden (a CI job has no ``miss()``). A
trigger that is not a usable method name (``pass``, or a record attribute) is fired by name.
Hand-written typed methods (the copy-task ones) are checked against their table instead.
"""

from __future__ import annotations

import inspect
import keyword
from collections.abc import Callable
from typing import Any

from tasklife.errors import TaskLifeError
from tasklife.lifecycle import Lifecycle

__all__ = ["check_typed_triggers", "trigger_methods"]


class _NoTrigger:
    """Hides an inherited trigger method that is not a trigger of the class's lifecycle."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, record: Any, owner: Any) -> Any:
        raise AttributeError(
            f"{owner.__name__} has no method {self.name!r}: {self.name!r} is not a trigger of "
            f"lifecycle {owner.lifecycle.name!r}"
        )


def _error_rules(lc: Lifecycle, trigger: str) -> set[str]:
    """The error rules of the states ``trigger`` leads to."""
    return {lc.state(d).error_rule for (t, _), d in lc.table.items() if t == trigger}


def _trigger_method(lc: Lifecycle, trigger: str) -> Callable[..., bool]:
    moves = [(s, d) for (t, s), d in lc.table.items() if t == trigger]
    takes_error = _error_rules(lc, trigger) != {"forbidden"}
    if takes_error:

        def method(self: Any, error: str | None = None, *, at_usecs: int | None = None) -> bool:
            return bool(self.fire(trigger, at_usecs=at_usecs, error=error))

    else:

        def method(self: Any, *, at_usecs: int | None = None) -> bool:  # type: ignore[misc]
            return bool(self.fire(trigger, at_usecs=at_usecs))

    method.__name__ = method.__qualname__ = trigger
    method.__doc__ = "; ".join(f"{s} -> {d}" for s, d in moves) + f" (lifecycle {lc.name!r})"
    return method


def trigger_methods(cls: type, lc: Lifecycle) -> dict[str, Any]:
    """The namespace of ``cls`` bound to ``lc``: a method per trigger, inherited ones hidden."""
    inherited: frozenset[str] = getattr(cls, "_trigger_methods_", frozenset())
    namespace: dict[str, Any] = {name: _NoTrigger(name) for name in inherited}
    made = []
    for trigger in lc.triggers:
        usable = trigger.isidentifier() and not keyword.iskeyword(trigger)
        if (
            not usable
            or trigger.startswith("_")
            or (trigger not in inherited and hasattr(cls, trigger))
        ):
            continue  # fired by name only: fire(trigger)
        namespace[trigger] = _trigger_method(lc, trigger)
        made.append(trigger)
    namespace["_trigger_methods_"] = frozenset(made)
    return namespace


def check_typed_triggers(cls: type, lc: Lifecycle) -> None:
    """Refuse typed trigger methods that are not exactly the triggers of ``lc``: one each,
    taking ``error`` exactly when the trigger leads to a state whose error rule is not
    ``forbidden``, without a default exactly when every such state requires one."""
    methods = {n for n, v in vars(cls).items() if inspect.isfunction(v) and not n.startswith("_")}
    problems = []
    if methods != set(lc.triggers):
        problems.append(f"methods {sorted(methods)} are not the triggers {sorted(lc.triggers)}")
    for name in methods & set(lc.triggers):
        param = inspect.signature(getattr(cls, name)).parameters.get("error")
        rules = _error_rules(lc, name)
        if (param is not None) != (rules != {"forbidden"}):
            problems.append(f"{name}() {'takes' if param else 'lacks'} an error argument")
        elif param is not None and (param.default is param.empty) != (rules == {"required"}):
            problems.append(f"{name}(): an error is required exactly when the table says")
    if problems:
        raise TaskLifeError(f"{cls.__name__} disagrees with {lc.name!r}: {'; '.join(problems)}")
