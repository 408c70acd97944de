"""Writing a :class:`~tasklife.eventlog.report.LogReport`, streamed: one writer for every
engine, so that equal reports are equal bytes.

* JSON: exactly ``orjson.dumps(report.to_dictionary(), option=OPT_INDENT_2)`` and a newline,
  written a batch of violations at a time (each batch dumped as a list with the same option,
  then re-indented by two spaces: orjson escapes newlines inside strings, so every raw
  newline is indentation). Memory: one batch, not 500,000 dicts.
* text: the summary, rich tables of the kinds and gaps, and the first ``limit`` violations
  and malformed lines, built alone (the rest are never built).

>>> import io
>>> from tasklife import validate_log
>>> report = validate_log("examples/copy-run.jsonl")
>>> out = io.BytesIO()
>>> write_json(out, report)
>>> out.getvalue() == orjson.dumps(report.to_dictionary(), option=orjson.OPT_INDENT_2) + b"\\n"
True
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any, Final

import orjson

from tasklife.eventlog.found import Violations, is_array
from tasklife.eventlog.report import LogReport, Malformed

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["BATCH", "print_text", "write_json"]

BATCH: Final = 1 << 13
"""Violations dumped at once: large enough that orjson's per-call cost vanishes."""
_INDENT: Final = orjson.OPT_INDENT_2


def write_json(out: IO[bytes], report: LogReport) -> None:
    """The JSON document of ``report`` and a newline (see the module docstring)."""
    head = orjson.dumps({"summary": report.summary()}, option=_INDENT)
    out.write(head[:-2] + b',\n  "violations": [')
    _items(out, _violation_items(report.violations))
    out.write(b',\n  "malformed": [')
    _items(out, map(_dumped, ([m.to_dictionary() for m in b] for b in _chunks(report.malformed))))
    out.write(b"\n}\n")


def _violation_items(violations: Sequence[Any]) -> Iterator[bytes | memoryview]:
    if not isinstance(violations, Violations):
        yield from map(_dumped, ([v.to_dictionary() for v in b] for b in _chunks(violations)))
    elif is_array(violations.found.key):  # the fast engine: items put together by Arrow
        from tasklife.eventlog.items import json_items

        for lo in range(0, len(violations), BATCH):
            yield json_items(violations, lo, min(lo + BATCH, len(violations)))
    else:  # the light engine: dicts dumped (the fast engine's items are checked against it)
        for lo in range(0, len(violations), BATCH):
            yield _dumped(violations.dicts(lo, min(lo + BATCH, len(violations))))


def _dumped(batch: list[dict[str, Any]]) -> bytes:
    """The items of ``batch`` at depth two, joined by commas."""
    if not batch:
        return b""
    return orjson.dumps(batch, option=_INDENT)[1:-1].rstrip(b"\n").replace(b"\n", b"\n  ")


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for lo in range(0, len(items), BATCH):
        yield items[lo : lo + BATCH]


def _items(out: IO[bytes], bodies: Iterable[bytes | memoryview]) -> None:
    """``[...]`` of all the batches' items, as a value at depth one of the document."""
    first = True
    for body in bodies:
        if not body:
            continue
        if not first:
            out.write(b",")
        out.write(body)
        first = False
    out.write(b"]" if first else b"\n  ]")


def print_text(report: LogReport, out: Console, limit: int) -> None:
    """The text report: summary, kinds, gaps, the first ``limit`` violations and malformed
    lines (``limit`` 0: all). Text from the input is printed as text, never as markup."""
    from rich.table import Table
    from rich.text import Text

    summary = report.summary()
    verdict = ("valid", "green") if report else ("not valid", "red")
    out.print(
        Text.assemble(
            verdict,
            _plain(
                f": {summary['tasks']} tasks, {summary['events']} events, "
                f"{summary['malformed_lines']} malformed lines, {summary['violations']} "
                f"violations ({report.mode} mode, lifecycle {report.lifecycle!r}, vocabulary "
                f"{report.vocabulary}, {summary['still_active_tasks']} tasks still active)"
            ),
        )
    )
    if summary["by_kind"]:
        kinds = Table(title="Problems by kind", title_justify="left")
        kinds.add_column("kind")
        kinds.add_column("count", justify="right")
        for kind, count in summary["by_kind"].items():
            kinds.add_row(kind, str(count))
        out.print(kinds)
    if report.gaps:
        gaps = Table(title="Gaps explained (polling)", title_justify="left")
        for col in ("source", "dest", "path", "count"):
            gaps.add_column(col, justify="right" if col == "count" else "left")
        for (s, t), (path, count) in report.gaps.items():
            gaps.add_row(_plain(s), _plain(t), ", ".join(path), str(count))
        out.print(gaps)
    shown = report.violations if limit <= 0 else report.violations[:limit]
    bad = report.malformed if limit <= 0 else report.malformed[:limit]
    _listings(report, out, shown, bad)
    hidden = len(report.violations) - len(shown) + len(report.malformed) - len(bad)
    if hidden:
        out.print(f"... and {hidden} more; --limit 0 or --format json lists all", highlight=False)


def _listings(
    report: LogReport, out: Console, shown: Sequence[Any], bad: Sequence[Malformed]
) -> None:
    from rich.table import Table

    one_file = len(report.sources) == 1
    where = f" in {report.sources[0]}" if one_file else ""

    def at(file: str | None, line: int | None) -> str:
        return str(line) if one_file else f"{file}:{line}"

    if shown:
        table = Table(title=f"Violations{where}", title_justify="left")
        table.add_column("task", overflow="fold")
        table.add_column("line", justify="right", no_wrap=one_file)
        table.add_column("kind", no_wrap=True)
        table.add_column("message", overflow="fold", ratio=1)
        for v in shown:
            table.add_row(_plain(v.task), at(v.file, v.line), v.kind, _plain(v.message))
        out.print(table)
    if bad:
        table = Table(title=f"Malformed lines{where}", title_justify="left")
        table.add_column("line", justify="right", no_wrap=one_file)
        table.add_column("kind", no_wrap=True)
        table.add_column("reason", overflow="fold", ratio=1)
        for m in bad:
            table.add_row(at(m.file, m.line), m.kind, _plain(m.reason))
        out.print(table)


def _plain(value: object) -> Any:
    """Input text as plain rich text: no markup, control characters shown escaped."""
    from rich.text import Text

    text = str(value)
    if not text.isprintable():
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return Text(text)
