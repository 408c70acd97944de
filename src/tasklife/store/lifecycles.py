"""The lifecycles of a store's tasks: stored once each, by name, with their definition.

Any process can then fire any stored task, whatever lifecycle it follows. A stored built-in
lifecycle is read back as the built-in value itself (so its shared machine, and the listeners
on it, are the ones the caller knows); a lifecycle a caller added is remembered as the value
the caller passed. Another definition under a stored name is refused.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from tasklife.errors import CorruptTask, InvalidLifecycle
from tasklife.lifecycle import Lifecycle, builtin_lifecycles
from tasklife.store.backend import WriteTx

__all__ = ["LifecycleRegistry", "definition_of"]


class LifecycleRegistry:
    """Lifecycle ids of one store, learnt from its ``tasklife_lifecycles`` table."""

    def __init__(self, stored: Callable[[], list[tuple[Any, ...]]]) -> None:
        self._stored = stored
        self._lock = threading.Lock()
        self._by_id: dict[int, Lifecycle] = {}
        self.ids: dict[str, int] = {}

    def __call__(self, lifecycle_id: int) -> Lifecycle:
        """The lifecycle of an id (CorruptTask when the store has none by that id)."""
        lc = self._by_id.get(lifecycle_id)
        if lc is None:
            self.load()
            lc = self._by_id.get(lifecycle_id)
            if lc is None:
                raise CorruptTask("?", f"unknown lifecycle id {lifecycle_id}")
        return lc

    def load(self) -> None:
        """Learn the lifecycles stored since (other processes add them too)."""
        with self._lock:
            for row_id, name, definition in self._stored():
                if row_id not in self._by_id:
                    try:
                        self._remember(row_id, _stored_lifecycle(name, definition))
                    except ValueError as exc:  # bad JSON, an unsound definition
                        reason = f"its lifecycle {name!r} is corrupt: {exc}"
                        raise CorruptTask("?", reason) from None

    def _remember(self, lifecycle_id: int, lc: Lifecycle) -> None:
        self._by_id[lifecycle_id] = lc
        self.ids[lc.name] = lifecycle_id

    def id_in(self, tx: WriteTx, lc: Lifecycle, new: dict[int, Lifecycle]) -> int:
        """The id of ``lc``, storing it in ``tx`` when new (``new``: remember after commit)."""
        known = self.ids.get(lc.name)
        if known is not None and self._by_id[known] is lc:
            return known
        for new_id, new_lc in new.items():  # stored by this transaction already
            if new_lc is lc:
                return new_id
        definition = definition_of(lc)
        lifecycle_id, stored = tx.lifecycle_id(lc.name, definition)
        if stored != definition:
            raise InvalidLifecycle(
                lc.name,
                [f"the store holds another lifecycle named {lc.name!r}: give yours another name"],
            )
        new[lifecycle_id] = lc
        return lifecycle_id

    def committed(self, new: dict[int, Lifecycle]) -> None:
        """Remember the lifecycles a committed transaction stored."""
        with self._lock:
            for lifecycle_id, lc in new.items():
                self._remember(lifecycle_id, lc)


def definition_of(lc: Lifecycle) -> str:
    """A lifecycle's definition as canonical JSON (equal definitions, equal text).

    >>> from tasklife import COPY_TASK
    >>> definition_of(COPY_TASK).startswith('{"description":')
    True
    """
    return json.dumps(lc.to_dictionary(), sort_keys=True, separators=(",", ":"))


def _stored_lifecycle(name: str, definition: str) -> Lifecycle:
    for builtin in builtin_lifecycles():
        if builtin.name == name and definition_of(builtin) == definition:
            return builtin
    return Lifecycle.from_dictionary(json.loads(definition), origin=f"<stored {name}>")
