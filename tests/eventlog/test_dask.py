"""Dask scale-out on a real LocalCluster of worker processes: the single-process report."""

from __future__ import annotations

import gzip
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from distributed import LocalCluster

from tasklife.cli import main
from tasklife.errors import MissingExtra, UnusableInput
from tasklife.eventlog import dask as dask_engine
from tasklife.eventlog.criteria import Criteria
from tasklife.eventlog.kernel import judge
from tasklife.eventlog.reading import read_events
from tasklife.eventlog.report import LogReport
from tasklife.lifecycle import COPY_TASK, Lifecycle

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "copy-run.jsonl"


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0"
    ) as c:
        yield c


def validate_files(
    paths: list[Path],
    address: str,
    lifecycle: Lifecycle,
    *,
    mode: str = "strict",
    require_final: bool = False,
    block_bytes: int = dask_engine.BLOCK_BYTES,
) -> LogReport:
    """The Dask engine on ``paths``, at the scheduler ``address``."""
    criteria = Criteria(lifecycle, mode=mode, require_final=require_final)
    return dask_engine.validate(paths, criteria, address=address, block_bytes=block_bytes)


def single(paths: list[Path], mode: str = "strict", require: bool = False) -> dict[str, object]:
    log = read_events(paths, lifecycle=COPY_TASK)
    return (
        judge(log, lifecycle=COPY_TASK, mode=mode, require_final=require).report().to_dictionary()
    )


def test_same_report_as_a_single_process(cluster: LocalCluster, tmp_path: Path) -> None:
    csv = tmp_path / "more.csv"
    csv.write_text(
        "task_id,status,at_usecs,error\n"
        "t0001,kRunning,1,\n"  # the same task as in the JSON Lines file
        "c1,kAccepted,1,\nc1,kFailure,2,\nc1,oops\nc2,kRunning,5,boom\n"
    )
    paths = [EXAMPLE, csv]
    for mode, require in (("strict", False), ("polling", True)):
        report = validate_files(
            paths,
            cluster.scheduler_address,
            COPY_TASK,
            mode=mode,
            require_final=require,
            block_bytes=20_000,
        )
        assert report.to_dictionary() == single(paths, mode, require)
        assert report.tasks == 302 and report.malformed and report.violations


def test_integer_task_ids_stay_integers(cluster: LocalCluster, tmp_path: Path) -> None:
    """Ids read as integers (dictionary-encoded by the parse) are reported as integers."""
    log = tmp_path / "ints.jsonl"
    events = [(7, "kAccepted", 1), (7, "kSuccess", 2), (8, "kRunning", 1), (8, "kAccepted", 3)]
    log.write_bytes(
        b"".join(
            orjson.dumps({"taskId": t, "status": s, "atUsecs": a}) + b"\n" for t, s, a in events
        )
    )
    report = validate_files([log], cluster.scheduler_address, COPY_TASK)
    assert report.to_dictionary() == single([log])
    assert [v.task for v in report.violations] == [7, 8]


def test_gzip_files_are_one_block_each(cluster: LocalCluster, tmp_path: Path) -> None:
    """A gzip log cannot be cut into blocks: it is read whole on one worker, same report; a
    corrupt one is unusable input that names the file."""
    packed = tmp_path / "run.jsonl.gz"
    packed.write_bytes(gzip.compress(EXAMPLE.read_bytes()))
    report = validate_files([packed], cluster.scheduler_address, COPY_TASK, block_bytes=20_000)
    assert report.to_dictionary() == single([packed])
    unnamed = tmp_path / "run.log"  # found by its magic bytes, not its name
    unnamed.write_bytes(packed.read_bytes())
    report = validate_files([unnamed], cluster.scheduler_address, COPY_TASK, block_bytes=20_000)
    assert report.to_dictionary() == single([unnamed])
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(packed.read_bytes()[:3000])
    with pytest.raises(UnusableInput, match=r"broken\.jsonl\.gz: cannot decompress: "):
        validate_files([EXAMPLE, broken], cluster.scheduler_address, COPY_TASK)


def test_cli_dask_address(cluster: LocalCluster, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        [
            "validate",
            str(EXAMPLE),
            "--mode",
            "polling",
            "--format",
            "json",
            "--dask",
            cluster.scheduler_address,
        ]
    )
    doc = orjson.loads(capsys.readouterr().out)
    assert status == 1
    assert doc == single([EXAMPLE], "polling")


def test_missing_extra_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(MissingExtra, match=r"pip install tasklife\[dask\]"):
        validate_files([EXAMPLE], "local", COPY_TASK)
    assert main(["validate", str(EXAMPLE), "--dask", "local"]) == 2
    assert "pip install tasklife[dask]" in capsys.readouterr().err
