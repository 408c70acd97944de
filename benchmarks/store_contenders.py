"""The contenders bench_store.py runs against tasklife's store, and their shared workload:
the raw-SQL floor (one transition a transaction, and 1,000), the history rows alone, the
floor of a bulk add, and SQLAlchemy ORM + transitions. See bench_store.py."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import BigInteger, ForeignKey, create_engine, event, orm
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from transitions import Machine

from tasklife import COPY_TASK

TASKS = 100
"""Tasks the single-fire workloads cycle through (hold, then resume, on each in turn)."""
BATCH = 1_000
ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "copy-snapshot-tasks"
EXAMPLE = json.loads((EXAMPLES / "kAccepted.json").read_text())
MIXED = [json.loads(p.read_text()) for p in sorted(EXAMPLES.glob("*.json"))]

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


def history_rows_only(url: str, setting: str) -> Run:
    """The history rows of 1,000 transitions a transaction and nothing else (no task read or
    updated): tasklife's history table, its two indexes, bulk-loaded the fastest way each
    driver has (sqlite3 executemany, psycopg binary COPY). What any store recording one row
    per transition with these indexes pays, whatever it decides in Python."""
    columns = "task_ref, version, attempt, trigger_name, source, dest, at_usecs"
    if url.startswith("postgresql"):
        import psycopg

        conn = psycopg.connect(url)
        conn.execute(f"SET synchronous_commit = {setting}")
        conn.execute(
            "CREATE TABLE history (xid BIGINT NOT NULL DEFAULT "
            "(pg_current_xact_id()::text::bigint), ord INTEGER NOT NULL, task_ref BIGINT, "
            "version INTEGER, attempt INTEGER, trigger_name TEXT, source TEXT, dest TEXT, "
            "at_usecs BIGINT, error TEXT, start_usecs BIGINT, end_usecs BIGINT, "
            "PRIMARY KEY (xid, ord), UNIQUE (task_ref, version))"
        )
        conn.commit()
        types = ["int4", "int8", "int4", "int4", "text", "text", "text", "int8"]

        def copy(start: int, n: int) -> None:
            for k in range(start // BATCH, (start + n) // BATCH):
                at = time.time_ns() // 1000
                with (
                    conn.transaction(),
                    conn.cursor() as cur,
                    cur.copy(f"COPY history (ord, {columns}) FROM STDIN (FORMAT BINARY)") as cp,
                ):
                    cp.set_types(types)
                    for i in range(BATCH):
                        cp.write_row((i, i, k, 1, "hold", "kRunning", "kOnHold", at))

        return copy
    sqlite = sqlite3.connect(url, isolation_level=None)
    sqlite.execute("PRAGMA journal_mode=WAL")
    sqlite.execute(f"PRAGMA synchronous={setting}")
    sqlite.execute(
        "CREATE TABLE history (seq INTEGER PRIMARY KEY, task_ref INTEGER, version INTEGER, "
        "attempt INTEGER, trigger_name TEXT, source TEXT, dest TEXT, at_usecs INTEGER, "
        "error TEXT, start_usecs INTEGER, end_usecs INTEGER, UNIQUE (task_ref, version))"
    )

    def insert(start: int, n: int) -> None:
        for k in range(start // BATCH, (start + n) // BATCH):
            at = time.time_ns() // 1000
            rows = [(i, k, 1, "hold", "kRunning", "kOnHold", at) for i in range(BATCH)]
            sqlite.execute("BEGIN IMMEDIATE")
            sqlite.executemany(
                f"INSERT INTO history ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?)", rows
            )
            sqlite.execute("COMMIT")

    return insert


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


# -- bulk add ----------------------------------------------------------------------------------


def bulk_documents(n: int) -> Iterator[dict[str, Any]]:
    for i in range(n):
        yield {**EXAMPLE, "source": {**EXAMPLE["source"], "id": i}}


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
