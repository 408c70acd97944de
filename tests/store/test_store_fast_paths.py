"""The store's fast paths agree with its plain ones: a remembered row is only a guess that
the database corrects, a value that looks like SQLite's stand-in for NULL is kept, and
generated ids stay unique and in order across batches."""

from __future__ import annotations

import pytest

import storeservers
from tasklife import InvalidTransition
from tasklife.store import open_store
from tasklife.store.api import ADD_BATCH


def test_a_remembered_row_is_a_guess_the_database_corrects(store_url: str) -> None:
    """Store ``a`` remembers each task as it last left it; store ``b`` moves them behind its
    back. Every fire of ``a`` is still judged on the stored row."""
    with open_store(store_url) as a, open_store(store_url) as b:
        a.add_many([{"status": "kAccepted"}] * 3, task_ids=["t", "u", "v"])
        for task_id in "tuv":
            a.fire(task_id, "start")  # a remembers kRunning
        b.fire("t", "hold")
        with pytest.raises(InvalidTransition, match="from status 'kOnHold'"):
            a.fire("t", "succeed")  # legal from what a remembers, not from what is stored
        assert a.fire("t", "resume").source == "kOnHold"  # illegal from what a remembers
        b.fire("u", "hold")
        b.fire("u", "resume")  # stored as a remembers it, two versions later
        assert a.fire("u", "succeed").dest == "kSuccess"
        storeservers.execute(store_url, "UPDATE tasklife_tasks SET status = 'kSuccess' "
                             "WHERE task_id = 'v'")  # fmt: skip  # by hand, version unchanged
        with pytest.raises(InvalidTransition, match="from status 'kSuccess'"):
            a.fire("v", "fail", error="x")
        assert [e.trigger for e in b.history("t")] == ["start", "hold", "resume"]
        assert [e.trigger for e in b.history("u")] == ["start", "hold", "resume", "succeed"]
        assert [e.trigger for e in b.history("v")] == ["start"]


def test_values_like_the_stand_in_for_null_are_kept(store_url: str) -> None:
    """SQLite binds an absent value as -1 (NULLIF(?, -1) restores NULL): text "-1" is text."""
    doc = {"status": "kFailure", "error": "-1", "taskStartTimeUsecs": 0, "stats": {}}
    with open_store(store_url) as store:
        store.add(doc, task_id="t", run_id="-1")
        store.add({"status": "kRunning"}, task_id="u", run_id="-1")
        store.fire("u", "fail", error="-1", at_usecs=0)
        assert storeservers.wire(store, "t") == doc
        assert (store.get("u").error, store.get("u").task_end_time_usecs) == ("-1", 0)
        assert [t.task_id for t in store.tasks(run_id="-1")] == ["t", "u"]
        assert store.counts("-1") == {"kFailure": 2}
        assert store.events()[-1]["error"] == "-1"


def test_generated_ids_are_unique_and_ordered_across_batches(store_url: str) -> None:
    with open_store(store_url) as store:
        ids = store.add_many([{}] * (ADD_BATCH + 5)) + store.add_many([{}] * 3)
        assert len(set(ids)) == len(ids) and ids == sorted(ids)
        assert [e["taskId"] for e in store.events()] == ids  # creation events in add order
