"""The event-log format registry: a new format is one reading module and one registration,
and both engines' way in (sources, sniffing, the Dask block split) follow it."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from tasklife import validate_log
from tasklife.errors import UnusableInput
from tasklife.eventlog import readers
from tasklife.eventlog.blocks import DEFAULT_READ, Block, ReadOptions
from tasklife.eventlog.lines import check_object
from tasklife.eventlog.readers import Format, format_of
from tasklife.eventlog.sources import sniff


def read_tsv(stream: IO[bytes], name: str, options: ReadOptions = DEFAULT_READ) -> Iterator[Block]:
    """A toy format: ``task<TAB>status<TAB>at`` per line, checked by the reference rules."""
    rows = []
    for line, raw in enumerate(stream.read().decode().splitlines(), options.first_line):
        task, status, at = raw.split("\t")
        rows.append((line, check_object({"taskId": task, "status": status, "atUsecs": int(at)})))
    yield Block(options.first_line, rows=tuple(rows))


TSV = Format("tsv", "TSV", (".tsv",), lambda head: b"\t" in head, True, lambda: read_tsv)


def test_a_registered_format_is_sniffed_read_and_judged(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(readers.FORMATS, "tsv", TSV)
    log = tmp_path / "run.tsv"
    log.write_text("a\tkAccepted\t1\na\tkSuccess\t2\nb\tkRunning\t1\n")
    for engine in ("light", "fast"):
        report = validate_log(log, mode="polling", engine_name=engine)
        assert (report.tasks, report.events, bool(report)) == (2, 3, True)
    assert sniff("piped", io.BytesIO(b"a\tkRunning\t1\n")).format is TSV


def test_formats_are_told_by_suffix_then_by_their_first_bytes() -> None:
    assert format_of("x.ndjson", b"").name == "jsonl"
    assert format_of("x", b"\xef\xbb\xbftask_id,status,at_usecs\n").name == "csv"
    with pytest.raises(UnusableInput, match=r"neither JSON Lines \(\.jsonl\) nor CSV"):
        format_of("x.log", b"hello")
