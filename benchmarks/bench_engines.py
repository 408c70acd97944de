"""Issue 14: ``tasklife validate`` against ten lines of SQL (DuckDB), polars, and replays
through ``transitions``, on the same files, in the same run, in alternating rounds.

Run (the data is generated, seeded, when missing; ~2.3 GB):

    python benchmarks/bench_engines.py --data DIR [--rounds 3] [--huge TMPDIR]
    python benchmarks/bench_engines.py --sizes                      # install sizes, start-up only
    python benchmarks/bench_engines.py --data DIR --only jsonl      # one suite (repeatable)

One run measures every goal: the 10M-event suites (JSON Lines and CSV), the 1M-event replays,
the install sizes and the start on a 10-line file, and with ``--huge`` the 100M-event figure
(its 7.4 GB file is written to TMPDIR and removed).

Files (``gen`` below): 10M events of 2M tasks, 5 events each, lines fully shuffled, 4.8% of
statuses replaced by a random state (~507k illegal pairs), as JSON Lines and CSV; and a 1M
version. Every contender runs in a child process under ``/usr/bin/time -v``: wall, CPU
(user + system) and peak RSS; each round runs every contender once, the order rotated each
round (the machine is shared: a burst of load hits different contenders in different
rounds). Reported: medians over rounds, the median over rounds of each wall (and CPU) ratio
to the DuckDB count query, the load average, and events/s per core against the parse-only
floor of the fastest parser (DuckDB reading the three columns typed).

The competitors count what tasklife's illegal-transition + after-final count: consecutive
statuses of a task (by time, then line) that differ and are not one transition of the
copy-task lifecycle (the pairs come from the lifecycle table). tasklife judges more (the
polling paths, snapshot rules, messages, malformed lines with reasons).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PY = sys.executable
TASKLIFE = [PY, "-m", "tasklife", "validate"]
BAD_RATE = 0.048
"""Share of statuses replaced by a random state: ~507k illegal pairs in 10M events."""


# -- the competitors (run as children: python bench_engines.py --child NAME FILE ...) ---------


def legal_pairs() -> list[tuple[str, str]]:
    from tasklife.lifecycle import COPY_TASK

    return sorted({(s, d) for (_, s), d in COPY_TASK.table.items()})


def duck_source(path: str) -> str:
    if path.endswith(".csv"):
        return (
            f"select task_id as taskId, status, at_usecs as atUsecs from read_csv('{path}', "
            "header=true, columns={task_id: 'VARCHAR', status: 'VARCHAR', at_usecs: 'BIGINT'})"
        )
    return (
        f"select * from read_json('{path}', format='newline_delimited', "
        "columns={taskId: 'VARCHAR', status: 'VARCHAR', atUsecs: 'BIGINT'})"
    )


def duck_query(path: str) -> str:
    legal = ", ".join(f"('{s}', '{d}')" for s, d in legal_pairs())
    return f"""
    with legal(src, dst) as (values {legal}),
    ev as (select *, row_number() over () as line from ({duck_source(path)})),
    pairs as (select taskId, line, status,
                     lag(status) over (partition by taskId order by atUsecs, line) as prev
              from ev)
    select p.taskId, p.line, p.prev, p.status from pairs p
    anti join legal l on l.src = p.prev and l.dst = p.status
    where p.prev is not null and p.prev <> p.status
    """


def child(name: str, path: str, *rest: str) -> None:
    import duckdb

    if name == "duck-count":
        con = duckdb.connect()
        if rest:  # a memory budget: DuckDB spills its sort and window state
            con.execute(f"set memory_limit = '{rest[0]}'")
            con.execute(f"set temp_directory = '{rest[1]}'")
        print(con.execute(f"select count(*) from ({duck_query(path)})").fetchall()[0][0])
    elif name == "duck-json":
        con = duckdb.connect()
        out = rest[0]
        con.execute(f"copy ({duck_query(path)} order by line) to '{out}' (format json, array true)")
        os.remove(out)
    elif name == "duck-parse":
        con = duckdb.connect()
        print(con.sql(duck_source(path)).to_arrow_table().num_rows)
    elif name == "polars-count":
        polars_count(path)
    elif name == "replay":
        from bench_validation import replay_file
        from tasklife.lifecycle import COPY_TASK

        print(replay_file(Path(path), COPY_TASK))


def polars_count(path: str) -> None:
    import polars as pl

    if path.endswith(".csv"):
        lf = pl.scan_csv(
            path, schema={"task_id": pl.String, "status": pl.String, "at_usecs": pl.Int64}
        ).rename({"task_id": "taskId", "at_usecs": "atUsecs"})
    else:
        lf = pl.scan_ndjson(
            path, schema={"taskId": pl.String, "status": pl.String, "atUsecs": pl.Int64}
        )
    legal = pl.LazyFrame(legal_pairs(), schema=["prev", "status"], orient="row")
    n = (
        lf.with_row_index("line", offset=1)
        .sort("taskId", "atUsecs", "line")
        .with_columns(prev=pl.col("status").shift(1).over("taskId"))
        .filter(pl.col("prev").is_not_null() & (pl.col("prev") != pl.col("status")))
        .join(legal, on=["prev", "status"], how="anti")
        .select(pl.len())
        .collect()
        .item()
    )
    print(n)


# -- running and measuring ---------------------------------------------------------------------


def measure(cmd: list[str], out: str = "/dev/null") -> dict[str, float]:
    """Wall, CPU and peak RSS of ``cmd`` in a child (its stdout to ``out``)."""
    t = time.perf_counter()
    with open(out, "wb") as sink:
        proc = subprocess.run(
            ["/usr/bin/time", "-v", *cmd], stdout=sink, stderr=subprocess.PIPE, text=True,
            check=False, cwd=HERE.parent, env={**os.environ, "PYTHONPATH": str(HERE)},
        )  # fmt: skip
    wall = time.perf_counter() - t
    err = proc.stderr

    def field(label: str) -> float:
        found = re.search(rf"{label}: ([\d.]+)", err)
        if found is None:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{err[-3000:]}")
        return float(found.group(1))

    status = int(field(r"Exit status"))
    if status not in ((0, 1) if "tasklife" in cmd else (0,)):  # 1: violations found
        raise SystemExit(f"{' '.join(cmd)} exited {status}:\n{err[-3000:]}")
    cpu = field(r"User time \(seconds\)") + field(r"System time \(seconds\)")
    return {"wall": wall, "cpu": cpu, "rss": field(r"Maximum resident set size \(kbytes\)") * 1024}


def rounds(suite: dict[str, list[str]], n: int, label: str, base: str) -> dict[str, Any]:
    """Run every contender of ``suite`` once a round, the order rotated, ``n`` rounds."""
    names = list(suite)
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in names}
    loads = [os.getloadavg()[0]]
    for r in range(n):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            res = measure(suite[name])
            runs[name].append(res)
            print(
                f"  {label} round {r + 1} {name:40s} wall {res['wall']:7.2f} s  "
                f"cpu {res['cpu']:7.2f} s  rss {res['rss'] / 1e6:6.0f} MB",
                flush=True,
            )
        loads.append(os.getloadavg()[0])
    print(f"\n{label} (load average {min(loads):.1f}-{max(loads):.1f} during the run)")
    print(f"| contender | wall s | CPU s | peak RSS MB | wall / {base} | CPU / {base} |")
    print("|---|---:|---:|---:|---:|---:|")
    table = {}
    for name in names:
        mine, theirs = runs[name], runs[base]
        walls = [a["wall"] / b["wall"] for a, b in zip(mine, theirs, strict=True)]
        cpus = [a["cpu"] / b["cpu"] for a, b in zip(mine, theirs, strict=True)]
        row = {
            "wall": statistics.median(a["wall"] for a in mine),
            "cpu": statistics.median(a["cpu"] for a in mine),
            "rss": max(a["rss"] for a in mine),
            "wall_ratio": statistics.median(walls),
            "cpu_ratio": statistics.median(cpus),
        }
        table[name] = row
        print(
            f"| {name} | {row['wall']:.2f} | {row['cpu']:.2f} | {row['rss'] / 1e6:.0f} | "
            f"{row['wall_ratio']:.2f} ({', '.join(f'{x:.2f}' for x in walls)}) | "
            f"{row['cpu_ratio']:.2f} |"
        )
    return table


# -- the data ----------------------------------------------------------------------------------


def gen(out: Path, tasks: int, per_task: int = 5, seed: int = 14) -> None:
    """``out.jsonl`` and ``out.csv``: walks through the copy-task lifecycle, fully shuffled."""
    import numpy as np

    from bench_validation import destination_tables
    from tasklife.lifecycle import COPY_TASK as LC

    rng = np.random.default_rng(seed)
    names = LC.state_names
    tables = destination_tables()
    status = np.empty((tasks, per_task), np.int8)
    status[:, 0] = LC.index[LC.initial]
    for k in range(1, per_task):
        prev = status[:, k - 1]
        u = rng.random(tasks)
        has_final, has_other = tables[1][1][prev] > 0, tables[0][1][prev] > 0
        want_final = ((k == per_task - 1) | (u > 0.97) | ~has_other) & has_final
        nxt = prev.copy()
        for is_final, (choices, widths) in enumerate(tables):
            pick = (want_final == bool(is_final)) & (widths[prev] > 0) & (u >= 0.15)
            choice = (rng.random(tasks) * np.maximum(widths[prev], 1)).astype(np.intp)
            nxt[pick] = choices[prev[pick], choice[pick]]
        status[:, k] = nxt
    flat = status.ravel()
    bad = rng.random(len(flat)) < BAD_RATE
    flat[bad] = rng.integers(0, len(names), int(bad.sum()))
    task = np.repeat(np.arange(tasks), per_task)
    pos = np.tile(np.arange(per_task), tasks)
    start = 1_718_000_000_000_000 + rng.integers(0, 3_600_000_000, tasks)
    at = np.repeat(start, per_task) + pos * 30_000_000 + rng.integers(0, 5_000_000, len(task))
    tie = (rng.random(len(task)) < 0.01) & (pos > 0)  # equal times: the line order decides
    at[tie] = at[np.flatnonzero(tie) - 1]
    order = rng.permutation(len(task))
    task, flat, at = task[order], flat[order], at[order]
    spelled = [s.encode() for s in names]
    with open(f"{out}.jsonl", "wb") as j, open(f"{out}.csv", "wb") as c:
        c.write(b"task_id,status,at_usecs\n")
        for lo in range(0, len(task), 1 << 20):
            rows = list(
                zip(*(x[lo : lo + (1 << 20)].tolist() for x in (task, flat, at)), strict=True)
            )
            j.write(
                b"".join(
                    b'{"taskId":"task-%07d","status":"%s","atUsecs":%d}\n' % (t, spelled[s], a)
                    for t, s, a in rows
                )
            )
            c.write(b"".join(b"task-%07d,%s,%d\n" % (t, spelled[s], a) for t, s, a in rows))


def data_files(root: Path) -> dict[str, Path]:
    files = {"10M": root / "bad500k", "1M": root / "m1"}
    for name, stem in files.items():
        if not Path(f"{stem}.jsonl").exists():
            print(f"generating {stem}.jsonl/.csv ...", flush=True)
            gen(stem, 2_000_000 if name == "10M" else 200_000)
    return files


# -- the suites --------------------------------------------------------------------------------


SUITES = ("jsonl", "csv", "1M")
"""The suites of :func:`main_suites`: 10M events as JSON Lines, as CSV, and the 1M replays."""


def main_suites(files: dict[str, Path], n: int, only: tuple[str, ...] = SUITES) -> None:
    big, small = files["10M"], files["1M"]
    for fmt in (f for f in ("jsonl", "csv") if f in only):
        path = f"{big}.{fmt}"
        suite = {
            "DuckDB SQL, count": [PY, __file__, "--child", "duck-count", path],
            "DuckDB SQL, violations to JSON": [
                PY,
                __file__,
                "--child",
                "duck-json",
                path,
                "/tmp/bench-duck.json",
            ],
            "polars lazy, count": [PY, __file__, "--child", "polars-count", path],
            "tasklife validate (fast, text)": [*TASKLIFE, path],
            "tasklife validate (fast, --format json)": [*TASKLIFE, path, "--format", "json"],
            "tasklife validate (fast, --memory-limit 600MB)": [
                *TASKLIFE,
                path,
                "--memory-limit",
                "600MB",
                "--format",
                "json",
            ],
            "parse floor: DuckDB typed read": [PY, __file__, "--child", "duck-parse", path],
        }
        if fmt == "csv":
            del suite["tasklife validate (fast, --memory-limit 600MB)"]
        table = rounds(suite, n, f"10M events, 507k violations, {fmt}", "DuckDB SQL, count")
        floor = 10_000_000 / table["parse floor: DuckDB typed read"]["cpu"]
        ours = 10_000_000 / table["tasklife validate (fast, text)"]["cpu"]
        print(
            f"events/s per core: tasklife (fast, text) {ours / 1e6:.2f} M; parse floor {floor / 1e6:.2f} M ({floor / ours:.1f}x)\n"
        )
    if "1M" not in only:
        return
    suite = {
        "transitions replay from the file (orjson, group, sort, one Machine)": [
            PY,
            __file__,
            "--child",
            "replay",
            f"{small}.jsonl",
        ],
        "tasklife validate --engine light": [*TASKLIFE, f"{small}.jsonl", "--engine", "light"],
        "tasklife validate --engine fast": [*TASKLIFE, f"{small}.jsonl", "--engine", "fast"],
        "DuckDB SQL, count": [PY, __file__, "--child", "duck-count", f"{small}.jsonl"],
    }
    rounds(suite, n, "1M events, JSON Lines: the replays and the light engine", "DuckDB SQL, count")


def huge(files: dict[str, Path], tmp: Path) -> None:
    """100M events (20M tasks): ten copies of the 10M file with renamed ids (7.4 GB)."""
    work = Path(tempfile.mkdtemp(prefix="bench-100m-", dir=tmp))
    try:
        path = work / "big100m.jsonl"
        with open(path, "wb") as out:
            for copy in range(10):
                src = Path(f"{files['10M']}.jsonl").read_bytes()
                out.write(src.replace(b'"task-', b'"t%d-' % copy))
                del src
        print(f"{path}: {path.stat().st_size / 1e9:.1f} GB", flush=True)
        print(f"\n100M events (load average {os.getloadavg()[0]:.1f} at the start)")
        print("| contender | wall s | CPU s | peak RSS MB |\n|---|---:|---:|---:|")
        spill = work / "spill"
        spill.mkdir()
        cmd = [
            *TASKLIFE,
            str(path),
            "--memory-limit",
            "2GB",
            "--tmp",
            str(spill),
            "--format",
            "json",
        ]
        res = measure(cmd)
        print(
            f"| tasklife validate --memory-limit 2GB --format json | {res['wall']:.0f} | {res['cpu']:.0f} | {res['rss'] / 1e6:.0f} |"
        )
        duck_tmp = work / "duck"
        res = measure([PY, __file__, "--child", "duck-count", str(path), "1500MB", str(duck_tmp)])
        print(
            f"| DuckDB SQL count, memory_limit 1500MB | {res['wall']:.0f} | {res['cpu']:.0f} | {res['rss'] / 1e6:.0f} |"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def sizes() -> None:
    """Site-packages of a fresh venv with ``pip install .`` and with ``.[fast]``, and the
    start of ``tasklife validate`` on a 10-line file (best of 5)."""
    root = HERE.parent
    for extra in ("", "[fast]"):
        with tempfile.TemporaryDirectory(prefix="bench-venv-") as tmp:
            subprocess.run([sys.executable, "-m", "venv", tmp], check=True)
            subprocess.run(
                [f"{tmp}/bin/pip", "install", "-q", f"{root}{extra}"],
                check=True,
                capture_output=True,
            )
            site = next(Path(tmp).glob("lib/python*/site-packages"))
            total = sum(f.stat().st_size for f in site.rglob("*") if f.is_file())
            own = sum(
                f.stat().st_size
                for f in site.rglob("*")
                if f.is_file()
                and f.relative_to(site).parts[0].startswith(("pip", "setuptools", "_distutils"))
            )
            print(
                f"pip install .{extra}: {(total - own) / 1e6:.1f} MB of site-packages (pip itself excluded)"
            )
            if not extra:
                with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
                    for i in range(10):
                        f.write(
                            json.dumps({"taskId": i % 3, "status": "kRunning", "atUsecs": i}) + "\n"
                        )
                runs = [measure([f"{tmp}/bin/tasklife", "validate", f.name]) for _ in range(5)]
                os.unlink(f.name)
                best = min(runs, key=lambda r: r["wall"])
                print(
                    f"tasklife validate on a 10-line file: {best['wall']:.3f} s wall, {best['cpu']:.3f} s CPU (best of 5)"
                )
                example = root / "examples" / "copy-run.jsonl"
                check = subprocess.run(
                    [f"{tmp}/bin/tasklife", "validate", str(example)],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                print(
                    f"  examples/copy-run.jsonl (exit {check.returncode}): {check.stdout.splitlines()[0]}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("benchmarks/out"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--huge", type=Path, metavar="TMPDIR", help="also the 100M-event figure")
    parser.add_argument("--sizes", action="store_true", help="install sizes and start-up")
    parser.add_argument(
        "--only", choices=SUITES, action="append", help="run only these suites (no sizes)"
    )
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.sizes:
        sizes()
        return
    args.data.mkdir(parents=True, exist_ok=True)
    files = data_files(args.data)
    print(f"load average at the start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.only:
        main_suites(files, args.rounds, tuple(args.only))
        return
    main_suites(files, args.rounds)
    sizes()
    if args.huge:
        huge(files, args.huge)


if __name__ == "__main__":
    main()
