"""Violations as compact columns, and the lazy sequence of
:class:`~tasklife.validation.report.Violation` built from them.

Every engine gives its violations as :class:`Found`: one row each (line key, kind, states,
task, attempt, the stamps its message names), lists in the light engine, numpy arrays in the
fast one; parts are concatenated and put in line order without building an object.
:class:`Violations` builds a violation (message and all) only when it is looked at, and
:meth:`Violations.dicts` gives the JSON report's dicts without the objects.

>>> found = Found([5], [1], [1], [0], [4], ["a"], [NO_ATTEMPT], [None], [None])
>>> from tasklife.lifecycle import COPY_TASK
>>> Violations(found, COPY_TASK, "strict", "v1", ["log.jsonl"])[0].kind
'illegal-transition'
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Final, overload

import attrs
import orjson

from tasklife.lifecycle import Lifecycle
from tasklife.validation.kinds import KIND, KIND_NAMES, MISSING, Said
from tasklife.validation.report import Violation

__all__ = ["LINE_BITS", "NO_ATTEMPT", "NO_STATE", "Found", "Violations", "is_array", "line_key"]

LINE_BITS: Final = 40
"""A line key is ``source index << LINE_BITS | line number``, so keys sort in file order:
2**40 lines per source (a trillion) and, in a non-negative int64, 2**23 sources."""
NO_STATE: Final = -1
"""The source state of a task's first event."""
NO_ATTEMPT: Final = -1
"""The attempt of an event of a log without attempts."""
_FIELDS: Final = ("key", "kind", "index", "src", "dst", "task", "attempt", "value", "before")
_SAID_START: Final = b"\n    {\n      "
_SAID_END: Final = b"\n    }"


def line_key(source: int, line: int) -> int:
    """The line key of ``line`` of source number ``source``.

    >>> line_key(1, 5) >> LINE_BITS, line_key(1, 5) & ((1 << LINE_BITS) - 1)
    (1, 5)
    """
    return source << LINE_BITS | line


@attrs.define
class Found:
    """Violations as parallel columns (lists, or numpy arrays from the fast engine), one row
    each: line ``key``, ``kind`` (index in ``KINDS``), ``index`` in its run, ``src``/``dst``
    state indices (``src`` :data:`NO_STATE` for a first event), ``task`` id, ``attempt``
    (:data:`NO_ATTEMPT`: none), and the stamps its message names (``value``, ``before``;
    None or the ``missing`` sentinel when none)."""

    key: Any = attrs.Factory(list)
    kind: Any = attrs.Factory(list)
    index: Any = attrs.Factory(list)
    src: Any = attrs.Factory(list)
    dst: Any = attrs.Factory(list)
    task: Any = attrs.Factory(list)
    attempt: Any = attrs.Factory(list)
    value: Any = attrs.Factory(list)
    before: Any = attrs.Factory(list)

    def __len__(self) -> int:
        return len(self.key)

    def columns(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f) for f in _FIELDS)

    @classmethod
    def concat(cls, parts: Sequence[Found]) -> Found:
        """The rows of all ``parts``, in line order."""
        parts = [p for p in parts if len(p)]
        if len(parts) == 1:
            return parts[0].in_line_order()
        if not parts:
            return cls()
        if any(is_array(p.key) for p in parts):
            import numpy as np

            cols: list[Any] = [
                np.concatenate([np.asarray(p.columns()[i]) for p in parts]) for i in range(9)
            ]
        else:
            cols = [[x for p in parts for x in p.columns()[i]] for i in range(9)]
        return cls(*cols).in_line_order()

    def in_line_order(self) -> Found:
        """The same rows sorted by (line key, kind)."""
        if is_array(self.key):
            import numpy as np

            order = np.lexsort((np.asarray(self.kind), np.asarray(self.key)))
            return Found(*(np.asarray(c)[order] for c in self.columns()))
        rows = sorted(range(len(self.key)), key=lambda i: (self.key[i], self.kind[i]))
        return Found(*([c[i] for i in rows] for c in self.columns()))


def is_array(column: Any) -> bool:
    return not isinstance(column, list)


def _pylist(column: Any) -> list[Any]:
    return column.tolist() if hasattr(column, "tolist") else list(column)


class Violations(Sequence[Violation]):
    """The violations of a log, built from :class:`Found` rows when looked at (see the
    module docstring); messages without stamps are built once per (kind, source, dest)."""

    def __init__(
        self, found: Found, lifecycle: Lifecycle, mode: str, vocabulary: str, files: Sequence[str]
    ) -> None:
        self.found, self.lc, self.mode, self.vocab = found, lifecycle, mode, vocabulary
        self.files = list(files)
        self._said = [lifecycle.translate(s, vocabulary) for s in lifecycle.state_names]
        self._texts: dict[tuple[int, int, int], tuple[str, tuple[str, ...] | None]] = {}

    def __len__(self) -> int:
        return len(self.found)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{len(self)} violations>"

    @overload
    def __getitem__(self, i: int) -> Violation: ...
    @overload
    def __getitem__(self, i: slice) -> list[Violation]: ...
    def __getitem__(self, i: int | slice) -> Violation | list[Violation]:
        if isinstance(i, slice):
            lo, hi, step = i.indices(len(self))
            if step != 1:
                return [self[j] for j in range(lo, hi, step)]
            return self.build(lo, hi)
        j = range(len(self))[i]
        return self.build(j, j + 1)[0]

    def __iter__(self) -> Iterator[Violation]:
        for batch in self.batches():
            yield from batch

    def batches(self, size: int = 1 << 13) -> Iterator[list[Violation]]:
        """The violations ``size`` at a time."""
        for lo in range(0, len(self), size):
            yield self.build(lo, min(lo + size, len(self)))

    def build(self, lo: int, hi: int) -> list[Violation]:
        """Violations ``lo`` to ``hi`` (see :class:`Found`)."""
        return [
            Violation(i, k, s, d, m, p, t, f, n, None if a == NO_ATTEMPT else a)
            for i, k, s, d, m, p, t, f, n, a in self._rows(lo, hi)
        ]

    def dicts(self, lo: int, hi: int) -> list[dict[str, Any]]:
        """:meth:`~tasklife.validation.report.Violation.to_dictionary` of violations ``lo``
        to ``hi``, made without the objects (the JSON report's way: a third of the time)."""
        cols = [_pylist(c[lo:hi]) for c in self.found.columns()]
        fixed: dict[tuple[int, int, int], tuple[Any, ...]] = {}
        files, mask = self.files, (1 << LINE_BITS) - 1
        out = []
        for key, kind, index, src, dst, task, attempt, value, before in zip(*cols, strict=True):
            if (value is None or value == MISSING) and (before is None or before == MISSING):
                same = fixed.get((kind, src, dst))
                if same is None:
                    same = fixed[(kind, src, dst)] = self._fixed(kind, src, dst, None, None)
            else:
                same = self._fixed(kind, src, dst, value, before)
            name, source, dest, text, path = same
            row = {
                "index": index,
                "kind": name,
                "source": source,
                "dest": dest,
                "message": text,
                "path": path,
                "task": task,
                "file": files[key >> LINE_BITS],
                "line": key & mask,
            }
            if attempt != NO_ATTEMPT:
                row["attempt"] = attempt
            out.append(row)
        return out

    def said_json(self, kind: int, src: int, dst: int, value: Any, before: Any) -> bytes:
        """What a violation's JSON item says from ``"kind"`` to ``"path"``, dumped at depth
        two with ``OPT_INDENT_2`` (see :mod:`tasklife.eventlog.items`)."""
        name, source, dest, text, path = self._fixed(kind, src, dst, value, before)
        said = {"kind": name, "source": source, "dest": dest, "message": text, "path": path}
        body = orjson.dumps([said], option=orjson.OPT_INDENT_2)[1:-1].rstrip(b"\n")
        body = body.replace(b"\n", b"\n  ")  # at depth two, as writing.write_json puts it
        return body[len(_SAID_START) : -len(_SAID_END)]

    def _fixed(self, kind: int, src: int, dst: int, value: Any, before: Any) -> tuple[Any, ...]:
        """What a violation's dict takes from its kind, states and stamps."""
        _, name, source, dest, text, path, *_ = next(
            self._rows_of([[0], [kind], [0], [src], [dst], [None], [NO_ATTEMPT], [value], [before]])
        )
        return name, source, dest, text, None if path is None else list(path)

    def _rows(self, lo: int, hi: int) -> Iterator[tuple[Any, ...]]:
        return self._rows_of([_pylist(c[lo:hi]) for c in self.found.columns()])

    def _rows_of(self, cols: list[list[Any]]) -> Iterator[tuple[Any, ...]]:
        names, say, mask = self.lc.state_names, self._said, (1 << LINE_BITS) - 1
        texts, files = self._texts, self.files
        for key, kind, index, src, dst, task, attempt, value, before in zip(*cols, strict=True):
            value, before = _stamp(value), _stamp(before)
            plain = value is None and before is None
            text_path = texts.get((kind, src, dst)) if plain else None
            row = KIND[KIND_NAMES[kind]]
            if text_path is None:
                path = None
                if row.name == "illegal-transition" and src != NO_STATE:
                    path = self.lc.path(names[src], names[dst])
                source = None if src == NO_STATE else say[src]
                said = Said(source, say[dst], self.lc.name, self.mode, path, value, before)
                text_path = (row.describe(said), path)
                if plain:
                    texts[(kind, src, dst)] = text_path
            yield (
                index,
                row.name,
                None if src == NO_STATE else say[src],
                say[dst],
                text_path[0],
                text_path[1],
                task,
                files[key >> LINE_BITS],
                key & mask,
                attempt,
            )


def _stamp(value: Any) -> Any:
    return None if value is None or value == MISSING else value
