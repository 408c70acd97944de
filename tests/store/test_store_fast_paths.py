"""The store's fast paths agree with its plain ones: a clean document is split exactly as
``from_dictionary`` would have it, a remembered row is only a guess that the database
corrects, a value that looks like SQLite's stand-in for NULL is kept, and generated ids stay
unique and in order across batches."""

from __future__ import annotations

import types
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import storeservers
from strategies import (
    copy_snapshot_task_status_documents,
    invalid_copy_snapshot_task_status_documents,
)
from tasklife import COPY_TASK, CopySnapshotTaskStatus, InvalidTransition
from tasklife.errors import InvalidRecord
from tasklife.lifecycle import COPY_TASK_6_8
from tasklife.store import Fired, open_store
from tasklife.store.api import ADD_BATCH
from tasklife.store.documents import clean_document
from tasklife.store.records import new_row
from tasklife.store.sqlite import NULL


def split(doc: Any, lifecycle: Any = COPY_TASK) -> tuple[Any, ...]:
    """``new_row`` of ``doc``, or the error it raises (type, path, reason)."""
    try:
        return new_row(doc, lifecycle, NULL)
    except InvalidRecord as exc:
        return ("InvalidRecord", exc.path, exc.reason)


def odd_documents() -> st.SearchStrategy[dict[str, Any]]:
    """Valid documents with values the fast path must not take as they are: what
    ``from_dictionary`` converts (an int subclass) and what JSON cannot hold."""

    class Count(int):
        pass

    odd = st.sampled_from([Count(5), True, 1.5, {1, 2}, b"x", 2**70, "\x00"])
    return st.builds(
        lambda doc, key, value: {**doc, key: value},
        copy_snapshot_task_status_documents(),
        st.sampled_from(["taskStartTimeUsecs", "futureKey", "error"]),
        odd,
    )


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        copy_snapshot_task_status_documents(),
        copy_snapshot_task_status_documents(consistent=False),
        invalid_copy_snapshot_task_status_documents().map(lambda bad: bad[0]),
        odd_documents(),
    )
)
def test_a_clean_document_is_split_as_from_dictionary_splits_it(doc: Any) -> None:
    slow = types.MappingProxyType(doc) if isinstance(doc, dict) else doc  # never fast
    try:
        expected = split(slow)
    except TypeError:  # a set or bytes: not JSON, refused the same way either way
        with pytest.raises(TypeError):
            split(doc)
        return
    fast = split(doc)
    if fast[0] == expected[0] == "InvalidRecord":  # a document breaking two rules may be
        assert fast[1] == expected[1]  # refused for either, but at the same field
    else:
        assert fast == expected
    taken = fast[0] != "InvalidRecord"  # (clean_document looks at the modelled keys alone)
    if isinstance(doc, dict) and taken and clean_document(CopySnapshotTaskStatus, doc):
        record = CopySnapshotTaskStatus.from_dictionary(doc)  # a clean document reads ...
        assert record is not None and record.to_dictionary() == doc  # ... as it is


@given(copy_snapshot_task_status_documents(lifecycle=COPY_TASK_6_8))
def test_a_status_is_clean_only_in_its_own_lifecycle(doc: dict[str, Any]) -> None:
    bound = CopySnapshotTaskStatus.for_lifecycle(COPY_TASK_6_8)
    assert clean_document(bound, {"status": doc["status"]})
    if doc["status"] == "kFinalizing":
        assert not clean_document(CopySnapshotTaskStatus, doc)
        assert split(doc)[0] == "InvalidRecord"
    assert split(doc, COPY_TASK_6_8) == split(types.MappingProxyType(doc), COPY_TASK_6_8)


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


def test_a_batch_of_remembered_rows_is_undone_and_decided_again_when_one_missed(
    store_url: str,
) -> None:
    """``fire_many`` on tasks a store remembers: one task moved elsewhere meanwhile (and back
    to the same status) fails its compare-and-set; the batch's other updates are undone and
    every fire is decided again on the stored rows, so each is applied exactly once."""
    with open_store(store_url) as a, open_store(store_url) as b:
        a.add_many([{"status": "kAccepted"}] * 3, task_ids=["t", "u", "v"])
        a.fire_many([(task_id, "start") for task_id in "tuv"])  # a remembers them running
        b.fire("u", "hold")
        b.fire("u", "resume")  # running again, two versions on
        results = a.fire_many([("t", "hold"), ("u", "hold"), ("v", "hold"), ("u", "resume")])
        assert [(r.task_id, r.dest) for r in results if isinstance(r, Fired)] == [
            ("t", "kOnHold"), ("u", "kOnHold"), ("v", "kOnHold"), ("u", "kRunning"),
        ]  # fmt: skip
        b.fire("v", "resume")
        results = a.fire_many([("t", "resume"), ("v", "resume")])  # v: refused by the guess
        assert isinstance(results[0], Fired)
        assert isinstance(results[1], InvalidTransition)
        assert "from status 'kRunning'" in str(results[1])
        histories = {task_id: [e.trigger for e in b.history(task_id)] for task_id in "tuv"}
        assert histories == {
            "t": ["start", "hold", "resume"],
            "u": ["start", "hold", "resume", "hold", "resume"],
            "v": ["start", "hold", "resume"],
        }


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
