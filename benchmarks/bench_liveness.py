"""The store's liveness: heartbeats per second, reaping a big store, and watch latency; both
backends, against raw SQL where a raw-SQL version means something.

Run: python benchmarks/bench_liveness.py [--beats 1000] [--reap-tasks 100000]
     [--watch-events 300] [--poll 0.1] [--pg-url postgresql://...]

* heartbeats: ``store.heartbeat`` (one transaction: the task and its lease read under the
  task's lock, the lease written) against the floor, the raw SQL a careful user writes: one
  transaction with an ``UPDATE leases SET beat = ?, expires = ? WHERE task = ?`` (no check
  that the worker still holds the task); in turns, medians of five rounds; and
  ``store.heartbeat_many`` of the 100 tasks a worker holds (one transaction). Durability ``process`` (SQLite NORMAL, PostgreSQL
  ``synchronous_commit=off``): a heartbeat need not survive a power loss, and at ``full``
  every contender waits for the disk alike;
* reap: ``store.reap()`` over ``--reap-tasks`` running tasks holding leases, 1% expired
  (each fired ``fail`` with its error and history row), against the floor of one ``UPDATE
  tasks ... WHERE ref IN (expired leases)`` plus one ``INSERT INTO history ... SELECT``;
* watch latency: a writer fires one transition every few milliseconds; a watcher in another
  thread notes when each arrives; latency is arrival less the moment the fire returned
  (committed). p50 and p99. Targets (issue 13): PostgreSQL p99 <= 50 ms; SQLite p99 <= the
  poll interval + 10 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench_store import schema_url, start_postgres
from tasklife.store import open_store

SECOND = 1_000_000


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def running_store(url: str, n: int) -> Any:
    store = open_store(url, durability="process")
    ids = [f"t{i}" for i in range(n)]
    store.add_many([{"status": "kRunning", "taskStartTimeUsecs": 1}] * n, task_ids=ids)
    return store


ROUNDS = 5
"""Heartbeat rounds, the two contenders taking turns (medians: this machine is shared)."""


def heartbeats(url: str, beats: int, raw: Any) -> tuple[float, float, float]:
    """tasklife heartbeats/s, the floor's, and leases renewed per second by
    ``heartbeat_many`` of all 100 tasks one worker holds."""
    ours: list[float] = []
    floor: list[float] = []
    many: list[float] = []
    ids = [f"t{i}" for i in range(100)]
    per_round = max(beats // ROUNDS, 1)
    with running_store(url, 100) as store:
        for i in range(100):
            store.heartbeat(f"t{i}", worker="w", lease_usecs=30 * SECOND)
        for _ in range(ROUNDS):
            started = time.perf_counter()
            for i in range(per_round):
                store.heartbeat(f"t{i % 100}", worker="w", lease_usecs=30 * SECOND)
            ours.append(per_round / (time.perf_counter() - started))
            started = time.perf_counter()
            raw(per_round)
            floor.append(per_round / (time.perf_counter() - started))
            started = time.perf_counter()
            for _ in range(max(per_round // len(ids), 1)):
                store.heartbeat_many(ids, worker="w", lease_usecs=30 * SECOND)
            many.append(max(per_round // len(ids), 1) * len(ids) / (time.perf_counter() - started))
    return statistics.median(ours), statistics.median(floor), statistics.median(many)


def sqlite_floor(path: str) -> Any:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE leases (task INTEGER PRIMARY KEY, worker TEXT, beat INTEGER, "
                 "expires INTEGER)")  # fmt: skip
    conn.executemany("INSERT INTO leases VALUES (?, 'w', 0, 0)", [(i,) for i in range(100)])

    def run(beats: int) -> None:
        for i in range(beats):
            now = time.time_ns() // 1000
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE leases SET beat = ?, expires = ? WHERE task = ?",
                         (now, now + 30 * SECOND, i % 100))  # fmt: skip
            conn.execute("COMMIT")

    return run


def postgres_floor(url: str) -> Any:
    import psycopg

    conn = psycopg.connect(url, autocommit=True)
    conn.execute("SET synchronous_commit = off")
    conn.execute("CREATE TABLE leases (task INTEGER PRIMARY KEY, worker TEXT, beat BIGINT, "
                 "expires BIGINT)")  # fmt: skip
    conn.execute("INSERT INTO leases SELECT i, 'w', 0, 0 FROM generate_series(0, 99) AS i")

    def run(beats: int) -> None:
        for i in range(beats):
            now = time.time_ns() // 1000
            with conn.transaction():
                conn.execute("UPDATE leases SET beat = %s, expires = %s WHERE task = %s",
                             (now, now + 30 * SECOND, i % 100))  # fmt: skip

    return run


def reap_seconds(url: str, n: int, execute: Any, pg: bool) -> tuple[float, float, int]:
    """Seconds of ``store.reap()`` over ``n`` leased tasks, 1% expired; the floor's; how many
    were reaped."""
    with running_store(url, n) as store:
        leases = ("INSERT INTO tasklife_leases (task_ref, worker, attempt, beat_usecs, "
                  "expires_usecs) SELECT ref, 'w', 1, 0, CASE WHEN ref % 100 = 0 THEN 10 "
                  "ELSE 9000000000000000 END FROM tasklife_tasks")  # fmt: skip
        execute(leases)
        started = time.perf_counter()
        reaped = store.reap(now=1000)
        ours = time.perf_counter() - started
        execute("UPDATE tasklife_leases SET reaped_usecs = NULL")  # the floor's turn
        execute("UPDATE tasklife_tasks SET status = 'kRunning', error = NULL")
        started = time.perf_counter()
        execute("UPDATE tasklife_tasks SET status = 'kFailure', error = 'lost', "
                "end_usecs = 1000, version = version + 1 WHERE ref IN (SELECT task_ref FROM "
                "tasklife_leases WHERE reaped_usecs IS NULL AND expires_usecs <= 1000); "
                f"INSERT INTO tasklife_history ({'ord, ' if pg else ''}task_ref, version, attempt, "
                f"trigger_name, source, dest, at_usecs, error) SELECT "
                f"{'row_number() OVER () - 1, ' if pg else ''}t.ref, t.version, 1, 'fail', "
                "'kRunning', 'kFailure', 1000, 'lost' FROM tasklife_tasks AS t "
                "WHERE t.status = 'kFailure'")  # fmt: skip
        floor = time.perf_counter() - started
    return ours, floor, len(reaped)


def watch_latency(url: str, events: int, poll_s: float) -> tuple[float, float]:
    """p50 and p99 milliseconds from a fire's return to its event reaching a watcher."""
    with running_store(url, events) as store:
        committed: dict[int, float] = {}
        arrived: dict[int, float] = {}
        start = store.last_cursor()

        def watcher() -> None:
            with store.watch(after=start, poll_s=poll_s) as watch:
                while len(arrived) < events:
                    for event in watch.poll(timeout_s=1.0):
                        arrived[event["cursor"]] = time.perf_counter()

        thread = threading.Thread(target=watcher)
        thread.start()
        rng = random.Random(7)
        for i in range(events):
            fired = store.fire(f"t{i}", "succeed")
            committed[fired.cursor] = time.perf_counter()
            time.sleep(rng.uniform(0.001, 0.02))
        thread.join()
    latencies = sorted((arrived[c] - committed[c]) * 1000 for c in committed)
    return statistics.median(latencies), latencies[int(len(latencies) * 0.99) - 1]


def sqlite_execute(path: Path) -> Any:
    def run(sql: str) -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.executescript(sql)
        conn.close()

    return run


def postgres_execute(url: str) -> Any:
    import psycopg

    def run(sql: str) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            for statement in sql.split("; "):
                conn.execute(statement)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beats", type=int, default=1000)
    parser.add_argument("--reap-tasks", type=int, default=100_000)
    parser.add_argument("--watch-events", type=int, default=300)
    parser.add_argument("--poll", type=float, default=0.1, help="SQLite watch poll, seconds")
    parser.add_argument("--pg-url", help="a PostgreSQL server (default: start one)")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-liveness-"))
    print(f"{os.cpu_count()} cores, SQLite {sqlite3.sqlite_version}, {load()}")
    try:
        pg = args.pg_url or start_postgres()
        print("\n| figure | SQLite WAL (process) | PostgreSQL 18 (process) |\n|---|---:|---:|")
        sq = heartbeats(f"sqlite:///{home}/beats.db", args.beats, sqlite_floor(str(home / "f.db")))
        pq = heartbeats(schema_url(pg), args.beats, postgres_floor(schema_url(pg)))
        print(f"| heartbeats/s, tasklife | {sq[0]:,.0f} | {pq[0]:,.0f} |")
        print(f"| heartbeats/s, raw SQL UPDATE of a lease row | {sq[1]:,.0f} | {pq[1]:,.0f} |")
        print(f"| tasklife / raw SQL | {sq[0] / sq[1]:.2f}x | {pq[0] / pq[1]:.2f}x |")
        print(f"| leases renewed/s, heartbeat_many of a worker's 100 tasks | {sq[2]:,.0f} | "
              f"{pq[2]:,.0f} |")  # fmt: skip
        sr = reap_seconds(f"sqlite:///{home}/reap.db", args.reap_tasks,
                          sqlite_execute(home / "reap.db"), pg=False)  # fmt: skip
        url = schema_url(pg)
        pr = reap_seconds(url, args.reap_tasks, postgres_execute(url), pg=True)
        print(f"| reap of {args.reap_tasks:,} tasks, 1% expired ({sr[2]:,} / {pr[2]:,} fired), "
              f"tasklife | {sr[0] * 1000:,.0f} ms | {pr[0] * 1000:,.0f} ms |")  # fmt: skip
        print(f"| the same, raw SQL (two set-wise statements) | {sr[1] * 1000:,.0f} ms | "
              f"{pr[1] * 1000:,.0f} ms |")  # fmt: skip
        sw = watch_latency(f"sqlite:///{home}/watch.db", args.watch_events, args.poll)
        pw = watch_latency(schema_url(pg), args.watch_events, args.poll)
        print(f"| watch latency p50 (poll {args.poll * 1000:.0f} ms on SQLite) | {sw[0]:.1f} ms | "
              f"{pw[0]:.1f} ms |")  # fmt: skip
        print(f"| watch latency p99 | {sw[1]:.1f} ms | {pw[1]:.1f} ms |")
        print(f"\n({load()}; targets: PostgreSQL p99 <= 50 ms, SQLite p99 <= "
              f"{args.poll * 1000 + 10:.0f} ms)")  # fmt: skip
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
