"""A fast test that a wire document is clean: read by ``from_dictionary`` exactly as it is.

``add_many`` of a million documents cannot afford to build a million records only to check
them (``from_dictionary`` of a real-shaped copy task builds three records and deep-copies
the verbatim parts: about ten microseconds). Most documents an orchestrator adds are plain
JSON dicts whose every modelled value already has its kind's plain type; for those the
record would hold the document's own values, so the store can split the document itself.

:func:`clean_document` decides that with one dict lookup and one inline type test per key.
Its test is generated once per model class from the model's wire table, as
:mod:`tasklife.wire` generates ``from_dictionary``: the keys are grouped by their
:class:`~tasklife.wire.Kind`, and each group's branch inlines the kind's own ``fast``
expression, recurses into a nested model's test, or (a kind without one, such as a status,
which its lifecycle checks) asks the kind's reader whether it takes the value unchanged.
Verbatim objects (``OBJECT``, ``OBJECT_LIST``) need only be dicts (lists of dicts); their
contents, like the values of unknown keys, are proven JSON when the store serialises them
strictly (:mod:`tasklife.store.records`). A document that is not clean is not necessarily
bad: it goes to ``from_dictionary``, which converts it or names the offending field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, cast

import attrs

from tasklife.errors import InvalidRecord
from tasklife.wire import OBJECT, OBJECT_LIST, WireModel

__all__ = ["WIRE", "clean_document", "wire_keys"]

WIRE: Final = "tasklife.wire"
"""The attrs metadata key of a wire field: ``(json key, Kind, sparse)`` (see tasklife.wire)."""

Clean = Callable[[dict[str, Any]], bool]
_cleaners: dict[type[WireModel], Clean] = {}


def wire_keys(model: type[WireModel], *names: str) -> tuple[str, ...]:
    """The wire keys of fields ``names`` of ``model``, read from its wire table.

    >>> from tasklife.models import CopyRunStats
    >>> wire_keys(CopyRunStats, "start_time_usecs", "is_incremental")
    ('startTimeUsecs', 'isIncremental')
    """
    fields = {f.name: f for f in attrs.fields(cast(Any, model))}
    return tuple(fields[name].metadata[WIRE][0] for name in names)


def clean_document(model: type[WireModel], doc: dict[str, Any]) -> bool:
    """Whether ``model.from_dictionary(doc)`` takes every modelled value of ``doc`` as it
    is (of its kind's plain type, or null), nested models included. Unmodelled values are
    not looked at (they are kept verbatim).

    >>> from tasklife import CopySnapshotTaskStatus
    >>> clean_document(CopySnapshotTaskStatus, {"status": "kRunning", "stats": {}, "x": {1}})
    True
    >>> clean_document(CopySnapshotTaskStatus, {"taskStartTimeUsecs": "soon"})
    False
    """
    return (_cleaners.get(model) or _cleaner(model))(doc)


def _cleaner(model: type[WireModel]) -> Clean:
    clean = _cleaners[model] = _compile(model)
    return clean


def _compile(model: type[WireModel]) -> Clean:
    """Generate the test of ``model``: one branch per group of keys of one kind."""
    groups: dict[int, int] = {}  # id(kind) -> branch
    branches: list[list[str]] = []
    index: dict[str, int] = {}  # wire key -> branch
    namespace: dict[str, Any] = {}
    for field in attrs.fields(cast(Any, model)):
        if WIRE not in field.metadata:
            continue
        key, kind, _ = field.metadata[WIRE]
        branch = groups.get(id(kind))
        if branch is None:
            branch = groups[id(kind)] = len(branches)
            namespace[f"_k{branch}"] = kind
            branches.append(_branch(model, kind, branch, namespace))
        index[key] = branch
    namespace["index"] = index
    lines = [
        "def clean(doc):",
        "    for key, v in doc.items():",
        "        if v is None:",
        "            continue",
        "        b = index.get(key)",
        "        if b is None:",
        "            continue",
    ]
    for branch, test in enumerate(branches):
        lines += [f"        {'if' if branch == 0 else 'elif'} b == {branch}:", *test]
    lines.append("    return True")
    exec(compile("\n".join(lines), f"<clean {model.__qualname__}>", "exec"), namespace)
    return cast(Clean, namespace["clean"])


def _branch(model: type[WireModel], kind: Any, branch: int, namespace: dict[str, Any]) -> list[str]:
    """The lines that return False when ``v`` of ``kind`` is not taken as it is."""
    if kind.model is not None:
        namespace[f"_m{branch}"] = _cleaners.get(kind.model) or _cleaner(kind.model)
        test = f"v.__class__ is dict and _m{branch}(v)"
    elif kind is OBJECT:
        test = "v.__class__ is dict"
    elif kind is OBJECT_LIST:
        test = "v.__class__ is list and all(x is None or x.__class__ is dict for x in v)"
    elif kind.fast is not None:
        test = kind.fast  # the wire table's own inline test of a plain value
    else:
        namespace[f"_r{branch}"] = _taken_by(model, kind)
        test = f"_r{branch}(key, v)"
    return [f"            if not ({test}):", "                return False"]


TAKEN_MAX: Final = 1024
"""Strings remembered per kind as taken by its reader: a status kind takes a handful."""


def _taken_by(model: type[WireModel], kind: Any) -> Callable[[str, Any], bool]:
    """Whether ``kind``'s reader returns a value as it is (it checks, but converts nothing);
    strings it took are remembered (a reader's verdict on a string never changes)."""
    taken_strings: set[str] = set()

    def taken(key: str, value: Any) -> bool:
        if value.__class__ is str and value in taken_strings:
            return True
        try:
            read = kind.read(value, model, "", key)
            if read is not value and not (value.__class__ is str and read == value):
                return False  # converted (an equal str is the same value: the table's copy)
        except InvalidRecord:
            return False
        if value.__class__ is str and len(taken_strings) < TAKEN_MAX:
            taken_strings.add(value)
        return True

    return taken
