"""Functions run in other processes by the tests (importable by name, as pickle needs)."""

from __future__ import annotations

from typing import Any


def advance(record: Any, trigger: str, at_usecs: int) -> Any:
    """Fire ``trigger`` on a record that came from another process, and send it back."""
    record.fire(trigger, at_usecs=at_usecs)
    return record


def observe_all(record: Any, statuses: list[str], at_usecs: int) -> Any:
    """Observe each status in turn on a record from another process, and send it back."""
    for status in statuses:
        record.observe(status, at_usecs=at_usecs)
    return record
