"""How light ``import tasklife`` is: time and memory against the bare interpreter and against
``import transitions, attrs`` (what tasklife cannot do without), in fresh interpreters.

Targets (issue 11): at most 60 ms and at most +15 MB RSS over the bare interpreter, and no
numpy, pyarrow, rich or Dask loaded. Public names import their module on first use, so
``import tasklife`` alone is measured beside importing the records (what a worker that only
tracks tasks needs) and every public name. The CPU time is the figure least disturbed by
other load on a shared machine; the ratio to transitions + attrs carries over between
machines best. Each contender runs in ``--runs`` fresh processes,
alternated; the minimum is the figure least disturbed by other load on the machine. The time
is both the wall clock around the import statement and what ``python -X importtime`` adds up
for the top-level module.

    python benchmarks/bench_import.py --runs 15
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys

CONTENDERS = {  # label: (code, the top-level modules -X importtime is summed over)
    "bare interpreter": ("", ()),
    "transitions + attrs": ("import transitions, attrs", ("transitions", "attrs")),
    "import tasklife": ("import tasklife", ("tasklife",)),
    "+ the records": ("from tasklife import CopySnapshotTaskStatus, Task", ("tasklife",)),
    "+ every public name": (
        "import tasklife; [getattr(tasklife, n) for n in tasklife.__all__]",
        ("tasklife",),
    ),
}
PROBE = """
import resource, sys, time
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start, cpu = time.perf_counter(), time.process_time()
{code}
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
heavy = [m for m in ("numpy", "pyarrow", "rich", "dask") if m in sys.modules]
print(elapsed, cpu, after, ",".join(heavy))
"""
_IMPORTTIME = re.compile(r"import time:\s+\d+ \|\s+(\d+) \| (\S+)$")


Run = tuple[float, float, float, float, str]


def one_run(code: str, modules: tuple[str, ...]) -> Run:
    """(wall and CPU seconds of the code, peak RSS in MB, -X importtime seconds, heavy
    modules)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", PROBE.format(code=code)],
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed, cpu, rss_kb, heavy = [*done.stdout.split(), ""][:4]
    top = {
        m.group(2): int(m.group(1)) for m in map(_IMPORTTIME.match, done.stderr.splitlines()) if m
    }
    importtime = sum(top.get(m, 0) for m in modules) / 1e6
    return float(elapsed), float(cpu), int(rss_kb) / 1024, importtime, heavy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    results: dict[str, list[Run]] = {c: [] for c in CONTENDERS}
    for _ in range(args.runs):
        for name, (code, modules) in CONTENDERS.items():
            results[name].append(one_run(code, modules))
    bare_rss = min(r[2] for r in results["bare interpreter"])
    base = min(r[1] for r in results["transitions + attrs"])
    header = f"{'contender':22} {'wall min':>9} {'median':>8} {'CPU min':>8} {'importtime':>11}"
    print(f"{header} {'RSS +MB':>8}")
    for name, runs in results.items():
        wall = [r[0] for r in runs]
        print(
            f"{name:22} {1e3 * min(wall):7.1f}ms {1e3 * statistics.median(wall):6.1f}ms "
            f"{1e3 * min(r[1] for r in runs):6.1f}ms {1e3 * min(r[3] for r in runs):9.1f}ms "
            f"{min(r[2] for r in runs) - bare_rss:8.1f}"
        )
    for name in list(CONTENDERS)[2:]:
        ratio = min(r[1] for r in results[name]) / base
        print(f"{name} / (transitions + attrs), CPU: {ratio:.2f}x")
    heavy = {h for runs in list(results.values())[2:] for *_, h in runs if h}
    print(f"heavy modules after any of them: {', '.join(sorted(heavy)) or 'none'}")
    print("targets: <= 60 ms, <= +15 MB RSS over the bare interpreter, no heavy modules")


if __name__ == "__main__":
    main()
