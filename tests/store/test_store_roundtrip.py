"""Documents come back from the store unchanged, on both backends: unknown keys, nulls, ``{}``
and SDK 1.16 keys, from wire dicts, our records and the real ``cohesity-management-sdk``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cohesity_management_sdk.api_helper import APIHelper
from cohesity_management_sdk.models.copy_snapshot_task_status import (
    CopySnapshotTaskStatus as SdkCopySnapshotTaskStatus,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storeservers import wire
from strategies import copy_snapshot_task_status_documents
from tasklife import CopySnapshotTaskStatus
from tasklife.lifecycle import COPY_TASK_6_8
from tasklife.store import Store, open_store

FIXTURES = sorted(Path("/work/shared/fixtures").glob("*.json")) or sorted(
    (Path(__file__).resolve().parents[2] / "examples" / "copy-snapshot-tasks").glob("*.json")
)
SDK_1_16 = {
    "status": "kSuccess",
    "taskStartTimeUsecs": 1,
    "taskEndTimeUsecs": 2,
    "taskStartTimeHhmm": "06:13",
    "taskEndTimeHhmm": "06:14",
    "datalockConfig": {},
    "immutability": None,
    "stats": {"startTimeHhmm": "06:13", "endTimeHhmm": None, "isIncremental": False},
    "futureKey": [{"nested": {}}, None, 1.5, 2**63 - 1],  # int64: what a record holds
}


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with open_store(store_url) as opened:
        yield opened


def test_fixture_documents_and_newer_keys_round_trip(store: Store) -> None:
    docs = [json.loads(p.read_text()) for p in FIXTURES] + [SDK_1_16]
    ids = store.add_many(docs)
    assert [wire(store, i) for i in ids] == docs


def test_documents_round_trip_after_their_transitions(store: Store) -> None:
    doc: dict[str, Any] = {
        "status": "kRunning",
        "error": None,
        "taskEndTimeUsecs": None,
        "stats": {},
    }
    store.add(doc, task_id="t")
    record = CopySnapshotTaskStatus.from_dictionary(doc)
    assert record is not None
    store.fire("t", "fail", error="quota", at_usecs=9)
    record.fail("quota", at_usecs=9)
    assert wire(store, "t") == record.to_dictionary()


def test_sdk_objects_go_in_and_the_sdk_reads_them_back(store: Store) -> None:
    for path in FIXTURES:
        sdk = SdkCopySnapshotTaskStatus.from_dictionary(json.loads(path.read_text()))
        task_id = store.add(sdk)
        back = wire(store, task_id)
        assert back == APIHelper.to_dictionary(sdk)  # every key the SDK writes, nulls too
        again = SdkCopySnapshotTaskStatus.from_dictionary(back)
        assert APIHelper.to_dictionary(again) == APIHelper.to_dictionary(sdk)


def test_another_lifecycle_round_trips(store: Store) -> None:
    doc = {"status": "kFinalizing", "taskStartTimeUsecs": 4}
    task_id = store.add(doc, lifecycle=COPY_TASK_6_8)
    assert wire(store, task_id) == doc
    assert store.fire(task_id, "succeed", at_usecs=5).source == "kFinalizing"


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(docs=st.lists(copy_snapshot_task_status_documents(consistent=False), max_size=4))
def test_any_document_round_trips(store: Store, docs: list[dict[str, Any]]) -> None:
    clean = [d for d in docs if "\x00" not in str(d.get("error"))]
    ids = store.add_many(clean)
    for task_id, doc in zip(ids, clean, strict=True):
        expected = doc if doc.get("status") is not None else {**doc, "status": "kAccepted"}
        assert wire(store, task_id) == expected
