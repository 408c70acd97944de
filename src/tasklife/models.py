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
('kRunning', 1718000000000000)
>>> task.to_dictionary()["stats"]
{'startTimeUsecs': 1718000000000000, 'startTimeHhmm': '06:13'}
"""

# ruff: noqa: RUF009  (wire_field() returns an attrs field, as attrs.field() does)
from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, Final, Self

import attrs

from tasklife.errors import InvalidRecord
from tasklife.tracking import Clock, CopyTaskTriggers, JournalEntry
from tasklife.tracking.invariants import WIRE_KEYS, check_record, own_journal
from tasklife.wire import (
    BOOLEAN,
    COUNT,
    INTEGER,
    LOCAL,
    OBJECT,
    OBJECT_LIST,
    STRING,
    Kind,
    WireModel,
    extra_field,
    join_path,
    model_kind,
    nulls_field,
    wire_field,
    wire_model,
)
from tasklife.wire.kinds import INT64_MAX, WIRE_METADATA

__all__ = ["CopyRunStats", "CopySnapshotTaskStatus", "JsonObject", "ProtectionSource"]

JsonObject = dict[str, Any]
"""A JSON object kept verbatim."""


@wire_model
@attrs.define(slots=True, weakref_slot=True)
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
    _extra: dict[str, Any] | None = extra_field()
    _nulls: frozenset[str] = nulls_field()

    def __attrs_post_init__(self) -> None:
        """The constructor and ``attrs.evolve`` check each field as ``from_dictionary`` reads
        it (int64 counts and times, a boolean), so no stats hold what cannot be written back.

        >>> CopyRunStats(start_time_usecs=-5)
        Traceback (most recent call last):
        tasklife.errors.InvalidRecord: startTimeUsecs: expected a non-negative integer (int64) \
(got -5)
        """
        counts = (
            self.end_time_usecs,
            self.logical_bytes_transferred,
            self.logical_size_bytes,
            self.logical_transfer_rate_bps,
            self.physical_bytes_transferred,
            self.start_time_usecs,
        )
        for value in counts:  # the plain case inline, as the reader's own test
            if value is not None and (value.__class__ is not int or not 0 <= value <= INT64_MAX):
                break
        else:
            flag = self.is_incremental
            if flag is None or flag is True or flag is False:
                return
        for name, key, kind in _stats_fields():  # which one, named as the reader names it
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, kind.read(value, CopyRunStats, "", key))


@cache
def _stats_fields() -> tuple[tuple[str, str, Kind], ...]:
    """``(attribute, wire key, kind)`` of each wire field of :class:`CopyRunStats`."""
    specs = ((f.name, f.metadata.get(WIRE_METADATA)) for f in attrs.fields(CopyRunStats))
    return tuple((name, spec[0], spec[1]) for name, spec in specs if spec is not None)


def _env_source(key: str) -> Any:
    """A ``<env>ProtectionSource`` sub-object: verbatim JSON, one of 42 (so read sparsely)."""
    return wire_field(key, OBJECT, sparse=True)


@wire_model
@attrs.define(slots=True, weakref_slot=True)
class ProtectionSource(WireModel):
    """A node of the Protection Source tree (the object a copy task copies).

    Attributes in the SDK's order. ``entityId``, ``indexableTagAttributes`` and the 42
    ``<env>ProtectionSource`` sub-objects (at most one set, matching ``environment``) are kept
    as verbatim JSON: their shapes differ between SDK releases and nothing here reads inside.

    >>> src = ProtectionSource.from_dictionary(
    ...     {"id": 1001, "environment": "kVMware", "vmWareProtectionSource": {"type": "kVM"}})
    >>> src.id, src.environment, src.vmware_protection_source
    (1001, 'kVMware', {'type': 'kVM'})
    """

    acropolis_protection_source: JsonObject | None = _env_source("acropolisProtectionSource")
    ad_protection_source: JsonObject | None = _env_source("adProtectionSource")
    aws_protection_source: JsonObject | None = _env_source("awsProtectionSource")
    azure_protection_source: JsonObject | None = _env_source("azureProtectionSource")
    cassandra_protection_source: JsonObject | None = _env_source("cassandraProtectionSource")
    connection_id: int | None = wire_field("connectionId", INTEGER)
    connector_group_id: int | None = wire_field("connectorGroupId", INTEGER)
    couchbase_protection_source: JsonObject | None = _env_source("couchbaseProtectionSource")
    custom_name: str | None = wire_field("customName", STRING)
    db2_protection_source: JsonObject | None = _env_source("dB2ProtectionSource")
    elastifile_protection_source: JsonObject | None = _env_source("elastifileProtectionSource")
    entity_id: JsonObject | None = wire_field("entityId", OBJECT)
    environment: str | None = wire_field("environment", STRING)
    exchange_protection_source: JsonObject | None = _env_source("exchangeProtectionSource")
    experimental_adapter_protection_source: JsonObject | None = _env_source(
        "experimentalAdapterProtectionSource"
    )
    flash_blade_protection_source: JsonObject | None = _env_source("flashBladeProtectionSource")
    gcp_protection_source: JsonObject | None = _env_source("gcpProtectionSource")
    google_workspace_protection_source: JsonObject | None = _env_source(
        "googleWorkspaceProtectionSource"
    )
    gpfs_protection_source: JsonObject | None = _env_source("gpfsProtectionSource")
    hbase_protection_source: JsonObject | None = _env_source("hbaseProtectionSource")
    hdfs_protection_source: JsonObject | None = _env_source("hdfsProtectionSource")
    hive_protection_source: JsonObject | None = _env_source("hiveProtectionSource")
    hpe3par_protection_source: JsonObject | None = _env_source("hpe3ParProtectionSource")
    hyperflex_protection_source: JsonObject | None = _env_source("hyperFlexProtectionSource")
    hyperv_protection_source: JsonObject | None = _env_source("hypervProtectionSource")
    ibm_flash_system_protection_source: JsonObject | None = _env_source(
        "ibmFlashSystemProtectionSource"
    )
    id: int | None = wire_field("id", INTEGER)
    indexable_tag_attributes: list[JsonObject | None] | None = wire_field(
        "indexableTagAttributes", OBJECT_LIST
    )
    isilon_protection_source: JsonObject | None = _env_source("isilonProtectionSource")
    kubernetes_protection_source: JsonObject | None = _env_source("kubernetesProtectionSource")
    kvm_protection_source: JsonObject | None = _env_source("kvmProtectionSource")
    mongodb_physical_protection_source: JsonObject | None = _env_source(
        "mongoDBPhysicalProtectionSource"
    )
    mongodb_protection_source: JsonObject | None = _env_source("mongodbProtectionSource")
    name: str | None = wire_field("name", STRING)
    nas_protection_source: JsonObject | None = _env_source("nasProtectionSource")
    netapp_protection_source: JsonObject | None = _env_source("netappProtectionSource")
    nimble_protection_source: JsonObject | None = _env_source("nimbleProtectionSource")
    nutanixfs_protection_source: JsonObject | None = _env_source("nutanixFSProtectionSource")
    office365_protection_source: JsonObject | None = _env_source("office365ProtectionSource")
    oracle_protection_source: JsonObject | None = _env_source("oracleProtectionSource")
    parent_id: int | None = wire_field("parentId", INTEGER)
    physical_protection_source: JsonObject | None = _env_source("physicalProtectionSource")
    postgres_protection_source: JsonObject | None = _env_source("postgresProtectionSource")
    pure_protection_source: JsonObject | None = _env_source("pureProtectionSource")
    s3_compatible_protection_source: JsonObject | None = _env_source("s3CompatibleProtectionSource")
    sap_hana_protection_source: JsonObject | None = _env_source("sapHanaProtectionSource")
    sfdc_protection_source: JsonObject | None = _env_source("sfdcProtectionSource")
    sql_protection_source: JsonObject | None = _env_source("sqlProtectionSource")
    uda_protection_source: JsonObject | None = _env_source("udaProtectionSource")
    view_protection_source: JsonObject | None = _env_source("viewProtectionSource")
    vmware_protection_source: JsonObject | None = _env_source("vmWareProtectionSource")
    _extra: dict[str, Any] | None = extra_field()
    _nulls: frozenset[str] = nulls_field()


def _read_status(value: Any, owner: type, parent: str, key: str) -> Any:
    """A state of the owner's lifecycle, by its name, v2 name or numeric code (the state's own
    name is kept: a code or v2 name is written back as the state's name)."""
    lifecycle = owner.lifecycle  # type: ignore[attr-defined]
    state = lifecycle.canonical(value)
    if state is not None:
        return state  # a plain str, even when given a Status member
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise InvalidRecord(join_path(parent, key), value, "expected a status name or code")
    other = lifecycle.builtin_knowing(value)
    if other is None:
        reason = lifecycle.unknown_status_reason(value)
    else:
        base = getattr(owner, "_bound_from_", (owner,))[0].__name__
        reason = (
            f"not a status of lifecycle {lifecycle.name!r}; it is one of {other.name!r}: "
            f"read it with {base}.for_lifecycle({other.name!r})"
        )
    raise InvalidRecord(join_path(parent, key), value, reason)


def _write_status(value: Any) -> str:
    return value if type(value) is str else str(value)


STATUS: Final = Kind("a state of the record's lifecycle", _read_status, _write_status)


def _initial_status(record: CopySnapshotTaskStatus) -> str:
    return type(record).lifecycle.initial


@wire_model
@attrs.define(slots=True, weakref_slot=True)
class CopySnapshotTaskStatus(CopyTaskTriggers, WireModel):
    """The status of a copy task, on the wire and as a tracked record.

    Constructed directly it starts in its lifecycle's initial status; ``from_dictionary``
    takes the status the document says (a missing status stays missing). ``status`` is the
    plain wire string; it compares equal to the matching :class:`~tasklife.status.Status`.
    ``clock`` (epoch microseconds), ``journal`` and ``changed_usecs`` are not part of the wire
    format. A record pickles (with its journal, compactly) but without its clock, which
    belongs to its process: the receiver gets the wall clock unless it sets one.

    >>> task = CopySnapshotTaskStatus(clock=iter([10, 20]).__next__)
    >>> task.status
    'kAccepted'
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
    clock: Clock | None = attrs.field(
        default=None, kw_only=True, eq=False, repr=False, metadata={LOCAL: True}
    )
    journal: list[JournalEntry] | None = attrs.field(
        default=None, kw_only=True, eq=False, repr=False
    )
    changed_usecs: int | None = attrs.field(default=None, kw_only=True, eq=False, repr=False)
    """When the record last moved (epoch microseconds; None before its first transition)."""
    _extra: dict[str, Any] | None = extra_field()
    _nulls: frozenset[str] = nulls_field()

    def __attrs_post_init__(self) -> None:
        status, cls = self.status, type(self)
        if status is not None and (type(status) is not str or not cls.lifecycle.has_state(status)):
            self.status = _read_status(status, cls, "", "status")
        source, stats = self.source, self.stats
        if source is not None and not isinstance(source, ProtectionSource):
            raise InvalidRecord("source", source, "expected a ProtectionSource (or None)")
        if stats is not None and not isinstance(stats, CopyRunStats):
            raise InvalidRecord(
                "stats", stats, "expected a CopyRunStats (CopyRunStats.from_dictionary(d))"
            )
        own_journal(self, WIRE_KEYS)
        check_record(self, WIRE_KEYS, self._nulls)

    @classmethod
    def from_dictionary(
        cls, dictionary: Mapping[str, Any] | None, *, clock: Clock | None = None
    ) -> Self | None:
        """The record of a JSON object (None gives None); ``clock`` is for tracking it.

        Raises :class:`~tasklife.errors.InvalidRecord` naming the field path and the value.
        """
        if dictionary is None:
            return None
        record: Self = cls._codec.read(cls, dictionary, "")
        if clock is not None:
            record.clock = clock
        return record
