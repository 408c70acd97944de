"""The Cohesity wire format: ``CopySnapshotTaskStatus``, ``ProtectionSource``, ``CopyRunStats``.

Slotted attrs classes with the attribute names of ``cohesity-management-sdk``, read and written
losslessly by the field tables of :mod:`tasklife.wire`: every field below names its camelCase
JSON key and its kind once. Keys this version does not model (``datalockConfig``,
``retentionPeriod``, ``taskStartTimeHhmm``, ``startTimeHhmm``, ...) are kept verbatim, so
``X.from_dictionary(d).to_dictionary() == d``. ``ProtectionSource`` keeps ``entityId``,
``indexableTagAttributes`` and the 42 ``<env>ProtectionSource`` sub-objects as verbatim JSON
(their shapes differ between SDK releases), under the SDK's attribute names.

A :class:`CopySnapshotTaskStatus` is also a tracked record: its ``status`` follows the class's
lifecycle (copy-task unless bound with ``for_lifecycle``) through the trigger methods of
:mod:`tasklife.tracking`.

>>> task = CopySnapshotTaskStatus.from_dictionary(
...     {"status": "kRunning", "taskStartTimeUsecs": 1718000000000000,
...      "stats": {"startTimeUsecs": 1718000000000000, "startTimeHhmm": "06:13"}})
>>> task.status, task.stats.start_time_usecs
(<Status.RUNNING: 'kRunning'>, 1718000000000000)
>>> task.to_dictionary()["stats"]
{'startTimeUsecs': 1718000000000000, 'startTimeHhmm': '06:13'}
"""

# ruff: noqa: RUF009  (wire_field() returns an attrs field, as attrs.field() does)
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs

from tasklife.errors import InvalidRecord
from tasklife.status import Status
from tasklife.tracking import Clock, CopyTaskTriggers, JournalEntry
from tasklife.wire import (
    BOOLEAN,
    COUNT,
    INTEGER,
    OBJECT,
    OBJECT_LIST,
    STRING,
    Kind,
    WireModel,
    extra_field,
    model_kind,
    nulls_field,
    wire_field,
    wire_model,
)

__all__ = ["CopyRunStats", "CopySnapshotTaskStatus", "JsonObject", "ProtectionSource"]

JsonObject = dict[str, Any]
"""A JSON object kept verbatim."""


@wire_model
@attrs.define(slots=True, weakref_slot=False)
class CopyRunStats(WireModel):
    """Stats of one copy task (or aggregated stats of a copy run); times in epoch microseconds.

    >>> CopyRunStats.from_dictionary({"isIncremental": True, "logicalSizeBytes": 1024})
    CopyRunStats(end_time_usecs=None, is_incremental=True, logical_bytes_transferred=None, \
logical_size_bytes=1024, logical_transfer_rate_bps=None, physical_bytes_transferred=None, \
start_time_usecs=None)
    """

    end_time_usecs: int | None = wire_field("endTimeUsecs", COUNT)
    is_incremental: bool | None = wire_field("isIncremental", BOOLEAN)
    logical_bytes_transferred: int | None = wire_field("logicalBytesTransferred", COUNT)
    logical_size_bytes: int | None = wire_field("logicalSizeBytes", COUNT)
    logical_transfer_rate_bps: int | None = wire_field("logicalTransferRateBps", COUNT)
    physical_bytes_transferred: int | None = wire_field("physicalBytesTransferred", COUNT)
    start_time_usecs: int | None = wire_field("startTimeUsecs", COUNT)
    _extra: Mapping[str, Any] = extra_field()
    _nulls: frozenset[str] = nulls_field()


@wire_model
@attrs.define(slots=True, weakref_slot=False)
class ProtectionSource(WireModel):
    """A node of the Protection Source tree (the object a copy task copies).

    >>> src = ProtectionSource.from_dictionary(
    ...     {"id": 1001, "environment": "kVMware", "vmWareProtectionSource": {"type": "kVM"}})
    >>> src.id, src.environment, src.vmware_protection_source
    (1001, 'kVMware', {'type': 'kVM'})
    """

    acropolis_protection_source: JsonObject | None = wire_field("acropolisProtectionSource", OBJECT)
    ad_protection_source: JsonObject | None = wire_field("adProtectionSource", OBJECT)
    aws_protection_source: JsonObject | None = wire_field("awsProtectionSource", OBJECT)
    azure_protection_source: JsonObject | None = wire_field("azureProtectionSource", OBJECT)
    cassandra_protection_source: JsonObject | None = wire_field("cassandraProtectionSource", OBJECT)
    connection_id: int | None = wire_field("connectionId", INTEGER)
    connector_group_id: int | None = wire_field("connectorGroupId", INTEGER)
    couchbase_protection_source: JsonObject | None = wire_field("couchbaseProtectionSource", OBJECT)
    custom_name: str | None = wire_field("customName", STRING)
    db2_protection_source: JsonObject | None = wire_field("dB2ProtectionSource", OBJECT)
    elastifile_protection_source: JsonObject | None = wire_field(
        "elastifileProtectionSource", OBJECT
    )
    entity_id: JsonObject | None = wire_field("entityId", OBJECT)
    environment: str | None = wire_field("environment", STRING)
    exchange_protection_source: JsonObject | None = wire_field("exchangeProtectionSource", OBJECT)
    experimental_adapter_protection_source: JsonObject | None = wire_field(
        "experimentalAdapterProtectionSource", OBJECT
    )
    flash_blade_protection_source: JsonObject | None = wire_field(
        "flashBladeProtectionSource", OBJECT
    )
    gcp_protection_source: JsonObject | None = wire_field("gcpProtectionSource", OBJECT)
    google_workspace_protection_source: JsonObject | None = wire_field(
        "googleWorkspaceProtectionSource", OBJECT
    )
    gpfs_protection_source: JsonObject | None = wire_field("gpfsProtectionSource", OBJECT)
    hbase_protection_source: JsonObject | None = wire_field("hbaseProtectionSource", OBJECT)
    hdfs_protection_source: JsonObject | None = wire_field("hdfsProtectionSource", OBJECT)
    hive_protection_source: JsonObject | None = wire_field("hiveProtectionSource", OBJECT)
    hpe3par_protection_source: JsonObject | None = wire_field("hpe3ParProtectionSource", OBJECT)
    hyperflex_protection_source: JsonObject | None = wire_field("hyperFlexProtectionSource", OBJECT)
    hyperv_protection_source: JsonObject | None = wire_field("hypervProtectionSource", OBJECT)
    ibm_flash_system_protection_source: JsonObject | None = wire_field(
        "ibmFlashSystemProtectionSource", OBJECT
    )
    id: int | None = wire_field("id", INTEGER)
    indexable_tag_attributes: list[JsonObject | None] | None = wire_field(
        "indexableTagAttributes", OBJECT_LIST
    )
    isilon_protection_source: JsonObject | None = wire_field("isilonProtectionSource", OBJECT)
    kubernetes_protection_source: JsonObject | None = wire_field(
        "kubernetesProtectionSource", OBJECT
    )
    kvm_protection_source: JsonObject | None = wire_field("kvmProtectionSource", OBJECT)
    mongodb_physical_protection_source: JsonObject | None = wire_field(
        "mongoDBPhysicalProtectionSource", OBJECT
    )
    mongodb_protection_source: JsonObject | None = wire_field("mongodbProtectionSource", OBJECT)
    name: str | None = wire_field("name", STRING)
    nas_protection_source: JsonObject | None = wire_field("nasProtectionSource", OBJECT)
    netapp_protection_source: JsonObject | None = wire_field("netappProtectionSource", OBJECT)
    nimble_protection_source: JsonObject | None = wire_field("nimbleProtectionSource", OBJECT)
    nutanixfs_protection_source: JsonObject | None = wire_field("nutanixFSProtectionSource", OBJECT)
    office365_protection_source: JsonObject | None = wire_field("office365ProtectionSource", OBJECT)
    oracle_protection_source: JsonObject | None = wire_field("oracleProtectionSource", OBJECT)
    parent_id: int | None = wire_field("parentId", INTEGER)
    physical_protection_source: JsonObject | None = wire_field("physicalProtectionSource", OBJECT)
    postgres_protection_source: JsonObject | None = wire_field("postgresProtectionSource", OBJECT)
    pure_protection_source: JsonObject | None = wire_field("pureProtectionSource", OBJECT)
    s3_compatible_protection_source: JsonObject | None = wire_field(
        "s3CompatibleProtectionSource", OBJECT
    )
    sap_hana_protection_source: JsonObject | None = wire_field("sapHanaProtectionSource", OBJECT)
    sfdc_protection_source: JsonObject | None = wire_field("sfdcProtectionSource", OBJECT)
    sql_protection_source: JsonObject | None = wire_field("sqlProtectionSource", OBJECT)
    uda_protection_source: JsonObject | None = wire_field("udaProtectionSource", OBJECT)
    view_protection_source: JsonObject | None = wire_field("viewProtectionSource", OBJECT)
    vmware_protection_source: JsonObject | None = wire_field("vmWareProtectionSource", OBJECT)
    _extra: Mapping[str, Any] = extra_field()
    _nulls: frozenset[str] = nulls_field()


_AS_STATUS: Final[Mapping[str, Status]] = {s.value: s for s in Status}


def _read_status(value: Any, owner: type, prefix: str, key: str) -> Any:
    if not isinstance(value, str):
        raise InvalidRecord(prefix + key, value, "expected a string")
    lifecycle = owner.lifecycle  # type: ignore[attr-defined]
    if not lifecycle.has_state(value):
        raise InvalidRecord(prefix + key, value, lifecycle.unknown_status_reason(value))
    return _AS_STATUS.get(value, value)


def _write_status(value: Any) -> str:
    return value if type(value) is str else str.__str__(value)


STATUS: Final = Kind("a state of the record's lifecycle", _read_status, _write_status)


def _initial_status(record: CopySnapshotTaskStatus) -> str:
    initial = type(record).lifecycle.initial
    return _AS_STATUS.get(initial, initial)


@wire_model
@attrs.define(slots=True, weakref_slot=False)
class CopySnapshotTaskStatus(CopyTaskTriggers, WireModel):
    """The status of a copy task, on the wire and as a tracked record.

    Constructed directly it starts in its lifecycle's initial status; ``from_dictionary``
    takes the status the document says (a missing status stays missing). ``status`` holds a
    :class:`~tasklife.status.Status` member when it is one (it is a ``str`` either way).
    ``clock`` (epoch microseconds) and ``journal`` are not part of the wire format.

    >>> task = CopySnapshotTaskStatus(clock=iter([10, 20]).__next__)
    >>> task.status
    <Status.ACCEPTED: 'kAccepted'>
    >>> task.start(); task.succeed()
    True
    True
    >>> task.to_dictionary()
    {'status': 'kSuccess', 'taskEndTimeUsecs': 20, 'taskStartTimeUsecs': 10}
    """

    error: str | None = wire_field("error", STRING)
    source: ProtectionSource | None = wire_field("source", model_kind(ProtectionSource))
    stats: CopyRunStats | None = wire_field("stats", model_kind(CopyRunStats))
    status: Any = wire_field(
        "status", STATUS, default=attrs.Factory(_initial_status, takes_self=True)
    )
    task_end_time_usecs: int | None = wire_field("taskEndTimeUsecs", COUNT)
    task_start_time_usecs: int | None = wire_field("taskStartTimeUsecs", COUNT)
    clock: Clock | None = attrs.field(default=None, kw_only=True, eq=False, repr=False)
    journal: list[JournalEntry] | None = attrs.field(
        default=None, kw_only=True, eq=False, repr=False
    )
    _extra: Mapping[str, Any] = extra_field()
    _nulls: frozenset[str] = nulls_field()

    def __attrs_post_init__(self) -> None:
        if self.status is not None:
            self.status = _read_status(self.status, type(self), "", "status")

    @classmethod
    def from_dictionary(
        cls, dictionary: Mapping[str, Any] | None, *, clock: Clock | None = None
    ) -> CopySnapshotTaskStatus | None:
        """The record of a JSON object (None gives None); ``clock`` is for tracking it.

        Raises :class:`~tasklife.errors.InvalidRecord` naming the field path and the value.
        """
        if dictionary is None:
            return None
        record = cls._codec.read(cls, dictionary)
        record.clock = clock
        return record
