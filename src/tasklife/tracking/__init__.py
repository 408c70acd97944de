"""Tracking: records driven through one shared ``transitions`` machine per lifecycle.

Theory of operation
-------------------
A tracked record (:class:`Task`, :class:`~tasklife.models.CopySnapshotTaskStatus`, or a class
bound to another lifecycle by ``for_lifecycle``) is a slotted attrs object; its trigger
methods are ordinary methods that call :meth:`Tracked.fire`. The modules, in the order a
trigger meets them:

* :mod:`~tasklife.tracking.records`: ``fire``/``afire``/``observe``/``wait``, classes bound
  per lifecycle, with trigger methods derived from its table (:mod:`~tasklife.tracking.triggers`;
  the typed copy-task ones and :class:`Task` in :mod:`~tasklife.tracking.task`);
* :mod:`~tasklife.tracking.moves`: one move checked and applied in one step (status, stamps,
  error, journal), under the record's stripe lock (:mod:`~tasklife.tracking.locks`);
* :mod:`~tasklife.tracking.machine`: the transitions adaptation, for when callbacks or
  conditions are attached through transitions' API;
* :mod:`~tasklife.tracking.listeners`, :mod:`~tasklife.tracking.delivery` and
  :mod:`~tasklife.tracking.dispatch`: who listens, and how transitions reach them (per record
  in order; errors as one ExceptionGroup; coroutine listeners on their loop);
* :mod:`~tasklife.tracking.observing`, :mod:`~tasklife.tracking.waiting` and
  :mod:`~tasklife.tracking.journal`: what a poller saw, waiting on listeners, the journal as
  JSON Lines events.

Of conflicting triggers racing from one status exactly one wins; the others see the new
status and get :class:`~tasklife.errors.InvalidTransition`.

>>> task = Task(clock=iter([10, 20]).__next__, journal=[])
>>> task.start(), task.succeed(), [e.dest for e in task.journal]
(True, True, ['kRunning', 'kSuccess'])
"""

from tasklife.tracking.journal import (
    JournalEntry,
    journal_from_events,
    journal_to_events,
    read_journal,
    write_journal,
)
from tasklife.tracking.listeners import Listener, ListenerScope
from tasklife.tracking.machine import LifecycleMachine, machine_for
from tasklife.tracking.moves import wall_clock_usecs
from tasklife.tracking.observing import Observation
from tasklife.tracking.records import Clock, Tracked
from tasklife.tracking.task import CopyTaskTriggers, Task

__all__ = [
    "Clock",
    "CopyTaskTriggers",
    "JournalEntry",
    "LifecycleMachine",
    "Listener",
    "ListenerScope",
    "Observation",
    "Task",
    "Tracked",
    "journal_from_events",
    "journal_to_events",
    "machine_for",
    "read_journal",
    "wall_clock_usecs",
    "write_journal",
]
