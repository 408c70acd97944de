"""Wire models vs the real cohesity-management-sdk, in one process.

Measures, over the fixture documents in ``/work/shared/fixtures`` (or ``--fixtures DIR``):

* tasklife ``CopySnapshotTaskStatus.from_dictionary(d).to_dictionary()`` (read, validate,
  write back losslessly) against the SDK's ``CopySnapshotTaskStatus.from_dictionary(d)`` alone
  (read only, no checks). Target: ours no slower (ratio <= 1.0).
* time and memory (tracemalloc) to create a bare ``CopySnapshotTaskStatus()``.
  Targets: <= 2 us and <= 250 bytes.

Run: ``python benchmarks/bench_models.py`` (best of ``--repeat`` alternating rounds; the machine
is shared, so the best round is the least disturbed one).
"""

from __future__ import annotations

import argparse
import gc
import json
import timeit
import tracemalloc
from pathlib import Path
from typing import Any

from cohesity_management_sdk.models.copy_snapshot_task_status import (  # type: ignore[import-untyped]
    CopySnapshotTaskStatus as SdkCopySnapshotTaskStatus,
)

from tasklife.models import CopySnapshotTaskStatus


def best_usecs(fn: Any, number: int, repeat: int) -> float:
    """Best time of one call of ``fn`` in microseconds over ``repeat`` rounds of ``number``."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def bytes_per_record(count: int = 100_000) -> float:
    """Memory tracemalloc attributes to each of ``count`` bare records held in a list."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    records = [CopySnapshotTaskStatus() for _ in range(count)]
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    total = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    list_bytes = records.__sizeof__()
    return (total - list_bytes) / count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", type=Path, default=Path("/work/shared/fixtures"))
    parser.add_argument("--number", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    docs = [json.loads(p.read_text()) for p in sorted(args.fixtures.glob("*.json"))]
    if not docs:
        parser.error(f"no *.json documents in {args.fixtures}")
    for doc in docs:
        record = CopySnapshotTaskStatus.from_dictionary(doc)
        assert record is not None and record.to_dictionary() == doc, "not lossless"

    def ours() -> None:
        for doc in docs:
            CopySnapshotTaskStatus.from_dictionary(doc).to_dictionary()  # type: ignore[union-attr]

    def sdk() -> None:
        for doc in docs:
            SdkCopySnapshotTaskStatus.from_dictionary(doc)

    n = len(docs)
    # Alternate the two, round by round, so both see the same machine load; keep each best.
    sdk_us = ours_us = float("inf")
    for _ in range(args.repeat):
        sdk_us = min(sdk_us, best_usecs(sdk, args.number, 1) / n)
        ours_us = min(ours_us, best_usecs(ours, args.number, 1) / n)
    print(f"{n} fixture documents, best of {args.repeat} alternating rounds of {args.number}")
    print(f"  SDK from_dictionary                     {sdk_us:7.2f} us/doc")
    print(f"  tasklife from_dictionary+to_dictionary  {ours_us:7.2f} us/doc")
    verdict = "ok" if ours_us <= sdk_us else "MISSED"
    print(
        f"  ratio tasklife/SDK                      {ours_us / sdk_us:7.2f}  (target <= 1.00: {verdict})"
    )

    create_us = best_usecs(CopySnapshotTaskStatus, 100_000, args.repeat)
    size = bytes_per_record()
    print("bare CopySnapshotTaskStatus()")
    print(
        f"  create  {create_us:7.2f} us   (target <= 2 us: {'ok' if create_us <= 2 else 'MISSED'})"
    )
    print(f"  memory  {size:7.1f} bytes (target <= 250: {'ok' if size <= 250 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
