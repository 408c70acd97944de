"""The JSON report's violation items from the fast engine's numpy columns, put together by
Arrow's string kernels: no dict and no dump per violation.

Each item is exactly what ``orjson.dumps(..., option=OPT_INDENT_2)`` gives for the
violation's dict at depth two of the document (:mod:`tasklife.eventlog.writing`): a fixed
opening, the index, what its (kind, source, dest) says (dumped once per combination by
:meth:`~tasklife.eventlog.found.Violations.said_json`; once per row when the message names
time stamps), the task id as JSON, the file (dumped once per source), the line and the
attempt. Ids that JSON would escape (a quote, a backslash, a control character) and
integer ids are dumped by orjson one by one. The light engine's writer dumps the dicts, and
the differential tests compare the two byte for byte.

>>> from tasklife.eventlog import validate_log
>>> report = validate_log("examples/copy-run.jsonl", engine_name="fast", mode="polling")
>>> import orjson
>>> whole = orjson.dumps([v.to_dictionary() for v in report.violations],
...                      option=orjson.OPT_INDENT_2)
>>> json_items(report.violations, 0, len(report.violations)) == (
...     whole[1:-1].rstrip(b"\\n").replace(b"\\n", b"\\n  "))
True
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from tasklife.eventlog.arrays import booleans, indices, strings, text
from tasklife.eventlog.found import LINE_BITS, NO_ATTEMPT, Violations
from tasklife.validation.kinds import MISSING

__all__ = ["json_items"]

_OPEN: Final = text('\n    {\n      "index": ')
_SAID: Final = text(",\n      ")
_TASK: Final = text(',\n      "task": ')
_FILE: Final = text(',\n      "file": ')
_LINE: Final = text(',\n      "line": ')
_ATTEMPT: Final = text(',\n      "attempt": ')
_CLOSE: Final = text("\n    },")
"""Each item ends with the comma that separates it from the next; the last one is cut."""
_QUOTE: Final = text('"')
_NOTHING: Final = text("")
_ESCAPED: Final = r'["\\\x00-\x1f]'
"""What orjson escapes in a string (RE2): quotes, backslashes and control characters."""


def json_items(violations: Violations, lo: int, hi: int) -> memoryview:
    """Violations ``lo`` to ``hi`` as the report's items joined by commas (see the module
    docstring)."""
    if hi <= lo:
        return memoryview(b"")
    key, kind, index, src, dst, task, attempt, value, before = (
        np.asarray(c[lo:hi]) for c in violations.found.columns()
    )
    files = strings([orjson.dumps(f).decode() for f in violations.files])
    parts = [
        _OPEN,
        pc.cast(indices(index), pa.string()),
        _SAID,
        _said(violations, kind, src, dst, value, before),
        _TASK,
        _task_json(task),
        _FILE,
        files.take(indices(key >> LINE_BITS)),
        _LINE,
        pc.cast(indices(key & ((1 << LINE_BITS) - 1)), pa.string()),
    ]
    attempted = attempt != NO_ATTEMPT
    if attempted.any():
        shown = pc.binary_join_element_wise(
            _ATTEMPT, pc.cast(indices(attempt), pa.string()), _NOTHING
        )
        parts.append(pc.if_else(booleans(attempted), shown, _NOTHING))
    items = pc.binary_join_element_wise(*parts, _CLOSE, _NOTHING)
    offsets = np.frombuffer(items.buffers()[1], np.int32, len(items) + 1, items.offset * 4)
    return memoryview(items.buffers()[2])[int(offsets[0]) : int(offsets[-1]) - 1]


def _said(
    violations: Violations,
    kind: npt.NDArray[Any],
    src: npt.NDArray[Any],
    dst: npt.NDArray[Any],
    value: npt.NDArray[Any],
    before: npt.NDArray[Any],
) -> pa.Array:
    """Each row's dumped fields from ``"kind"`` to ``"path"``: once per (kind, source,
    dest), and per row for the rows whose message names a stamp."""
    plain = (value == MISSING) & (before == MISSING)
    combo = (kind.astype(np.int64) << 16) | ((src.astype(np.int64) + 1) << 8) | dst
    unique, group = np.unique(combo[plain], return_inverse=True)
    said = [
        violations.said_json(c >> 16, (c >> 8 & 0xFF) - 1, c & 0xFF, None, None)
        for c in unique.tolist()
    ]
    which = np.empty(len(kind), np.int64)
    which[plain] = group
    stamped = np.flatnonzero(~plain)
    which[stamped] = len(said) + np.arange(len(stamped))
    for k, s, d, v, b in zip(
        *(c[stamped].tolist() for c in (kind, src, dst, value, before)), strict=True
    ):
        said.append(violations.said_json(k, s, d, v, b))
    return strings([s.decode() for s in said]).take(indices(which))


def _task_json(task: npt.NDArray[Any]) -> pa.Array:
    """The task ids as JSON: quoted by Arrow when nothing in them needs escaping."""
    ids = task.tolist()
    if set(map(type, ids)) == {str}:
        texts = strings(ids)
        if not pc.any(pc.match_substring_regex(texts, _ESCAPED)).as_py():
            return pc.binary_join_element_wise(_QUOTE, texts, _QUOTE, _NOTHING)
    return strings([orjson.dumps(t).decode() for t in ids])
