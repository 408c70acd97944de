"""The other ways a trigger is fired: ``afire``'s move and the transitions-callbacks path.

:meth:`Tracked.fire <tasklife.tracking.records.Tracked.fire>` writes its fast path out (the
move and the inline delivery); these are the paths where one more call costs nothing that
matters: ``afire`` awaits its delivery, and transitions' machinery dwarfs a call.
"""

from __future__ import annotations

from typing import Any

from tasklife.tracking.delivery import Delivery, enqueue, raise_after
from tasklife.tracking.dispatch import deliver
from tasklife.tracking.locks import STRIPE_LOCKS, STRIPE_SHIFT, STRIPES
from tasklife.tracking.moves import Tables, apply_move, check_move

__all__ = ["PlainRun", "fire_plain", "fire_through_machine"]

_MASK = STRIPES - 1


class PlainRun:
    """What ``afire`` needs of a fast-path move: as :class:`~tasklife.tracking.machine.Run`."""

    __slots__ = ("applied", "change", "delivery", "head")

    def __init__(self, change: tuple[str, str, str, int], d: Delivery | None, head: bool):
        self.applied = True
        self.change = change
        self.delivery = d
        self.head = head


def fire_plain(
    record: Any, tables: Tables, trigger: str, at_usecs: int | None, error: str | None
) -> PlainRun:
    """The fast path for ``afire`` (the same move as ``fire``'s; its delivery is awaited)."""
    cls = type(record)
    stripe = (id(record) >> STRIPE_SHIFT) & _MASK
    with STRIPE_LOCKS[stripe]:
        source, dest, at = check_move(record, tables, trigger, at_usecs, error)
        apply_move(record, tables, source, dest, trigger, at, error)
        change = (trigger, source, dest, at)
        listeners = cls._listeners
        d = Delivery(record, stripe, change, listeners, is_async=True) if listeners else None
        head = enqueue(d) if d is not None else False
    return PlainRun(change, d, head)


def fire_through_machine(
    record: Any, trigger: str, at_usecs: int | None, error: str | None, kwargs: dict[str, Any]
) -> bool:
    run, callback_error = type(record)._machine.run(record, trigger, at_usecs, error, kwargs)
    if not run.applied:
        return False
    known = [callback_error] if callback_error is not None else None
    if run.delivery is not None:
        deliver(run.delivery, run.head, known)
    elif known:
        raise_after(record, run.change, known)
    return True
