"""Hypothesis strategies for real-shaped Cohesity wire documents (shared by the test suites).

Public strategies, each producing plain JSON-ready ``dict`` documents shaped like what a
Cohesity cluster returns (camelCase keys, optional keys missing or explicitly ``null``, newer
fields such as ``datalockConfig`` and ``taskStartTimeHhmm``, and unknown future keys):

* :func:`copy_snapshot_task_status_documents` -- ``CopySnapshotTaskStatus`` documents; with
  ``consistent=True`` (the default) the times, error and status agree with the lifecycle
  (start set once the task ran, end set iff final, end >= start, error iff a failure state);
* :func:`protection_source_documents`, :func:`copy_run_stats_documents` -- the nested objects;
* :func:`env_protection_sources` -- one ``(key, environment, sub-object)`` of the 42
  ``<env>ProtectionSource`` sub-objects;
* :func:`invalid_copy_snapshot_task_status_documents` -- ``(document, path, value)``: a
  document with exactly one bad value at wire path ``path`` (``""`` for the document itself).

Every valid document here can be read by the real ``cohesity-management-sdk`` (the interop
tests check it). Documents of another lifecycle (``lifecycle=COPY_TASK_6_8``) are read with
``CopySnapshotTaskStatus.for_lifecycle(...)``.

>>> from strategies import copy_snapshot_task_status_documents
>>> doc = copy_snapshot_task_status_documents(statuses=["kSuccess"]).example()  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tasklife.lifecycle import COPY_TASK, Lifecycle

__all__ = [
    "ENV_SOURCES",
    "copy_run_stats_documents",
    "copy_snapshot_task_status_documents",
    "env_protection_sources",
    "invalid_copy_snapshot_task_status_documents",
    "json_values",
    "protection_source_documents",
]

Doc = dict[str, Any]

# The 42 environment-specific sub-objects of ProtectionSource (irregular casing kept) and the
# ``environment`` value a cluster pairs with each.
ENV_SOURCES: dict[str, str] = {
    "acropolisProtectionSource": "kAcropolis",
    "adProtectionSource": "kAD",
    "awsProtectionSource": "kAWS",
    "azureProtectionSource": "kAzure",
    "cassandraProtectionSource": "kCassandra",
    "couchbaseProtectionSource": "kCouchbase",
    "dB2ProtectionSource": "kDB2",
    "elastifileProtectionSource": "kElastifile",
    "exchangeProtectionSource": "kExchange",
    "experimentalAdapterProtectionSource": "kExperimentalAdapter",
    "flashBladeProtectionSource": "kFlashBlade",
    "gcpProtectionSource": "kGCP",
    "googleWorkspaceProtectionSource": "kGoogleWorkspace",
    "gpfsProtectionSource": "kGPFS",
    "hbaseProtectionSource": "kHBase",
    "hdfsProtectionSource": "kHdfs",
    "hiveProtectionSource": "kHive",
    "hpe3ParProtectionSource": "kHpe3Par",
    "hyperFlexProtectionSource": "kHyperFlex",
    "hypervProtectionSource": "kHyperV",
    "ibmFlashSystemProtectionSource": "kIbmFlashSystem",
    "isilonProtectionSource": "kIsilon",
    "kubernetesProtectionSource": "kKubernetes",
    "kvmProtectionSource": "kKVM",
    "mongoDBPhysicalProtectionSource": "kMongoDBPhysical",
    "mongodbProtectionSource": "kMongoDB",
    "nasProtectionSource": "kGenericNas",
    "netappProtectionSource": "kNetapp",
    "nimbleProtectionSource": "kNimble",
    "nutanixFSProtectionSource": "kNutanixFS",
    "office365ProtectionSource": "kO365",
    "oracleProtectionSource": "kOracle",
    "physicalProtectionSource": "kPhysical",
    "postgresProtectionSource": "kPostgres",
    "pureProtectionSource": "kPure",
    "s3CompatibleProtectionSource": "kS3Compatible",
    "sapHanaProtectionSource": "kSapHana",
    "sfdcProtectionSource": "kSfdc",
    "sqlProtectionSource": "kSQL",
    "udaProtectionSource": "kUDA",
    "viewProtectionSource": "kView",
    "vmWareProtectionSource": "kVMware",
}

_EPOCH_2020_USECS = 1_577_836_800_000_000
usecs = st.integers(_EPOCH_2020_USECS, _EPOCH_2020_USECS + 20 * 365 * 86_400 * 10**6)
byte_counts = st.integers(0, 2**53)
names = st.from_regex(r"\A[a-z][a-z0-9-]{0,14}(\.example\.local)?\Z")
hhmm = st.builds("{:02d}:{:02d}".format, st.integers(0, 23), st.integers(0, 59))
# Keys no SDK release models: stand-ins for fields a future cluster adds.
future_keys = st.from_regex(r"\Azz[A-Z][A-Za-z0-9]{0,8}\Z")

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)  # int64: what tasklife reads (tasklife.wire.kinds)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
"""Any JSON value (what an unknown future key may hold)."""


def _maybe_null(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A value, or (less often) an explicit null."""
    return st.one_of(strategy, strategy, strategy, st.none())


def _object(
    required: dict[str, st.SearchStrategy[Any]],
    optional: dict[str, st.SearchStrategy[Any]],
    *,
    future: bool = True,
) -> st.SearchStrategy[Doc]:
    """A JSON object: ``required`` keys always, ``optional`` ones missing, null or set."""
    base = st.fixed_dictionaries(
        required, optional={k: _maybe_null(v) for k, v in optional.items()}
    )
    if not future:
        return base
    extra = st.dictionaries(future_keys, json_values, max_size=2)
    return st.builds(lambda doc, more: {**doc, **more}, base, extra)


def _vmware() -> st.SearchStrategy[Doc]:
    vm_id = st.integers(1, 9999)
    return st.builds(
        lambda n, name, status: {
            "id": {
                "morItem": f"vm-{n}",
                "morType": "VirtualMachine",
                "uuid": f"5012d0c4-7f3b-4b8e-9a1d-{n:012d}",
            },
            "name": name,
            "toolsRunningStatus": status,
            "type": "kVirtualMachine",
        },
        vm_id,
        names,
        st.sampled_from(["kGuestToolsRunning", "kGuestToolsNotRunning", "kUnknown"]),
    )


def _physical() -> st.SearchStrategy[Doc]:
    return st.builds(
        lambda n, name, host: {
            "hostType": host,
            "id": {"clusterId": 4594155844987574, "clusterIncarnationId": 1679899218812, "id": n},
            "name": name,
            "type": "kHost",
        },
        st.integers(1, 9999),
        names,
        st.sampled_from(["kLinux", "kWindows", "kAix", "kSolaris"]),
    )


def env_protection_sources() -> st.SearchStrategy[tuple[str, str, Doc]]:
    """``(wire key, environment, sub-object)`` for one of the 42 ``<env>ProtectionSource``.

    VMware and physical sub-objects have the full shape of the fixtures; the others carry
    ``name`` and ``type`` (the experimental adapter, which has neither, ``displayName``).
    """

    def generic(key: str) -> st.SearchStrategy[Doc]:
        if key == "experimentalAdapterProtectionSource":
            return st.builds(lambda n: {"displayName": n, "isLeafEntity": True}, names)
        env = ENV_SOURCES[key]
        return st.builds(lambda n: {"name": n, "type": f"{env}Entity"}, names)

    def one(key: str) -> st.SearchStrategy[tuple[str, str, Doc]]:
        inner = {"vmWareProtectionSource": _vmware(), "physicalProtectionSource": _physical()}
        sub = inner[key] if key in inner else generic(key)
        return st.tuples(st.just(key), st.just(ENV_SOURCES[key]), sub)

    return st.sampled_from(sorted(ENV_SOURCES)).flatmap(one)


def protection_source_documents() -> st.SearchStrategy[Doc]:
    """A ``ProtectionSource`` JSON object: id, parent, name, environment and its sub-object."""
    entity_id = _object(
        {"intId": st.integers(1, 2**40)},
        {"stringIds": st.fixed_dictionaries({}, optional={"latestId": st.just({})})},
        future=False,
    )
    tag = _object({"key": names}, {"value": names, "tagType": st.just("kTag")}, future=False)
    common = _object(
        {"id": st.integers(1, 2**40)},
        {
            "parentId": st.integers(1, 2**40),
            "name": names,
            "customName": names,
            "connectionId": st.integers(0, 2**40),
            "connectorGroupId": st.integers(0, 2**20),
            "entityId": entity_id,
            "indexableTagAttributes": st.lists(tag, max_size=3),
        },
    )

    def combine(doc: Doc, env: tuple[str, str, Doc], has_env: bool) -> Doc:
        key, environment, sub = env
        return {**doc, "environment": environment, key: sub} if has_env else doc

    return st.builds(combine, common, env_protection_sources(), st.booleans() | st.just(True))


def copy_run_stats_documents(*, consistent: bool = True) -> st.SearchStrategy[Doc]:
    """A ``CopyRunStats`` JSON object (with ``consistent``: end >= start, bytes <= size)."""
    doc = _object(
        {},
        {
            "startTimeUsecs": usecs,
            "endTimeUsecs": usecs,
            "isIncremental": st.booleans(),
            "logicalBytesTransferred": byte_counts,
            "logicalSizeBytes": byte_counts,
            "logicalTransferRateBps": st.integers(0, 2**34),
            "physicalBytesTransferred": byte_counts,
            "startTimeHhmm": hhmm,
            "endTimeHhmm": hhmm,
        },
    )
    if not consistent:
        return doc

    def fix(d: Doc) -> Doc:
        start, end = d.get("startTimeUsecs"), d.get("endTimeUsecs")
        if start is not None and end is not None and end < start:
            d["startTimeUsecs"], d["endTimeUsecs"] = end, start
        size, done = d.get("logicalSizeBytes"), d.get("logicalBytesTransferred")
        if size is not None and done is not None and done > size:
            d["logicalSizeBytes"], d["logicalBytesTransferred"] = done, size
        return d

    return doc.map(fix)


_NEWER_TASK_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "datalockConfig": st.fixed_dictionaries(
        {"wormRetentionType": st.sampled_from(["kCompliance", "kAdministrative"])},
        optional={"expiryTimeUsecs": usecs, "daysToKeep": st.integers(1, 3650)},
    ),
    "expiryTimeUsecs": usecs,
    "immutability": st.sampled_from(["kImmutable", "kMutable"]),
    "retentionPeriod": st.fixed_dictionaries(
        {"duration": st.integers(1, 365), "unit": st.sampled_from(["Days", "Weeks", "Months"])}
    ),
    "taskStartTimeHhmm": hhmm,
    "taskEndTimeHhmm": hhmm,
}


def copy_snapshot_task_status_documents(
    *, statuses: list[str] | None = None, consistent: bool = True, lifecycle: Lifecycle = COPY_TASK
) -> st.SearchStrategy[Doc]:
    """A ``CopySnapshotTaskStatus`` JSON object with a status of ``lifecycle``.

    ``statuses`` restricts the status values. With ``consistent`` the document is one the
    lifecycle could have produced: ``taskStartTimeUsecs`` is set once the task ran (always for
    active, warning and success states, maybe for held, canceling, canceled and failure),
    ``taskEndTimeUsecs`` iff the status is final (and >= start), ``error`` iff a failure.
    Without it every optional key is independently missing, null or set, as far as the rules a
    record keeps allow (:func:`follow_record_rules`).
    """
    pool = statuses if statuses is not None else list(lifecycle.state_names)
    fields = {
        "error": st.text(min_size=1, max_size=40),
        "source": protection_source_documents(),
        "stats": copy_run_stats_documents(consistent=consistent),
        "taskStartTimeUsecs": usecs,
        "taskEndTimeUsecs": usecs,
        **_NEWER_TASK_FIELDS,
    }
    doc = _object({"status": st.sampled_from(pool)}, fields)
    if not consistent:
        return doc.map(lambda d: follow_record_rules(d, lifecycle))

    @st.composite
    def consistent_doc(draw: st.DrawFn) -> Doc:
        d = draw(doc)
        klass = lifecycle.state(d["status"]).klass
        ran = klass in ("active", "success", "warning") or (
            klass not in ("queued", "missed") and draw(st.booleans())
        )
        start = draw(usecs)
        for key in ("taskStartTimeUsecs", "taskEndTimeUsecs", "error"):
            d.pop(key, None)
        if ran:
            d["taskStartTimeUsecs"] = start
        elif draw(st.booleans()):
            d["taskStartTimeUsecs"] = None
        if lifecycle.is_final(d["status"]):
            d["taskEndTimeUsecs"] = start + draw(st.integers(0, 86_400 * 10**6))
        elif draw(st.booleans()):
            d["taskEndTimeUsecs"] = None
        if klass == "failure":
            d["error"] = draw(fields["error"])
        elif draw(st.booleans()):
            d["error"] = None
        return d

    return consistent_doc()


def follow_record_rules(doc: Doc, lifecycle: Lifecycle = COPY_TASK) -> Doc:
    """``doc`` changed as little as needed to keep the README's record rules (each a snapshot
    rule of the validator; a null is a missing value, an absent key no observation): an error
    only where the state's rule allows one and, given, not empty where one is required; an end
    time only in a final state and not before the start; no null start time in a state reached
    only by running; no null end time in a final state of a started task."""
    state = lifecycle.state(doc["status"])
    if state.error_rule == "forbidden" and doc.get("error"):
        doc["error"] = None
    if state.error_rule == "required" and "error" in doc and not doc["error"]:
        del doc["error"]
    start, end = doc.get("taskStartTimeUsecs"), doc.get("taskEndTimeUsecs")
    if end is not None and not state.is_final:
        doc["taskEndTimeUsecs"] = end = None
    if start is not None and end is not None and end < start:
        doc["taskStartTimeUsecs"], doc["taskEndTimeUsecs"] = end, start
    if state.name in lifecycle.ran_states and "taskStartTimeUsecs" in doc and start is None:
        del doc["taskStartTimeUsecs"]
    if state.is_final and start is not None and "taskEndTimeUsecs" in doc and end is None:
        del doc["taskEndTimeUsecs"]
    return doc


# -- invalid documents -------------------------------------------------------------------------

_NOT_STRING: st.SearchStrategy[Any] = st.one_of(
    st.integers(), st.booleans(), st.just([]), st.just({"k": 1}), st.just(1.5)
)
_NOT_COUNT: st.SearchStrategy[Any] = st.one_of(
    st.integers(max_value=-1),
    st.booleans(),
    st.just(1.5),
    st.just("1718000000000000"),
    st.just([1]),
    st.just({}),
)
_NOT_INTEGER: st.SearchStrategy[Any] = st.one_of(
    st.booleans(), st.just(1.5), st.just("123"), st.just([1])
)
_NOT_BOOL: st.SearchStrategy[Any] = st.one_of(
    st.just("true"), st.just("false"), st.integers(0, 1), st.just([])
)
_NOT_OBJECT: st.SearchStrategy[Any] = st.one_of(
    st.just([]), st.just([{"id": 1}]), st.just("x"), st.integers(), st.booleans()
)
_NOT_LIST: st.SearchStrategy[Any] = st.one_of(
    st.just({}), st.just({"key": "a"}), st.just("x"), st.integers()
)

_BAD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "": st.one_of(st.just([]), st.just("doc"), st.integers(), st.just([{"status": "kRunning"}])),
    "status": st.one_of(  # codes 0-6 and v2 names are statuses too
        _NOT_STRING.filter(lambda v: v not in range(7) or isinstance(v, bool)),
        st.sampled_from(["kBogus", "running", "", "KRUNNING", "Finalizing"]),
    ),
    "error": _NOT_STRING,
    "taskStartTimeUsecs": _NOT_COUNT,
    "taskEndTimeUsecs": _NOT_COUNT,
    "stats": _NOT_OBJECT,
    "stats.startTimeUsecs": _NOT_COUNT,
    "stats.endTimeUsecs": _NOT_COUNT,
    "stats.logicalBytesTransferred": _NOT_COUNT,
    "stats.logicalSizeBytes": _NOT_COUNT,
    "stats.logicalTransferRateBps": _NOT_COUNT,
    "stats.physicalBytesTransferred": _NOT_COUNT,
    "stats.isIncremental": _NOT_BOOL,
    "source": _NOT_OBJECT,
    "source.id": _NOT_INTEGER,
    "source.parentId": _NOT_INTEGER,
    "source.name": _NOT_STRING,
    "source.environment": _NOT_STRING,
    "source.entityId": _NOT_OBJECT,
    "source.indexableTagAttributes": _NOT_LIST,
    "source.vmWareProtectionSource": _NOT_OBJECT,
    "source.dB2ProtectionSource": _NOT_OBJECT,
}


def invalid_copy_snapshot_task_status_documents() -> st.SearchStrategy[tuple[Any, str, Any]]:
    """``(document, path, value)``: a valid document with one bad ``value`` put at ``path``.

    Covers a non-object document, a non-string or unknown status, times and byte counts
    that are not non-negative integers (negative, bool, float, numeric string), bools where
    ints or strings belong, strings where bools belong, lists where objects belong, objects
    where lists belong.
    """

    def put(doc: Doc, path: str, value: Any) -> tuple[Any, str, Any]:
        if not path:
            return value, path, value
        *parents, leaf = path.split(".")
        here = doc
        for key in parents:
            if not isinstance(here.get(key), dict):
                here[key] = {}
            here = here[key]
        here[leaf] = value
        return doc, path, value

    return st.sampled_from(sorted(_BAD_VALUES)).flatmap(
        lambda path: st.builds(
            put, copy_snapshot_task_status_documents(), st.just(path), _BAD_VALUES[path]
        )
    )
