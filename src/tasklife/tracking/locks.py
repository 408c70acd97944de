"""Striped locks: a record carries no lock; its identity picks one of a fixed pool.

Theory of operation
-------------------
Every change of a record happens under the lock of its *stripe* (``stripe(record)``), held
only for the few attribute reads and writes of that change: nothing is ever called out (no
listener, no transitions callback, no clock but the record's own) while a stripe is held, and
no thread holds two stripes at once. So stripes cannot deadlock, and two records that share a
stripe only wait for each other's microseconds.

Each stripe also has a :class:`threading.Condition` on its lock, for the rare waits: a thread
waiting for its delivery to listeners to be executed, or for a record :func:`claim`-ed by
another thread while transitions' callbacks run (:mod:`tasklife.tracking.machine`).

Forking: before ``os.fork()`` every stripe is acquired (so no record is half-changed in the
child), released after it in the parent, and replaced by fresh locks in the child, where the
threads that were waiting no longer exist. Modules with per-thread state register a reset
with :func:`after_fork_in_child`. ``STRIPE_LOCKS`` and ``STRIPE_CONDITIONS`` are lists
refilled in place, so references to them stay valid.

>>> lock = STRIPE_LOCKS[stripe(object())]
>>> lock.acquire(), lock.release()
(True, None)
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any, Final

__all__ = [
    "STRIPES",
    "STRIPE_CONDITIONS",
    "STRIPE_LOCKS",
    "STRIPE_SHIFT",
    "after_fork_in_child",
    "claim",
    "release",
    "stripe",
]

STRIPES: Final = 256
"""Number of lock stripes: a power of two, so a stripe is a mask of the identity. 256 makes
two busy records of a few dozen threads rarely share one, and is still cheap to acquire all
of before a fork (about 15 µs)."""
STRIPE_SHIFT: Final = 4
"""Low bits of ``id()`` that carry no information: objects are 16-byte aligned."""
_MASK: Final = STRIPES - 1

STRIPE_LOCKS: list[threading.Lock] = [threading.Lock() for _ in range(STRIPES)]
STRIPE_CONDITIONS: list[threading.Condition] = [threading.Condition(lk) for lk in STRIPE_LOCKS]
_child_resets: list[Callable[[], None]] = []


def stripe(record: Any) -> int:
    """The stripe index of ``record`` (its identity, shifted and masked)."""
    return (id(record) >> STRIPE_SHIFT) & _MASK


def after_fork_in_child(reset: Callable[[], None]) -> None:
    """Call ``reset()`` in a forked child, after the stripes were replaced (register once)."""
    _child_resets.append(reset)


_claims: dict[int, list[int]] = {}
"""id(record) -> [thread ident, depth, waiters]: records busy in transitions' callbacks."""


def claim(record: Any) -> tuple[int, int]:
    """Hold ``record`` for this thread while transitions' callbacks run (re-entrant: the same
    thread may claim it again); another thread's claim is waited for. Returns the key and
    stripe to :func:`release` it with. The uncontended path takes only the stripe's lock."""
    key = id(record)
    i = (key >> STRIPE_SHIFT) & _MASK
    me = threading.get_ident()
    lock = STRIPE_LOCKS[i]
    lock.acquire()
    try:
        while True:
            held = _claims.get(key)
            if held is None:
                _claims[key] = [me, 1, 0]
                return key, i
            if held[0] == me:
                held[1] += 1
                return key, i
            held[2] += 1
            STRIPE_CONDITIONS[i].wait()  # the condition is on this very lock
            held[2] -= 1
    finally:
        lock.release()


def release(key: int, i: int) -> None:
    """Give back one claim taken by :func:`claim`; wake the threads waiting for it."""
    lock = STRIPE_LOCKS[i]
    lock.acquire()
    try:
        held = _claims[key]
        held[1] -= 1
        if not held[1]:
            del _claims[key]
            if held[2]:
                STRIPE_CONDITIONS[i].notify_all()
    finally:
        lock.release()


def _before_fork() -> None:
    for lock in STRIPE_LOCKS:
        lock.acquire()


def _after_fork_in_parent() -> None:
    for lock in STRIPE_LOCKS:
        lock.release()


def _after_fork_in_child() -> None:
    STRIPE_LOCKS[:] = [threading.Lock() for _ in range(STRIPES)]
    STRIPE_CONDITIONS[:] = [threading.Condition(lk) for lk in STRIPE_LOCKS]
    _claims.clear()
    for reset in _child_resets:
        reset()


os.register_at_fork(
    before=_before_fork,
    after_in_parent=_after_fork_in_parent,
    after_in_child=_after_fork_in_child,
)
