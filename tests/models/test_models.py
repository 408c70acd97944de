"""The wire models: construction, lossless round trips, validation, no aliasing."""

from __future__ import annotations

import copy
import json
import threading
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies import (
    copy_run_stats_documents,
    copy_snapshot_task_status_documents,
    invalid_copy_snapshot_task_status_documents,
    protection_source_documents,
)
from tasklife.errors import InvalidRecord
from tasklife.lifecycle import COPY_TASK, Lifecycle, StateDef, TransitionDef
from tasklife.models import CopyRunStats, CopySnapshotTaskStatus, ProtectionSource
from tasklife.status import Status
from tasklife.tracking import JournalEntry

FIXTURES = sorted(Path("/work/shared/fixtures").glob("*.json"))
MODELS = [CopySnapshotTaskStatus, ProtectionSource, CopyRunStats]


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


@pytest.fixture(params=FIXTURES, ids=lambda p: p.stem)
def fixture_doc(request: pytest.FixtureRequest) -> dict[str, Any]:
    return load(request.param)


# -- construction ------------------------------------------------------------------------------


def test_fixture_files_present() -> None:
    assert len(FIXTURES) == 9


def test_bare_record_starts_in_initial_status() -> None:
    task = CopySnapshotTaskStatus()
    assert task.status == Status.ACCEPTED and type(task.status) is str
    assert task.status == COPY_TASK.initial
    assert (task.error, task.source, task.stats) == (None, None, None)
    assert (task.task_start_time_usecs, task.task_end_time_usecs) == (None, None)
    assert (task.clock, task.journal) == (None, None)
    assert task.to_dictionary() == {"status": "kAccepted"}


def test_positional_arguments_in_sdk_order() -> None:
    stats = CopyRunStats(1, True, 2, 3, 4, 5, 6)
    task = CopySnapshotTaskStatus("boom", None, stats, "kFailure", 20, 10)
    assert task.error == "boom"
    assert task.status == Status.FAILURE and type(task.status) is str
    assert (task.task_end_time_usecs, task.task_start_time_usecs) == (20, 10)
    assert stats.to_dictionary() == {
        "endTimeUsecs": 1,
        "isIncremental": True,
        "logicalBytesTransferred": 2,
        "logicalSizeBytes": 3,
        "logicalTransferRateBps": 4,
        "physicalBytesTransferred": 5,
        "startTimeUsecs": 6,
    }


def test_records_are_slotted() -> None:
    for model in MODELS:
        assert not hasattr(model(), "__dict__")


def test_clock_and_journal_are_keyword_only_and_not_compared() -> None:
    journal: list[JournalEntry] = []
    a = CopySnapshotTaskStatus(clock=lambda: 5, journal=journal)
    b = CopySnapshotTaskStatus()
    assert a == b
    assert a.journal == journal and a.journal is not journal  # the record's own copy
    assert "clock" not in repr(a)
    assert "journal" not in repr(a)
    with pytest.raises(TypeError):
        CopySnapshotTaskStatus(None, None, None, "kAccepted", None, None, lambda: 1)  # type: ignore[arg-type]


def test_direct_construction_rejects_unknown_status() -> None:
    with pytest.raises(InvalidRecord) as info:
        CopySnapshotTaskStatus(status="kBogus")
    assert info.value.path == "status"
    assert "'kBogus'" in str(info.value)


@pytest.mark.parametrize("model", MODELS)
def test_none_gives_none(model: type[Any]) -> None:
    assert model.from_dictionary(None) is None


def test_from_dictionary_passes_clock() -> None:
    ticks = iter([7, 8])
    doc = {"status": "kRunning", "taskStartTimeUsecs": 3}
    task = CopySnapshotTaskStatus.from_dictionary(doc, clock=ticks.__next__)
    assert task is not None
    assert task.succeed()
    assert task.to_dictionary() == {
        "status": "kSuccess",
        "taskStartTimeUsecs": 3,
        "taskEndTimeUsecs": 7,
    }


def test_loaded_record_continues_its_lifecycle(fixture_doc: dict[str, Any]) -> None:
    task = CopySnapshotTaskStatus.from_dictionary(fixture_doc)
    assert task is not None
    assert task.allowed_triggers() == COPY_TASK.triggers_from(fixture_doc["status"])


# -- reading the fixtures ----------------------------------------------------------------------


def test_fixture_round_trip(fixture_doc: dict[str, Any]) -> None:
    task = CopySnapshotTaskStatus.from_dictionary(fixture_doc)
    assert task is not None
    assert task.to_dictionary() == fixture_doc


def test_fixture_attributes(fixture_doc: dict[str, Any]) -> None:
    task = CopySnapshotTaskStatus.from_dictionary(fixture_doc)
    assert task is not None
    assert task.status == fixture_doc["status"]
    assert task.status in set(Status)
    assert task.task_start_time_usecs == fixture_doc.get("taskStartTimeUsecs")
    assert task.task_end_time_usecs == fixture_doc.get("taskEndTimeUsecs")
    assert task.error == fixture_doc.get("error")
    source = fixture_doc["source"]
    assert task.source is not None
    assert (task.source.id, task.source.parent_id) == (source["id"], source["parentId"])
    assert (task.source.name, task.source.environment) == (source["name"], source["environment"])
    env_key = next(k for k in source if k.endswith("ProtectionSource"))
    env_attr = {
        "vmWareProtectionSource": "vmware_protection_source",
        "physicalProtectionSource": "physical_protection_source",
    }[env_key]
    assert getattr(task.source, env_attr) == source[env_key]
    stats = fixture_doc.get("stats")
    if stats is None:
        assert task.stats is None
    else:
        assert task.stats is not None
        assert task.stats.start_time_usecs == stats["startTimeUsecs"]
        assert task.stats.is_incremental is stats["isIncremental"]
        assert task.stats.logical_size_bytes == stats["logicalSizeBytes"]


def test_status_written_as_plain_string(fixture_doc: dict[str, Any]) -> None:
    task = CopySnapshotTaskStatus.from_dictionary(fixture_doc)
    assert task is not None
    assert type(task.to_dictionary()["status"]) is str


# -- losslessness ------------------------------------------------------------------------------


def test_missing_stays_missing_and_null_stays_null() -> None:
    doc = {"status": "kOnHold", "error": None, "stats": None, "taskEndTimeUsecs": None}
    task = CopySnapshotTaskStatus.from_dictionary(doc)
    assert task is not None
    out = task.to_dictionary()
    assert out == doc
    assert "source" not in out
    assert "taskStartTimeUsecs" not in out


def test_missing_status_stays_missing() -> None:
    task = CopySnapshotTaskStatus.from_dictionary({"error": None})
    assert task is not None
    assert task.status is None
    assert task.to_dictionary() == {"error": None}


def test_empty_nested_objects_stay_empty() -> None:
    doc: dict[str, Any] = {
        "status": "kRunning",
        "stats": {},
        "source": {"vmWareProtectionSource": {}, "entityId": {}, "indexableTagAttributes": []},
    }
    task = CopySnapshotTaskStatus.from_dictionary(doc)
    assert task is not None
    assert task.stats == CopyRunStats()
    assert task.to_dictionary() == doc


def test_unmodelled_keys_kept_verbatim() -> None:
    doc = {
        "status": "kSuccess",
        "datalockConfig": {"wormRetentionType": "kCompliance", "expiryTimeUsecs": 5},
        "retentionPeriod": {"duration": 7, "unit": "Days"},
        "taskStartTimeHhmm": "06:13",
        "expiryTimeUsecs": None,
        "stats": {"startTimeHhmm": "06:13", "endTimeHhmm": None, "future": [1, {"a": None}]},
        "source": {"id": 1, "someNewField": {"x": [True]}},
    }
    task = CopySnapshotTaskStatus.from_dictionary(doc)
    assert task is not None
    assert task.to_dictionary() == doc


def test_field_set_after_loading_a_null_is_written() -> None:
    task = CopySnapshotTaskStatus.from_dictionary({"status": "kRunning", "taskEndTimeUsecs": None})
    assert task is not None
    task.task_end_time_usecs = 9
    assert task.to_dictionary() == {"status": "kRunning", "taskEndTimeUsecs": 9}


def test_evolve_keeps_unmodelled_keys_and_nulls() -> None:
    task = CopySnapshotTaskStatus.from_dictionary({"status": "kRunning", "error": None, "zz": 1})
    assert task is not None
    moved = attrs.evolve(task, status="kOnHold")
    assert moved.to_dictionary() == {"status": "kOnHold", "error": None, "zz": 1}


def test_equal_documents_give_equal_records(fixture_doc: dict[str, Any]) -> None:
    a = CopySnapshotTaskStatus.from_dictionary(fixture_doc)
    b = CopySnapshotTaskStatus.from_dictionary(copy.deepcopy(fixture_doc))
    assert a == b
    c = CopySnapshotTaskStatus.from_dictionary({**fixture_doc, "zzNew": 1})
    assert a != c


def test_non_dict_mapping_is_read() -> None:
    doc = MappingProxyType({"status": "kRunning", "stats": MappingProxyType({"startTimeUsecs": 1})})
    task = CopySnapshotTaskStatus.from_dictionary(doc)
    assert task is not None
    assert task.to_dictionary() == {"status": "kRunning", "stats": {"startTimeUsecs": 1}}


@settings(max_examples=60, deadline=None)
@given(copy_snapshot_task_status_documents(consistent=False))
def test_round_trip_any_document(doc: dict[str, Any]) -> None:
    before = copy.deepcopy(doc)
    task = CopySnapshotTaskStatus.from_dictionary(doc)
    assert task is not None
    assert task.to_dictionary() == doc
    assert doc == before


@settings(max_examples=40, deadline=None)
@given(copy_snapshot_task_status_documents())
def test_round_trip_consistent_document(doc: dict[str, Any]) -> None:
    task = CopySnapshotTaskStatus.from_dictionary(doc)
    assert task is not None
    assert task.to_dictionary() == doc
    assert json.loads(json.dumps(task.to_dictionary())) == doc


@settings(max_examples=40, deadline=None)
@given(protection_source_documents(), copy_run_stats_documents(consistent=False))
def test_round_trip_nested_models(source: dict[str, Any], stats: dict[str, Any]) -> None:
    read_source = ProtectionSource.from_dictionary(source)
    read_stats = CopyRunStats.from_dictionary(stats)
    assert read_source is not None
    assert read_stats is not None
    assert read_source.to_dictionary() == source
    assert read_stats.to_dictionary() == stats


def test_sparse_sub_object_null_and_unknown_keys_in_source() -> None:
    doc: dict[str, Any] = {
        "id": 3,
        "sqlProtectionSource": None,
        "vmWareProtectionSource": {},
        "zzNew": [1],
    }
    source = ProtectionSource.from_dictionary(doc)
    assert source is not None
    assert source.sql_protection_source is None
    assert source.vmware_protection_source == {}
    assert source.to_dictionary() == doc


@pytest.mark.parametrize(
    ("value", "path", "reason"),
    [
        ({1, 2}, "zzNew", "not a JSON value (a set)"),
        ([b"raw"], "zzNew[0]", "not a JSON value (a bytes)"),
        ({"a": {1: "x"}}, "zzNew.a", "an object key that is not a string"),
        (["ok", "\ud800"], "zzNew[1]", "not text: a lone surrogate"),
        ({"\udfff": 1}, "zzNew", "not text: a lone surrogate"),
        (2**63, "zzNew", "an integer beyond int64"),
        ([-(2**63) - 1], "zzNew[0]", "an integer beyond int64"),
        (float("nan"), "zzNew", "not a JSON number"),
        ({"x": float("inf")}, "zzNew.x", "not a JSON number"),
        (object(), "zzNew", "not a JSON value (a object)"),
    ],
)
def test_unmodelled_keys_must_hold_json_that_can_be_written_back(
    value: Any, path: str, reason: str
) -> None:
    """What is read can be written: by orjson, by a store, by another SDK (item 14)."""
    with pytest.raises(InvalidRecord) as info:
        CopySnapshotTaskStatus.from_dictionary({"status": "kRunning", "zzNew": value})
    assert info.value.path == path and reason in str(info.value)
    with pytest.raises(InvalidRecord):
        ProtectionSource.from_dictionary({"vmWareProtectionSource": {"zz": value}})


def test_json_values_in_unmodelled_keys_are_copied_and_serialise() -> None:
    inner = [1, {"a": None}]
    doc = {
        "status": "kRunning",
        "zzTuple": (inner,),
        "zzEdges": [2**63 - 1, -(2**63), 1.5, "café", True, None],
        "zzPlain": "x",
    }
    task = CopySnapshotTaskStatus.from_dictionary(doc)
    assert task is not None
    inner.append(3)
    out = task.to_dictionary()
    assert out["zzTuple"] == ([1, {"a": None}],)
    assert orjson.loads(orjson.dumps(out))["zzEdges"] == doc["zzEdges"]


@pytest.mark.parametrize(
    ("doc", "path"),
    [
        ({"taskStartTimeUsecs": 2**63}, "taskStartTimeUsecs"),
        ({"stats": {"logicalSizeBytes": 2**64}}, "stats.logicalSizeBytes"),
        ({"source": {"id": -(2**63) - 1}}, "source.id"),
        ({"error": "\ud800", "status": "kFailure"}, "error"),
        ({"source": {"name": "vm\udc80"}}, "source.name"),
    ],
)
def test_modelled_fields_hold_int64_and_text(doc: dict[str, Any], path: str) -> None:
    with pytest.raises(InvalidRecord) as info:
        CopySnapshotTaskStatus.from_dictionary(doc)
    assert info.value.path == path


def test_wire_fields_must_come_first() -> None:
    from tasklife.wire import COUNT, WireModel, extra_field, nulls_field, wire_field, wire_model

    with pytest.raises(TypeError, match="wire fields must come first"):

        @wire_model
        @attrs.define
        class Odd(WireModel):
            plain: int = 0
            size: int | None = wire_field("size", COUNT)
            _extra: Any = extra_field()  # noqa: RUF009
            _nulls: frozenset[str] = nulls_field()


# -- no aliasing -------------------------------------------------------------------------------


def test_mutating_the_input_later_does_not_change_the_record(fixture_doc: dict[str, Any]) -> None:
    doc = copy.deepcopy(fixture_doc)
    doc["zzFuture"] = {"nested": [1, 2]}
    task = CopySnapshotTaskStatus.from_dictionary(doc)
    assert task is not None
    expected = copy.deepcopy(doc)
    env = next(v for k, v in doc["source"].items() if k.endswith("ProtectionSource"))
    env["name"] = "changed"
    env["id"]["extra"] = 1
    doc["zzFuture"]["nested"].append(3)
    doc["source"]["id"] = -1
    assert task.to_dictionary() == expected


def test_mutating_the_output_does_not_change_the_record(fixture_doc: dict[str, Any]) -> None:
    doc = {**copy.deepcopy(fixture_doc), "zzFuture": {"nested": [1, 2]}}
    task = CopySnapshotTaskStatus.from_dictionary(doc)
    assert task is not None
    out = task.to_dictionary()
    env = next(v for k, v in out["source"].items() if k.endswith("ProtectionSource"))
    env["id"]["extra"] = 1
    out["zzFuture"]["nested"].append(3)
    out["source"]["name"] = "changed"
    assert task.to_dictionary() == doc


def test_verbatim_attribute_is_not_the_callers_object() -> None:
    sub = {"type": "kVirtualMachine", "id": {"morItem": "vm-1"}}
    source = ProtectionSource.from_dictionary({"vmWareProtectionSource": sub})
    assert source is not None
    assert source.vmware_protection_source == sub
    assert source.vmware_protection_source is not sub
    assert source.vmware_protection_source["id"] is not sub["id"]


# -- bad input ---------------------------------------------------------------------------------


def bad(doc: Any, path: str, value: Any) -> InvalidRecord:
    """Read ``doc``; assert an InvalidRecord naming ``path`` and ``value``, input untouched."""
    before = copy.deepcopy(doc)
    with pytest.raises(InvalidRecord) as info:
        CopySnapshotTaskStatus.from_dictionary(doc)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.path == path
    assert err.value == value or (err.value != err.value and value != value)
    message = str(err)
    assert (path or "document") in message
    assert repr(value) in message
    assert doc == before
    return err


BAD_CASES = [
    pytest.param([], "", [], id="list-document"),
    pytest.param("kRunning", "", "kRunning", id="string-document"),
    pytest.param({"status": 9}, "status", 9, id="status-unknown-code"),
    pytest.param({"status": True}, "status", True, id="status-bool"),
    pytest.param({"status": ["kRunning"]}, "status", ["kRunning"], id="status-list"),
    pytest.param({"status": "kBogus"}, "status", "kBogus", id="status-unknown"),
    pytest.param({"status": "running"}, "status", "running", id="status-wrong-case"),
    pytest.param({"error": 5}, "error", 5, id="error-int"),
    pytest.param({"error": False}, "error", False, id="error-bool"),
    pytest.param({"taskStartTimeUsecs": -1}, "taskStartTimeUsecs", -1, id="start-negative"),
    pytest.param({"taskStartTimeUsecs": "17"}, "taskStartTimeUsecs", "17", id="start-string"),
    pytest.param({"taskEndTimeUsecs": 1.5}, "taskEndTimeUsecs", 1.5, id="end-float"),
    pytest.param({"taskEndTimeUsecs": True}, "taskEndTimeUsecs", True, id="end-bool"),
    pytest.param({"stats": []}, "stats", [], id="stats-list"),
    pytest.param({"stats": "x"}, "stats", "x", id="stats-string"),
    pytest.param(
        {"stats": {"startTimeUsecs": "1718000000000000"}},
        "stats.startTimeUsecs",
        "1718000000000000",
        id="stats-start-string",
    ),
    pytest.param(
        {"stats": {"logicalBytesTransferred": -5}},
        "stats.logicalBytesTransferred",
        -5,
        id="stats-bytes-negative",
    ),
    pytest.param(
        {"stats": {"physicalBytesTransferred": False}},
        "stats.physicalBytesTransferred",
        False,
        id="stats-bytes-bool",
    ),
    pytest.param(
        {"stats": {"isIncremental": "true"}}, "stats.isIncremental", "true", id="bool-string"
    ),
    pytest.param({"stats": {"isIncremental": 1}}, "stats.isIncremental", 1, id="bool-int"),
    pytest.param({"source": [{"id": 1}]}, "source", [{"id": 1}], id="source-list"),
    pytest.param({"source": {"id": "1"}}, "source.id", "1", id="source-id-string"),
    pytest.param({"source": {"id": True}}, "source.id", True, id="source-id-bool"),
    pytest.param({"source": {"parentId": 2.0}}, "source.parentId", 2.0, id="parent-float"),
    pytest.param({"source": {"name": True}}, "source.name", True, id="name-bool"),
    pytest.param({"source": {"environment": 1}}, "source.environment", 1, id="env-int"),
    pytest.param({"source": {"entityId": []}}, "source.entityId", [], id="entity-id-list"),
    pytest.param(
        {"source": {"vmWareProtectionSource": [{"name": "vm"}]}},
        "source.vmWareProtectionSource",
        [{"name": "vm"}],
        id="env-object-list",
    ),
    pytest.param(
        {"source": {"indexableTagAttributes": {"key": "a"}}},
        "source.indexableTagAttributes",
        {"key": "a"},
        id="tags-object",
    ),
    pytest.param(
        {"source": {"indexableTagAttributes": [{"key": "a"}, "b"]}},
        "source.indexableTagAttributes[1]",
        "b",
        id="tags-item-string",
    ),
]


@pytest.mark.parametrize(("doc", "path", "value"), BAD_CASES)
def test_bad_input(doc: Any, path: str, value: Any) -> None:
    bad(doc, path, value)


def test_bad_value_deep_in_a_fixture(fixture_doc: dict[str, Any]) -> None:
    doc = copy.deepcopy(fixture_doc)
    doc["stats"] = {**(doc.get("stats") or {}), "startTimeUsecs": -3}
    bad(doc, "stats.startTimeUsecs", -3)


def test_unknown_status_names_the_lifecycle_that_knows_it() -> None:
    err = bad({"status": "kFinalizing"}, "status", "kFinalizing")
    assert "copy-task-6.8" in str(err)


def test_subclass_bound_to_another_lifecycle() -> None:
    Newer = CopySnapshotTaskStatus.for_lifecycle("copy-task-6.8")
    task = Newer.from_dictionary({"status": "kFinalizing"})
    assert task is not None
    assert task.status == "kFinalizing"
    assert type(task.status) is str
    assert task.to_dictionary() == {"status": "kFinalizing"}
    running = Newer.from_dictionary({"status": "kRunning"})
    assert running is not None
    assert running.status == Status.RUNNING and type(running.status) is str


def test_subclass_status_checked_against_its_own_lifecycle() -> None:
    tiny = Lifecycle(
        name="tiny",
        initial="queued",
        states=[StateDef("queued", phase="queued"), StateDef("done", outcome="success")],
        transitions=[TransitionDef("finish", "queued", "done")],
    )
    Tiny = CopySnapshotTaskStatus.for_lifecycle(tiny)
    assert Tiny().status == "queued"
    assert Tiny.from_dictionary({"status": "done"}) is not None
    with pytest.raises(InvalidRecord) as info:
        Tiny.from_dictionary({"status": "kRunning"})
    assert info.value.path == "status"
    assert "tiny" in str(info.value)
    assert "'kRunning'" in str(info.value)


def test_too_deep_document_is_an_invalid_record() -> None:
    deep: Any = 1
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(InvalidRecord) as info:
        CopySnapshotTaskStatus.from_dictionary({"status": "kRunning", "zzDeep": deep})
    assert info.value.path == "zzDeep"
    assert "too deep" in str(info.value)


def test_value_that_cannot_be_copied_is_an_invalid_record() -> None:
    lock = threading.Lock()
    doc = {"status": "kRunning", "source": {"id": 1, "entityId": {"lock": lock}}}
    with pytest.raises(InvalidRecord) as info:
        CopySnapshotTaskStatus.from_dictionary(doc)
    assert info.value.path == "source.entityId.lock"
    assert "not a JSON value (a lock)" in str(info.value)


@settings(max_examples=80, deadline=None)
@given(invalid_copy_snapshot_task_status_documents())
def test_bad_input_generated(case: tuple[Any, str, Any]) -> None:
    doc, path, value = case
    bad(doc, path, value)


@settings(max_examples=30, deadline=None)
@given(copy_snapshot_task_status_documents(), st.sampled_from(["stats", "source"]))
def test_nested_bad_document_leaves_no_record(doc: dict[str, Any], key: str) -> None:
    doc[key] = "not an object"
    bad(doc, key, "not an object")


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"start_time_usecs": -5}, "startTimeUsecs"),
        ({"logical_size_bytes": 2**63}, "logicalSizeBytes"),
        ({"logical_transfer_rate_bps": 1.5}, "logicalTransferRateBps"),
        ({"is_incremental": "yes"}, "isIncremental"),
    ],
)
def test_stats_constructed_or_evolved_are_checked_as_read(kwargs: dict[str, Any], key: str) -> None:
    """Item 14 for the stats a record holds: what the constructor takes, from_dictionary reads."""
    with pytest.raises(InvalidRecord) as info:
        CopyRunStats(**kwargs)
    assert info.value.path == key
    with pytest.raises(InvalidRecord):
        attrs.evolve(CopyRunStats(start_time_usecs=1), **kwargs)
